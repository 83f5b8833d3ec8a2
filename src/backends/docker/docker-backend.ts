/**
 * The Docker (container mode) backend: one container per run on one engine, driven through dockerode.
 *
 * Hot path (launch → exit) is create, start, wait, inspect: no polling and no extra round trips; the HTTP
 * agent keeps the socket connection alive between calls.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import { XcsError } from '../../core/errors.ts';
import {
  BackendErrorCode,
  XCS_LABELS,
  type BackendCapabilities,
  type ContainerBackend,
  type ContainerSpec,
  type ContainerState,
  type ContainerStatus,
  type ContainerSummary,
  type EngineVersion,
  type EventOptions,
  type EventSubscription,
  type ImageInfo,
  type ImageSummary,
  type KillCause,
  type LogOptions,
  type PullOptions,
  type RegistryAuth,
  type RegistryLogin,
  type RemoveImageOptions,
  type WaitOptions,
} from '../types.ts';
import { toCreateOptions } from './container-config.ts';
import {
  containerFailure, engineMessage, imageFailure, isUnavailable, isVersionRefusal, notFound, pullFailed, requestFailed, statusOf, unavailable,
} from './engine-errors.ts';
import { DockerEventFollower, EVENT_ACTIONS } from './events.ts';
import { demultiplex } from './log-stream.ts';

/** The Engine API version we are written against; used unless the engine is older or no longer offers it. */
export const PREFERRED_API_VERSION = '1.41';
/** DeviceRequests (GPUs) arrived in 1.40; older engines are refused. */
export const MINIMUM_API_VERSION = '1.40';

export interface DockerBackendOptions {
  /**
   * Where the engine listens, in XNAT's server-setting form: `unix:///var/run/docker.sock` or
   * `tcp://host:2375`. Defaults to `$DOCKER_HOST`, then the standard socket.
   */
  host?: string;
  /** Force an API version instead of negotiating one. */
  apiVersion?: string;
  /**
   * `first` (default): ask the engine's versions (`/version`) before anything else. `on-refusal`: start with
   * the preferred version and ask only if the engine refuses it — one round trip less for a short-lived
   * client (`xcs exec`) on the engines that take it; a refused request did nothing, so it is sent again.
   */
  negotiate?: 'first' | 'on-refusal';
}

/** The part of docker-modem we call directly (dockerode buffers non-followed logs; we always want a stream). */
interface Modem {
  dial(
    options: {
      path: string;
      method: string;
      options: Record<string, unknown>;
      isStream: boolean;
      abortSignal?: AbortSignal;
      statusCodes: Record<number, boolean | string>;
    },
    callback: (error: unknown, result: unknown) => void,
  ): void;
}

type Connection = { socketPath: string } | { host: string; port: number; protocol: 'http' };

export function parseDockerHost(host: string | undefined): Connection {
  const value = host === undefined || host.trim() === '' ? 'unix:///var/run/docker.sock' : host.trim();
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) };
  if (value.startsWith('/')) return { socketPath: value };
  const m = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (m !== null) return { host: m[1], port: m[2] === undefined ? 2375 : Number(m[2]), protocol: 'http' };
  throw new XcsError(BackendErrorCode.invalidSpec, `Docker host "${host}" is neither unix://PATH nor tcp://HOST:PORT`, {
    path: 'host',
    hint: 'TLS (https://, cert-path) is not supported yet',
  });
}

