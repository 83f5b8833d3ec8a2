/**
 * The Docker Swarm backend: each run is a swarm service, as XNAT runs it (reference §4.3) — created with 0
 * replicas, scaled to 1 by `start`, restart condition `none`, one task placed by the swarm on a node that satisfies
 * the run's constraints and reservations. The backend id is the service id. It speaks to one manager's Engine API
 * (`host`, as for the Docker backend) through dockerode.
 *
 * Differences from the Docker backend, by necessity: a kill removes the service (XNAT's way; its logs are read just
 * before, so they are kept), a task's OOM kill is only recognised when it ran on the manager itself (swarm reports
 * exit code 137 and nothing more), and the image is resolved to its id on the manager so that no node ever pulls —
 * unless the spec carries its hub's `registryAuth`: then, as XNAT does, the service names the image by reference
 * and the credentials go with the create call (`X-Registry-Auth`), for the nodes that lack the image to pull it.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { inspect as utilInspect } from 'node:util';
import Docker from 'dockerode';
import { XcsError } from '../../core/errors.ts';
import { DockerBackend, negotiateApiVersion, parseDockerHost } from '../docker/docker-backend.ts';
import { engineMessage, isUnavailable, notFound, requestFailed, statusOf, unavailable } from '../docker/engine-errors.ts';
import { demultiplex } from '../docker/log-stream.ts';
import {
  BackendErrorCode,
  XCS_LABELS,
  type BackendCapabilities,
  type ContainerBackend,
  type ContainerSpec,
  type ContainerSummary,
  type EngineVersion,
  type EventOptions,
  type EventSubscription,
  type ImageInfo,
  type ImageSummary,
  type LogOptions,
  type PlacementReport,
  type PullOptions,
  type RegistryAuth,
  type RegistryLogin,
  type RemoveImageOptions,
  type WaitOptions,
} from '../types.ts';
import { readSettled } from './settled-logs.ts';
import { IMAGE_LABEL, SWARM_BACKEND_LABEL, toServiceSpec } from './service-spec.ts';
import { latestTask, nodeName, viewOf, type SwarmNodeInfo, type SwarmTask, type TaskView } from './task-state.ts';
import { TaskWatcher, type SwarmEngine } from './task-watcher.ts';

/** Service specs with `CapabilityDrop` and a pids limit need Engine API 1.41 (Docker 20.10). */
export const MINIMUM_SWARM_API_VERSION = '1.41';

export interface SwarmBackendOptions {
  /** A manager's Engine API: `unix:///var/run/docker.sock` or `tcp://host:2375`. Defaults to `$DOCKER_HOST`, then the socket. */
  host?: string;
  apiVersion?: string;
  /** Placement constraints every service gets (the site's non-user-settable ones are resolved by the caller). */
  constraints?: string[];
}

/** How long a followed log stays open after its task ended without new output (the last lines may lag the state). */
const LOG_DRAIN_QUIET_MS = 250;
const LOG_DRAIN_MAX_MS = 5000;
/** Logs kept for a killed service until it is removed (its service, and with it the logs, is gone). */
/** A one-shot log read that goes quiet this long is asked again (see settled-logs.ts); a kill waits for its logs at most so long. */
const LOG_READ_IDLE_MS = 3000;
const LOG_READ_ATTEMPTS = 3;
const KILL_LOG_READ_MS = 10_000;
const KILLED_LOG_LIMIT = 16 * 1024 * 1024;

interface Modem {
  dial(options: { path: string } & Record<string, unknown>, callback: (error: unknown, result: unknown) => void): void;
}

interface Killed {
  view: TaskView;
  stdout: Buffer;
  stderr: Buffer;
}

function labelFilter(labels: Record<string, string> | undefined): string[] {
  return [`${XCS_LABELS.managed}=true`, `${SWARM_BACKEND_LABEL}=swarm`, ...Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`)];
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Connects to a swarm manager, checks that it is one, and returns a backend pinned to a negotiated API version. */
export async function createSwarmBackend(options: SwarmBackendOptions = {}): Promise<SwarmBackend> {
  const connection = parseDockerHost(options.host ?? process.env.DOCKER_HOST);
  const where = 'socketPath' in connection ? `unix://${connection.socketPath}` : `tcp://${connection.host}:${connection.port}`;
  const agent = new http.Agent({ keepAlive: true });
  Object.defineProperty(agent, utilInspect.custom, { value: () => 'http.Agent(swarm)' });
  const withAgent = (o: Docker.DockerOptions): Docker.DockerOptions => Object.assign(o, { agent });
  try {
    let version = options.apiVersion;
    if (version === undefined) {
      const v = await new Docker(withAgent({ ...connection })).version();
      version = negotiateApiVersion(v, where);
      if (compareVersions(version, MINIMUM_SWARM_API_VERSION) < 0) {
        throw new XcsError(BackendErrorCode.unsupportedEngine, `The swarm manager speaks Engine API ${version}; the swarm backend needs ${MINIMUM_SWARM_API_VERSION}`, {
          path: where, hint: 'Upgrade the swarm\'s engines to Docker 20.10 or later',
        });
      }
    }
    const docker = new Docker(withAgent({ ...connection, version: `v${version}` }));
    const backend = new SwarmBackend(docker, agent, where, version, options.constraints ?? []);
    await backend.ping();
    return backend;
  } catch (e) {
    agent.destroy();
    if (e instanceof XcsError) throw e;
    throw unavailable(e, where);
  }
}

export class SwarmBackend implements ContainerBackend {
  readonly kind = 'swarm' as const;
  readonly capabilities: BackendCapabilities = {
    separateStderr: true,
    // Swarm reports an OOM-killed task as exit 137 only; the flag is read from the container when it ran on the manager.
    oomDetection: false,
    hostNetwork: true,
    ulimits: true,
    gpus: false,
    logTimestamps: true,
  };
  private readonly images: DockerBackend;
  private readonly watcher: TaskWatcher;
  private readonly killed = new Map<string, Killed>();

  constructor(
    private readonly docker: Docker,
    private readonly agent: http.Agent,
    readonly endpoint: string,
    readonly apiVersion: string,
    /** Constraints every service gets, besides the spec's own. */
    private readonly siteConstraints: string[] = [],
  ) {
    // Images live on the manager's engine exactly as for the Docker backend.
    this.images = new DockerBackend(docker, agent, endpoint, apiVersion);
    this.watcher = new TaskWatcher(this.engine(), () => undefined);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.swarmInspect();
    } catch (e) {
      if (isUnavailable(e)) throw unavailable(e, this.endpoint);
      throw new XcsError(BackendErrorCode.unavailable, `${this.endpoint} is not a swarm manager: ${engineMessage(e)}`, {
        path: this.endpoint,
        hint: 'Point the server\'s host at a manager of the swarm (docker swarm init / docker node promote)',
      });
    }
  }

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return this.images.inspectImage(ref);
  }

  listImages(): Promise<ImageSummary[]> {
    return this.images.listImages();
  }

  engineVersion(): Promise<EngineVersion> {
    return this.images.engineVersion();
  }

  /** Pulls onto the manager's engine; the nodes need the image too (a node pulls only for a spec with `registryAuth`). */
  pullImage(ref: string, options?: PullOptions): Promise<void> {
    return this.images.pullImage(ref, options);
  }

  removeImage(ref: string, options?: RemoveImageOptions): Promise<void> {
    return this.images.removeImage(ref, options);
  }

  checkRegistryAuth(auth: RegistryAuth): Promise<RegistryLogin> {
    return this.images.checkRegistryAuth(auth);
  }

  async create(spec: ContainerSpec): Promise<{ backendId: string; name: string }> {
    const name = spec.name ?? `xcs-${randomUUID()}`;
    const { registryAuth, ...rest } = spec;
    if (registryAuth !== undefined) return this.createService({ ...rest, name }, spec.image.trim(), registryAuth);
    // Named by id, the image is never pulled by a node (swarm pulls tags), and every node runs the same image.
    const image = spec.image.trim() === '' ? null : await this.images.inspectImage(spec.image);
    if (image === null && spec.image.trim() !== '') {
      throw new XcsError(BackendErrorCode.imageMissing, `Image ${spec.image} is not on the swarm manager`, {
        path: '/image',
        hint: 'Pull or load it on the manager and on every node that may run it (XCS never pulls implicitly)',
      });
    }
    return this.createService({ ...rest, name }, image?.id ?? '', undefined);
  }

  /**
   * `POST /services/create` running `image` (an id, or a reference its nodes may pull). `auth` goes in the
   * `X-Registry-Auth` header (dockerode's `authconfig`): the swarm keeps it for its nodes' pulls and never returns it.
   */
  private async createService(spec: ContainerSpec & { name: string }, image: string, auth: RegistryAuth | undefined): Promise<{ backendId: string; name: string }> {
    const name = spec.name;
    const body = toServiceSpec(spec, {
      imageId: image,
      constraints: [...this.siteConstraints, ...(spec.placement?.constraints ?? [])],
    });
    try {
      const authconfig = auth === undefined ? undefined : { username: auth.username, password: auth.password, serveraddress: auth.serverAddress };
      const created = (await this.dial('/services/create', 'POST', { _body: body }, undefined, authconfig)) as { ID: string };
      this.watcher.track(created.ID, name, body.Labels ?? {}, true);
      return { backendId: created.ID, name };
    } catch (e) {
      if (isUnavailable(e)) throw unavailable(e, this.endpoint);
      const message = engineMessage(e);
      if (statusOf(e) === 409 || /name conflicts|already exists/i.test(message)) {
        throw new XcsError(BackendErrorCode.nameConflict, `A swarm service named ${name} already exists`, { path: '/name' });
      }
      if (statusOf(e) === 400) throw new XcsError(BackendErrorCode.invalidSpec, `The swarm refused the service: ${message}`, { path: '/' });
      throw new XcsError(BackendErrorCode.createFailed, `Creating swarm service ${name} failed: ${message}`, { path: name });
    }
  }

  /**
   * Scales the service to one replica and waits until its task runs, ended, or waits to be placed (a pending task
   * is a run waiting for a node, not a failure). A task refused for a missing bind source is `backend.mount-missing`.
   */
  async start(backendId: string): Promise<void> {
    const service = await this.scaleToOne(backendId);
    this.follow(backendId, service.Spec?.Name ?? backendId, service.Spec?.Labels ?? {});
    const view = await this.watcher.until(backendId, (v) => v.status !== 'created' || (v.taskState === 'pending' && v.pendingReason !== null && /placement|resources|cannot place/.test(v.pendingReason)));
    if (view === null) throw notFound(new Error('service removed while starting'), backendId);
    if (view.taskState === 'rejected' && /bind source path does not exist|no such file or directory/i.test(view.error ?? '')) {
      throw new XcsError(BackendErrorCode.mountMissing, `A mount source of service ${backendId} does not exist on its node: ${view.error}`, {
        path: backendId, hint: 'The archive and build directories must be shared with every swarm node at the translated path',
      });
    }
  }

  /** Replicas 0 → 1. The swarm itself bumps a new service's version (endpoint allocation): an update out of sequence is retried. */
  private async scaleToOne(backendId: string): Promise<Docker.Service & { ID: string }> {
    for (let attempt = 1; ; attempt++) {
      const service = await this.inspectService(backendId);
      if (service === null) throw notFound(new Error('no such service'), backendId);
      const spec = service.Spec ?? {};
      if ((spec.Mode?.Replicated?.Replicas ?? 0) >= 1) return service;
      try {
        await this.dial(`/services/${encodeURIComponent(backendId)}/update`, 'POST', {
          _query: { version: service.Version?.Index ?? 0 }, _body: { ...spec, Mode: { Replicated: { Replicas: 1 } } },
        });
        return service;
      } catch (e) {
        if (statusOf(e) === 404) throw notFound(e, backendId);
        if (attempt < 10 && /out of sequence/i.test(engineMessage(e))) continue;
        throw this.failure(e, 'start (scale to 1)', backendId);
      }
    }
  }

  async wait(backendId: string, options: WaitOptions = {}): Promise<TaskView> {
    const killed = this.killed.get(backendId);
    if (killed !== undefined) return killed.view;
    const service = await this.inspectService(backendId);
    if (service === null) return this.killed.get(backendId)?.view ?? viewMissing(backendId);
    if ((service.Spec?.Mode?.Replicated?.Replicas ?? 0) < 1) return this.inspect(backendId); // never started
    this.follow(backendId, service.Spec?.Name ?? backendId, service.Spec?.Labels ?? {});
    const view = await this.watcher.until(backendId, (v) => v.status === 'exited', options.signal);
    if (view === null) return this.killed.get(backendId)?.view ?? viewMissing(backendId);
    return this.withOom(view);
  }

  async inspect(backendId: string): Promise<TaskView> {
    const killed = this.killed.get(backendId);
    if (killed !== undefined) return killed.view;
    const service = await this.inspectService(backendId);
    if (service === null) return viewMissing(backendId);
    const tasks = await this.listTasks([service.ID]);
    const task = latestTask(tasks);
    const view = viewOf(service.ID, task, task?.NodeID ? await this.node(task.NodeID) : undefined);
    return this.withOom(view);
  }

  /** XNAT's kill: the service is removed. Its logs are read first and kept until `remove`, so finalization saves them. */
  async kill(backendId: string): Promise<void> {
    if (this.killed.has(backendId)) return;
    const view = await this.inspect(backendId);
    if (view.status === 'missing') throw notFound(new Error('no such service'), backendId);
    if (view.status === 'exited') return;
    const [stdout, stderr] = await Promise.all([this.readLogs(backendId, 'stdout'), this.readLogs(backendId, 'stderr')]);
    const final: TaskView = view.started || view.status === 'running'
      ? { ...view, status: 'exited', exitCode: 137, finishedAt: new Date(), pendingReason: null }
      : { ...view, status: 'exited', exitCode: null, finishedAt: new Date(), pendingReason: null,
        error: `killed before it ran${view.pendingReason === null ? '' : ` (${view.pendingReason})`}` };
    this.killed.set(backendId, { view: final, stdout, stderr });
    await this.removeService(backendId);
    this.watcher.removed(backendId, final, 'killed');
  }

  async remove(backendId: string): Promise<void> {
    await this.removeService(backendId);
    this.killed.delete(backendId);
    this.watcher.removed(backendId, null, 'removed');
  }

  logs(backendId: string, options: LogOptions): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.readLogStream(backendId, options) };
  }

  private async *readLogStream(backendId: string, options: LogOptions): AsyncGenerator<Buffer> {
    const killed = this.killed.get(backendId);
    if (killed !== undefined) {
      const text = killed[options.stream];
      if (text.length > 0) yield text;
      return;
    }
    if (options.follow !== true) {
      // The logs of a task whose node went down are on that node: asking the swarm for them would never end.
      const view = await this.inspect(backendId);
      if (view.error?.startsWith('Swarm node error: ') === true) return;
      yield* this.settledLogStream(backendId, options, options.signal);
      return;
    }
    // Service logs never end by themselves: the follow is closed once the task ended and output went quiet.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let last = Date.now();
    const service = await this.inspectService(backendId);
    if (service === null) throw notFound(new Error('no such service'), backendId);
    this.follow(backendId, service.Spec?.Name ?? backendId, service.Spec?.Labels ?? {});
    void this.watcher.until(backendId, (v) => v.status === 'exited', stop.signal).then(async () => {
      const ended = Date.now();
      while (!stop.signal.aborted && Date.now() - last < LOG_DRAIN_QUIET_MS && Date.now() - ended < LOG_DRAIN_MAX_MS) {
        await new Promise((r) => setTimeout(r, 50));
      }
      stop.abort();
    }, () => undefined);
    try {
      for await (const chunk of this.logStream(backendId, options, stop.signal)) {
        last = Date.now();
        yield chunk;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  events(options: EventOptions = {}): EventSubscription {
    const labels = options.labels ?? {};
    const sub = this.watcher.subscribe(labels);
    // Services created before this subscription (by an earlier process) are followed too.
    void this.list({ labels }).then((services) => {
      for (const s of services) if (s.status === 'created' || s.status === 'running') this.follow(s.backendId, s.name, s.labels);
    }, () => undefined);
    return sub;
  }

  async list(options: { labels?: Record<string, string> } = {}): Promise<ContainerSummary[]> {
    return this.listWhere({ label: labelFilter(options.labels) });
  }

  async findByName(name: string): Promise<ContainerSummary | null> {
    const found = await this.listWhere({ label: labelFilter(undefined), name: [name] });
    return found.find((c) => c.name === name) ?? null;
  }

  /** Where the run's task is and why it waits: for the record (`task-id`, `node-id`) and the launch UI. */
  async placementOf(backendId: string): Promise<PlacementReport> {
    const view = await this.inspect(backendId);
    const node = view.nodeId === null ? undefined : await this.node(view.nodeId);
    return {
      serviceId: view.status === 'missing' ? null : backendId, taskId: view.taskId, nodeId: view.nodeId,
      node: view.nodeId === null ? null : nodeName(node, view.nodeId), containerId: view.containerId, state: view.taskState,
      pendingReason: view.pendingReason,
      lostReason: view.error?.startsWith('Swarm node error: ') === true ? view.error : null,
    };
  }

  async close(): Promise<void> {
    this.watcher.close();
    this.agent.destroy();
  }

  private follow(serviceId: string, name: string, labels: Record<string, string>): void {
    this.watcher.track(serviceId, name, labels, false);
    this.watcher.activate(serviceId);
  }

  private async withOom(view: TaskView): Promise<TaskView> {
    // Swarm says "exit 137"; the container itself knows whether the kernel's OOM killer did it — if it is here.
    if (view.exitCode !== 137 || view.containerId === null) return view;
    try {
      const info = await this.docker.getContainer(view.containerId).inspect();
      return info.State.OOMKilled ? { ...view, oomKilled: true } : view;
    } catch {
      return view;
    }
  }

  private async readLogs(backendId: string, stream: 'stdout' | 'stderr'): Promise<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of this.settledLogStream(backendId, { stream }, AbortSignal.timeout(KILL_LOG_READ_MS))) {
        if (size + chunk.length > KILLED_LOG_LIMIT) break;
        parts.push(chunk);
        size += chunk.length;
      }
    } catch {
      // A task that never ran has no logs.
    }
    return Buffer.concat(parts);
  }

  private settledLogStream(backendId: string, options: LogOptions, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    return readSettled((quiet) => this.logStream(backendId, options, quiet), { idleMs: LOG_READ_IDLE_MS, attempts: LOG_READ_ATTEMPTS, ...(signal === undefined ? {} : { signal }) });
  }

  private async *logStream(backendId: string, options: LogOptions, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    const query: Record<string, unknown> = {
      stdout: options.stream === 'stdout', stderr: options.stream === 'stderr', follow: options.follow === true,
      timestamps: options.timestamps === true,
    };
    if (options.since !== undefined) {
      // `seconds.nanoseconds`, as the Docker backend sends it.
      const ms = options.since.getTime();
      query.since = `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
    }
    let source: AsyncIterable<Buffer | string>;
    try {
      source = (await this.dial(`/services/${encodeURIComponent(backendId)}/logs`, 'GET', query, { stream: true, signal })) as AsyncIterable<Buffer>;
    } catch (e) {
      if (signal?.aborted === true) return;
      if (statusOf(e) === 404) throw notFound(e, backendId);
      throw this.failure(e, 'log reading', backendId);
    }
    try {
      yield* demultiplex(source, options.stream);
    } catch (e) {
      if (signal?.aborted === true) return;
      throw this.failure(e, 'log reading', backendId);
    }
  }

  private async removeService(backendId: string): Promise<void> {
    try {
      await this.docker.getService(backendId).remove();
    } catch (e) {
      if (statusOf(e) === 404) return;
      throw this.failure(e, 'removal', backendId);
    }
  }

  private async inspectService(backendId: string): Promise<(Docker.Service & { ID: string }) | null> {
    try {
      return (await this.docker.getService(backendId).inspect()) as Docker.Service & { ID: string };
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw this.failure(e, 'inspection', backendId);
    }
  }

  private async listTasks(serviceIds: string[]): Promise<SwarmTask[]> {
    try {
      return (await this.docker.listTasks({ filters: JSON.stringify({ service: serviceIds }) })) as SwarmTask[];
    } catch (e) {
      if (statusOf(e) !== 404) throw this.failure(e, 'task listing', this.endpoint);
    }
    // One of the services was removed meanwhile (the filter refuses unknown services): all tasks, filtered here.
    try {
      const wanted = new Set(serviceIds);
      return ((await this.docker.listTasks()) as SwarmTask[]).filter((t) => t.ServiceID !== undefined && wanted.has(t.ServiceID));
    } catch (e) {
      throw this.failure(e, 'task listing', this.endpoint);
    }
  }

  private async listNodes(): Promise<SwarmNodeInfo[]> {
    try {
      const nodes = (await this.docker.listNodes()) as { ID: string; Description?: { Hostname?: string }; Status?: { State?: string; Addr?: string } }[];
      return nodes.map((n) => ({ id: n.ID, hostname: n.Description?.Hostname ?? n.ID, addr: n.Status?.Addr ?? '?', state: n.Status?.State ?? 'unknown' }));
    } catch (e) {
      throw this.failure(e, 'node listing', this.endpoint);
    }
  }

  /** A node's state, read fresh: a node that went down fails the task it was running. */
  private async node(id: string): Promise<SwarmNodeInfo | undefined> {
    return (await this.listNodes()).find((n) => n.id === id);
  }

  private async listWhere(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    let services: (Docker.Service & { ID: string })[];
    try {
      services = (await this.docker.listServices({ filters: JSON.stringify(filters) })) as (Docker.Service & { ID: string })[];
    } catch (e) {
      throw this.failure(e, 'service listing', this.endpoint);
    }
    if (services.length === 0) return [];
    const tasks = await this.listTasks(services.map((s) => s.ID));
    const nodes = new Map((await this.listNodes()).map((n) => [n.id, n]));
    return services.map((s) => {
      const task = latestTask(tasks.filter((t) => t.ServiceID === s.ID));
      const view = this.killed.get(s.ID)?.view ?? viewOf(s.ID, task, task?.NodeID ? nodes.get(task.NodeID) : undefined);
      const labels = s.Spec?.Labels ?? {};
      return { backendId: s.ID, name: s.Spec?.Name ?? '', image: labels[IMAGE_LABEL] ?? '', labels, status: view.status };
    });
  }

  /** The engine calls the task watcher makes. */
  private engine(): SwarmEngine {
    return {
      listTasks: (ids) => this.listTasks(ids),
      listNodes: () => this.listNodes(),
      serviceInfo: async (id) => {
        const s = await this.inspectService(id);
        return s === null ? null : { name: s.Spec?.Name ?? id, labels: s.Spec?.Labels ?? {} };
      },
      openEvents: async (since, signal) => {
        const filters = JSON.stringify({ type: ['service', 'node'] });
        const stream = (await this.dial('/events', 'GET', { since, filters }, { stream: true, signal })) as AsyncIterable<Buffer | string>;
        return parseJsonLines(stream);
      },
    };
  }

  /** One Engine API call through docker-modem (`_query`/`_body` for POSTs, the query for GETs). */
  private dial(path: string, method: 'GET' | 'POST', options: Record<string, unknown>, stream?: { stream: true; signal?: AbortSignal },
    authconfig?: Record<string, string>): Promise<unknown> {
    const modem = this.docker.modem as Modem;
    return new Promise((resolve, reject) => {
      modem.dial({
        path: `${path}?`, method, options, isStream: stream !== undefined, ...(authconfig === undefined ? {} : { authconfig }),
        ...(stream?.signal === undefined ? {} : { abortSignal: stream.signal }),
        statusCodes: { 200: true, 201: true, 400: 'bad parameter', 404: 'no such service', 409: 'name conflicts', 500: 'server error', 503: 'node is not part of a swarm' },
      }, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }

  private failure(e: unknown, what: string, subject: string): XcsError {
    if (isUnavailable(e)) return unavailable(e, this.endpoint);
    return requestFailed(e, what, subject);
  }
}

function viewMissing(backendId: string): TaskView {
  return { backendId, status: 'missing', exitCode: null, oomKilled: false, startedAt: null, finishedAt: null, taskId: null, nodeId: null,
    containerId: null, taskState: null, pendingReason: null, started: false };
}

async function* parseJsonLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<{ Type?: string; Action?: string; Actor?: { ID?: string } }> {
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== '') {
        try {
          yield JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string } };
        } catch {
          // A line that is not an event is skipped.
        }
      }
      newline = pending.indexOf('\n');
    }
  }
}