function describe(connection: Connection): string {
  return 'socketPath' in connection ? `unix://${connection.socketPath}` : `tcp://${connection.host}:${connection.port}`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Our preferred version, moved into the range the engine offers. */
export function negotiateApiVersion(engine: { ApiVersion: string; MinAPIVersion?: string }, where = 'engine'): string {
  if (compareVersions(engine.ApiVersion, MINIMUM_API_VERSION) < 0) {
    throw new XcsError(BackendErrorCode.unsupportedEngine, `The Docker engine speaks API ${engine.ApiVersion}; XCS needs ${MINIMUM_API_VERSION} or later`, {
      path: where,
      hint: 'Upgrade Docker to 19.03 or later',
    });
  }
  if (compareVersions(engine.ApiVersion, PREFERRED_API_VERSION) < 0) return engine.ApiVersion;
  if (engine.MinAPIVersion !== undefined && compareVersions(engine.MinAPIVersion, PREFERRED_API_VERSION) > 0) return engine.MinAPIVersion;
  return PREFERRED_API_VERSION;
}

/** A client pinned to the API version negotiated with the engine's `/version`. */
async function negotiated(connection: Connection, agent: http.Agent): Promise<{ docker: Docker; apiVersion: string }> {
  const probe = new Docker(withAgent({ ...connection }, agent));
  let version: string;
  try {
    version = negotiateApiVersion(await probe.version(), describe(connection));
  } catch (e) {
    if (e instanceof XcsError) throw e;
    throw unavailable(e, describe(connection));
  }
  return { docker: new Docker(withAgent({ ...connection, version: `v${version}` }, agent)), apiVersion: version };
}

/**
 * Kept-alive connections to the engine. `servername` is TLS's (SNI) name, which a plain HTTP agent never uses:
 * left unset, Node derives it for every request from the Host header and tests that against its IPv6 pattern,
 * whose first use compiles a large regular expression (~5 ms of a short-lived client's start-up: `xcs exec`).
 * @types/node does not list it; Node's agent passes its options on to every request.
 */
const AGENT_OPTIONS: http.AgentOptions & { servername: string } = { keepAlive: true, servername: '' };

/** Connects and returns a backend pinned to a negotiated API version (see `negotiate`). */
export async function createDockerBackend(options: DockerBackendOptions = {}): Promise<DockerBackend> {
  const connection = parseDockerHost(options.host ?? process.env.DOCKER_HOST);
  const agent = new http.Agent(AGENT_OPTIONS);
  Object.defineProperty(agent, inspect.custom, { value: () => 'http.Agent(docker)' });
  if (options.apiVersion !== undefined) {
    const docker = new Docker(withAgent({ ...connection, version: `v${options.apiVersion}` }, agent));
    return new DockerBackend(docker, agent, describe(connection), options.apiVersion);
  }
  if (options.negotiate === 'on-refusal') {
    const docker = new Docker(withAgent({ ...connection, version: `v${PREFERRED_API_VERSION}` }, agent));
    return new DockerBackend(docker, agent, describe(connection), PREFERRED_API_VERSION, () => negotiated(connection, agent));
  }
  try {
    const { docker, apiVersion } = await negotiated(connection, agent);
    return new DockerBackend(docker, agent, describe(connection), apiVersion);
  } catch (e) {
    agent.destroy();
    throw e;
  }
}

/**
 * docker-modem passes `agent` to every request (@types/dockerode does not list it). It also formats every
 * request's options with `util.inspect(…, {showHidden: true, depth: null})` for its debug log, even when that
 * log is off: a keep-alive agent with its pooled sockets made that half of our CPU time per run. The agent
 * therefore describes itself in one word to `util.inspect` (set where it is created).
 */
function withAgent(options: Docker.DockerOptions, agent: http.Agent): Docker.DockerOptions {
  return Object.assign(options, { agent });
}

const NO_TIME = /^0001-01-01/;

function dateOf(value: string | undefined): Date | null {
  if (value === undefined || value === '' || NO_TIME.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function statusOfDocker(state: string | undefined): ContainerStatus {
  switch (state) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'exited':
    case 'removing':
      return 'exited';
    case 'dead':
      return 'dead';
    default:
      return 'missing';
  }
}

function labelFilter(labels: Record<string, string> | undefined): string[] {
  return [`${XCS_LABELS.managed}=true`, ...Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`)];
}

function missing(backendId: string): ContainerState {
  return { backendId, status: 'missing', exitCode: null, oomKilled: false, startedAt: null, finishedAt: null };
}

export class DockerBackend implements ContainerBackend {
  readonly kind = 'docker' as const;
  readonly capabilities: BackendCapabilities = {
    separateStderr: true,
    oomDetection: true,
    hostNetwork: true,
    ulimits: true,
    gpus: true,
    logTimestamps: true,
  };
  private readonly followers = new Set<DockerEventFollower>();
  /** The engine does not change version under a running backend: asked once. */
  private version: Promise<EngineVersion> | undefined;

  private docker: Docker;
  private pinnedVersion: string;

  constructor(
    docker: Docker,
    private readonly agent: http.Agent,
    /** Where the engine is, for messages. */
    readonly endpoint: string,
    apiVersion: string,
    /** Given when `apiVersion` is a guess (negotiate: on-refusal): how to negotiate when the engine refuses it. */
    private negotiation?: () => Promise<{ docker: Docker; apiVersion: string }>,
  ) {
    this.docker = docker;
    this.pinnedVersion = apiVersion;
  }

  /** The Engine API version requests are sent with. */
  get apiVersion(): string {
    return this.pinnedVersion;
  }

  /**
   * One engine call. While the version is a guess, an engine that refuses it is asked for its versions once
   * and the call is sent again with the negotiated one (a refused request changed nothing).
   */
  private async call<T>(request: (docker: Docker) => Promise<T>): Promise<T> {
    try {
      return await request(this.docker);
    } catch (e) {
      const negotiation = this.negotiation;
      if (negotiation === undefined || !isVersionRefusal(e)) throw e;
      this.negotiation = undefined;
      const { docker, apiVersion } = await negotiation();
      this.docker = docker;
      this.pinnedVersion = apiVersion;
      return request(this.docker);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.call((d) => d.ping());
    } catch (e) {
      throw unavailable(e, this.endpoint);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const i = await this.call((d) => d.getImage(ref).inspect());
      return {
        id: i.Id,
        tags: i.RepoTags ?? [],
        repoDigests: i.RepoDigests ?? [],
        labels: i.Config?.Labels ?? {},
        entrypoint: toArgs(i.Config?.Entrypoint),
        cmd: toArgs(i.Config?.Cmd),
        workingDir: i.Config?.WorkingDir === undefined || i.Config.WorkingDir === '' ? null : i.Config.WorkingDir,
      };
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw isUnavailable(e) ? unavailable(e, this.endpoint) : imageFailure(e, 'inspection', ref);
    }
  }

  async pullImage(ref: string, options: PullOptions = {}): Promise<void> {
    const auth = options.auth;
    try {
      const stream = await this.call((d) => d.pull(ref, auth === undefined ? {}
        : { authconfig: { username: auth.username, password: auth.password, serveraddress: auth.serverAddress } }));
      // The engine reports a failed pull inside the progress stream, not as a status.
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
    } catch (e) {
      throw isUnavailable(e) ? unavailable(e, this.endpoint) : pullFailed(e, ref);
    }
  }

  async removeImage(ref: string, options: RemoveImageOptions = {}): Promise<void> {
    try {
      await this.call((d) => d.getImage(ref).remove({ force: options.force === true }));
    } catch (e) {
      throw isUnavailable(e) ? unavailable(e, this.endpoint) : imageFailure(e, 'removal', ref);
    }
  }

  async checkRegistryAuth(auth: RegistryAuth): Promise<RegistryLogin> {
    try {
      const r = await this.call((d) => d.checkAuth({ serveraddress: auth.serverAddress, username: auth.username, password: auth.password })) as
        { Status?: string };
      return { ok: r.Status === 'Login Succeeded', status: r.Status ?? 'none' };
    } catch (e) {
      throw this.failure(e, 'registry login', auth.serverAddress);
    }
  }

  /**
   * Docker 20.10 sets the OOM flag from an OOM event that can arrive after the exit under load, so the flag is
   * read again for a moment; a container with a memory limit and no other SIGKILL we know of is then taken as
   * out of memory — the alternative, a plain "exit 137", hides the one cause users can fix.
   */
  async settleKill(backendId: string, options: { memoryLimited: boolean }): Promise<KillCause> {
    for (let i = 0; i < 4; i++) {
      const state = await this.inspect(backendId);
      // `docker rm -f` also ends a container with SIGKILL: its removal follows the exit at once.
      if (state.status === 'missing') return 'removed';
      if (state.oomKilled) return 'oom';
      await sleep(250);
    }
    return options.memoryLimited ? 'oom' : 'unknown';
  }

  async engineVersion(): Promise<EngineVersion> {
    this.version ??= this.call((d) => d.version()).then((v) => ({
      name: /podman/i.test(JSON.stringify(v.Components ?? [])) ? 'podman' : 'docker',
      version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch,
    }));
    try {
      return await this.version;
    } catch (e) {
      this.version = undefined;
      throw this.failure(e, 'version query', this.endpoint);
    }
  }

  async listImages(): Promise<ImageSummary[]> {
    try {
      const images = await this.call((d) => d.listImages());
      return images.map((i) => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        labels: i.Labels ?? {},
      }));
    } catch (e) {
      throw this.failure(e, 'image listing', this.endpoint);
    }
  }

  async create(spec: ContainerSpec): Promise<{ backendId: string; name: string }> {
    // Named always: a name is how a restarted run engine finds the container again.
    const name = spec.name ?? `xcs-${randomUUID()}`;
    const body = toCreateOptions({ ...spec, name });
    try {
      const container = await this.call((d) => d.createContainer(body));
      return { backendId: container.id, name };
    } catch (e) {
      throw isUnavailable(e) ? unavailable(e, this.endpoint) : containerFailure(e, 'create', name, spec.image);
    }
  }

  async start(backendId: string): Promise<void> {
    try {
      await this.call((d) => d.getContainer(backendId).start());
    } catch (e) {
      if (statusOf(e) === 304) return; // already started
      throw isUnavailable(e) ? unavailable(e, this.endpoint) : containerFailure(e, 'start', backendId);
    }
  }

  async wait(backendId: string, options: WaitOptions = {}): Promise<ContainerState> {
    let exitCode: number | null = null;
    try {
      const r = (await this.call((d) => d
        .getContainer(backendId)
        .wait({ condition: 'not-running', ...(options.signal === undefined ? {} : { abortSignal: options.signal }) }))) as {
        StatusCode?: number;
      };
      exitCode = typeof r.StatusCode === 'number' ? r.StatusCode : null;
    } catch (e) {
      if (options.signal?.aborted === true) throw options.signal.reason ?? e;
      if (statusOf(e) !== 404) throw this.failure(e, 'wait', backendId);
    }
    const state = await this.inspect(backendId);
    // An auto-removed container is gone by now, but wait told how it ended.
    if (state.status === 'missing' && exitCode !== null) return { ...state, status: 'exited', exitCode };
    return state;
  }

  async inspect(backendId: string): Promise<ContainerState> {
    try {
      const info = await this.call((d) => d.getContainer(backendId).inspect());
      const s = info.State;
      const status = statusOfDocker(s.Status);
      const state: ContainerState = {
        backendId: info.Id,
        status,
        exitCode: status === 'exited' || status === 'dead' ? s.ExitCode : null,
        oomKilled: s.OOMKilled,
        startedAt: dateOf(s.StartedAt),
        finishedAt: dateOf(s.FinishedAt),
      };
      if (s.Error !== undefined && s.Error !== '') state.error = s.Error;
      if (info.Image) state.imageId = info.Image;
      return state;
    } catch (e) {
      if (statusOf(e) === 404) return missing(backendId);
      throw this.failure(e, 'inspection', backendId);
    }
  }

  async kill(backendId: string, signal = 'SIGKILL'): Promise<void> {
    try {
      await this.call((d) => d.getContainer(backendId).kill({ signal }));
    } catch (e) {
      // 409: not running any more — the wanted outcome already holds.
      if (statusOf(e) === 409) return;
      throw this.failure(e, 'kill', backendId);
    }
  }

  async remove(backendId: string): Promise<void> {
    try {
      await this.call((d) => d.getContainer(backendId).remove({ force: true, v: true }));
    } catch (e) {
      const status = statusOf(e);
      // 404: already gone; 409: removal already in progress (auto-remove).
      if (status === 404 || (status === 409 && /already in progress/i.test(engineMessage(e)))) return;
      throw this.failure(e, 'removal', backendId);
    }
  }

  logs(backendId: string, options: LogOptions): AsyncIterable<Buffer> {
    const query: Record<string, unknown> = {
      stdout: options.stream === 'stdout',
      stderr: options.stream === 'stderr',
      follow: options.follow === true,
      timestamps: options.timestamps === true,
    };
    if (options.since !== undefined) {
      // Docker's `seconds.nanoseconds` form; a shorter fraction would be misread by older engines.
      const ms = options.since.getTime();
      query.since = `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
    }
    const open = (): Promise<AsyncIterable<Buffer | string>> =>
      this.dialStream(`/containers/${encodeURIComponent(backendId)}/logs?`, query, options.signal, { 404: 'no such container' });
    // A container being removed (409 "dead or marked for removal") has no logs any more: the same as a missing one.
    const failure = (e: unknown): XcsError => (statusOf(e) === 409 && /marked for removal|is dead/i.test(engineMessage(e))
      ? notFound(e, backendId) : this.failure(e, 'log reading', backendId));
    const signal = options.signal;
    return {
      async *[Symbol.asyncIterator]() {
        let source: AsyncIterable<Buffer | string>;
        try {
          source = await open();
        } catch (e) {
          if (signal?.aborted === true) return;
          throw failure(e);
        }
        try {
          yield* demultiplex(source, options.stream);
        } catch (e) {
          if (signal?.aborted === true) return; // the caller stopped following
          throw failure(e);
        }
      },
    };
  }

  events(options: EventOptions = {}): EventSubscription {
    const filters = JSON.stringify({ type: ['container'], event: EVENT_ACTIONS, label: labelFilter(options.labels) });
    const follower = new DockerEventFollower(
      (since, signal) => this.dialStream('/events?', { since, filters }, signal, {}),
      // Without an explicit start, replay from the moment of subscribing: containers created right after
      // `events()` returns are seen even if the connection is not open yet.
      { since: options.since ?? new Date() },
    );
    this.followers.add(follower);
    return follower;
  }

  async list(options: { labels?: Record<string, string> } = {}): Promise<ContainerSummary[]> {
    return this.listWhere({ label: labelFilter(options.labels) });
  }

  async findByName(name: string): Promise<ContainerSummary | null> {
    // Docker's name filter matches substrings; keep the exact match only.
    const found = await this.listWhere({ label: labelFilter(undefined), name: [name] });
    return found.find((c) => c.name === name) ?? null;
  }

  async close(): Promise<void> {
    for (const f of this.followers) f.close();
    this.followers.clear();
    this.agent.destroy();
  }

  /** A streamed GET; dockerode would buffer a non-followed log, and its event options lack nanosecond `since`. */
  private dialStream(
    path: string,
    query: Record<string, unknown>,
    signal: AbortSignal | undefined,
    errors: Record<number, string>,
  ): Promise<AsyncIterable<Buffer | string>> {
    return this.call((docker) => new Promise((resolve, reject) => {
      const modem = docker.modem as Modem;
      modem.dial(
        {
          path,
          method: 'GET',
          options: query,
          isStream: true,
          ...(signal === undefined ? {} : { abortSignal: signal }),
          statusCodes: { 200: true, 500: 'server error', ...errors },
        },
        (error, result) => (error ? reject(error) : resolve(result as AsyncIterable<Buffer | string>)),
      );
    }));
  }

  private async listWhere(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    try {
      const containers = await this.call((d) => d.listContainers({ all: true, filters: JSON.stringify(filters) }));
      return containers.map((c) => ({
        backendId: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        image: c.Image,
        labels: c.Labels ?? {},
        status: statusOfDocker(c.State),
      }));
    } catch (e) {
      throw this.failure(e, 'container listing', this.endpoint);
    }
  }

  private failure(e: unknown, what: string, subject: string): XcsError {
    if (isUnavailable(e)) return unavailable(e, this.endpoint);
    return requestFailed(e, what, subject);
  }
}

function toArgs(value: string | string[] | undefined | null): string[] | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? [value] : value;
}
