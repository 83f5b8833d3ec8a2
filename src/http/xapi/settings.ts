/**
 * Server settings (reference §4.1, §4.5, §5.5, §5.6 queues): the container server (`/docker/server`),
 * path translation (part of the server JSON), image hosts (`/docker/hubs`) and the queue concurrency map
 * (`/jms_queues`), persisted in the shared database.
 *
 * The run engine reads its limits through `SettingsStore.queues()` at start-up and is told of later
 * changes through `onChange` (the wiring sets `maxRunning`/`maxFinalizing` live, where XNAT needs a restart).
 * Deviations: listing hubs does not contact the registries (XNAT pings each one on every listing); ask
 * `/docker/hubs/{id}/ping` instead. Passwords and tokens of hubs are never returned.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { XcsError, messageOf } from '../../core/errors.ts';
import { SettingsTable } from '../../stores/settings-table.ts';
import type { AccessControl } from './access.ts';
import { backendFor, operationOf, pingServer, withTimeout } from './server-backend.ts';
import { defaultXcsKeys, parseXcsKeys, refuseUnsupported, type XcsServerKeys } from './site-settings-keys.ts';
import { defaultSlurmKeys, parseSlurmKeys, type SlurmServerKeys } from './slurm-settings.ts';

export type BackendName = 'docker' | 'swarm' | 'kubernetes' | 'slurm';

export interface SwarmConstraintSetting {
  id?: number;
  'user-settable': boolean;
  attribute: string;
  comparator: string;
  values: string[];
}

/** XNAT's server JSON (§4.1) plus the XCS keys of `site-settings-keys.ts`. */
export interface DockerServerSettings extends XcsServerKeys, SlurmServerKeys {
  id: number;
  name: string;
  host: string;
  'cert-path': string | null;
  backend: BackendName;
  'swarm-mode': boolean;
  'path-translation-xnat-prefix': string | null;
  'path-translation-docker-prefix': string | null;
  'pull-images-on-xnat-init': boolean;
  'container-user': string | null;
  'auto-cleanup': boolean;
  'swarm-constraints': SwarmConstraintSetting[];
  'max-concurrent-finalizing-jobs': number | null;
  'status-email-enabled': boolean;
  'gpu-vendor': string | null;
  'archive-pvc-name': string | null;
  'build-pvc-name': string | null;
  'combined-pvc-name': string | null;
  'archive-path-translation': string | null;
  'build-path-translation': string | null;
  'combined-path-translation': string | null;
}

export interface Hub {
  id: number;
  name: string;
  url: string;
  default: boolean;
  username: string | null;
  password: string | null;
  email: string | null;
  token: string | null;
}

export const QUEUE_KEYS = ['concurrencyMinStagingQueue', 'concurrencyMaxStagingQueue',
  'concurrencyMinFinalizingQueue', 'concurrencyMaxFinalizingQueue'] as const;
export type QueueKey = (typeof QUEUE_KEYS)[number];
export type QueueSettings = Record<QueueKey, number>;

/** XCS runs at most this many containers at once by default (the machine is not a cluster). */
export const DEFAULT_QUEUES: QueueSettings = {
  concurrencyMinStagingQueue: 1, concurrencyMaxStagingQueue: 4,
  concurrencyMinFinalizingQueue: 1, concurrencyMaxFinalizingQueue: 2,
};

export const DEFAULT_HUB = { name: 'Docker Hub', url: 'https://index.docker.io/v1/' };

export function defaultServer(): DockerServerSettings {
  const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  return {
    id: 1, name: 'Local Docker engine', host, 'cert-path': null, backend: 'docker', 'swarm-mode': false,
    'path-translation-xnat-prefix': null, 'path-translation-docker-prefix': null, 'pull-images-on-xnat-init': false,
    'container-user': process.env.XCS_CONTAINER_USER || null, 'auto-cleanup': true, 'swarm-constraints': [], 'max-concurrent-finalizing-jobs': null,
    'status-email-enabled': false, 'gpu-vendor': null, 'archive-pvc-name': null, 'build-pvc-name': null,
    'combined-pvc-name': null, 'archive-path-translation': null, 'build-path-translation': null,
    'combined-path-translation': null, ...defaultXcsKeys(), ...defaultSlurmKeys(),
  };
}

type Listener = (s: { server: DockerServerSettings; queues: QueueSettings }) => void;

export class SettingsStore {
  readonly #table: SettingsTable;
  readonly #listeners = new Set<Listener>();
  #server: DockerServerSettings = defaultServer();
  #queues: QueueSettings = { ...DEFAULT_QUEUES };
  #hubs: Hub[] = [];

  private constructor(table: SettingsTable) {
    this.#table = table;
  }

  static async open<T>(db: Kysely<T>): Promise<SettingsStore> {
    const store = new SettingsStore(await SettingsTable.open(db));
    await store.#load();
    return store;
  }

  async #load(): Promise<void> {
    const byKey = await this.#table.load();
    if (byKey.has('server')) this.#server = { ...defaultServer(), ...(byKey.get('server') as DockerServerSettings) };
    if (byKey.has('queues')) this.#queues = { ...DEFAULT_QUEUES, ...(byKey.get('queues') as QueueSettings) };
    if (byKey.has('hubs')) this.#hubs = byKey.get('hubs') as Hub[];
    if (this.#hubs.length === 0) {
      this.#hubs = [{ id: 1, ...DEFAULT_HUB, default: true, username: null, password: null, email: null, token: null }];
      await this.#save('hubs', this.#hubs);
    }
  }

  /**
   * Reads the stored documents again and announces a change when they differ from what this process holds: another
   * replica on the same database may have saved them. Returns whether anything changed.
   */
  async refresh(): Promise<boolean> {
    const byKey = await this.#table.load();
    const server = byKey.has('server') ? { ...defaultServer(), ...(byKey.get('server') as DockerServerSettings) } : this.#server;
    const queues = byKey.has('queues') ? { ...DEFAULT_QUEUES, ...(byKey.get('queues') as QueueSettings) } : this.#queues;
    const hubs = byKey.has('hubs') ? byKey.get('hubs') as Hub[] : this.#hubs;
    const before = JSON.stringify([this.#server, this.#queues, this.#hubs]);
    if (JSON.stringify([server, queues, hubs]) === before) return false;
    [this.#server, this.#queues, this.#hubs] = [server, queues, hubs];
    this.#notify();
    return true;
  }

  async #save(key: string, value: unknown): Promise<void> {
    await this.#table.save(key, value);
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const l of this.#listeners) l({ server: this.server(), queues: this.queues() });
  }

  server(): DockerServerSettings {
    return structuredClone(this.#server);
  }

  /** `{xnatPrefix, dockerPrefix}` when both prefixes are set (resolution replaces the prefix only). */
  pathTranslation(): { xnatPrefix: string; dockerPrefix: string } | null {
    const x = this.#server['path-translation-xnat-prefix'];
    const d = this.#server['path-translation-docker-prefix'];
    return x && d ? { xnatPrefix: x, dockerPrefix: d } : null;
  }

  async setServer(body: unknown): Promise<DockerServerSettings> {
    const server = parseServer(body);
    server.id = 1;
    this.#server = server;
    await this.#save('server', server);
    this.#notify();
    return this.server();
  }

  queues(): QueueSettings {
    return { ...this.#queues };
  }

  async setQueues(body: unknown): Promise<QueueSettings> {
    const next = { ...this.#queues, ...parseQueues(body) };
    for (const kind of ['Staging', 'Finalizing'] as const) {
      if (next[`concurrencyMin${kind}Queue`] > next[`concurrencyMax${kind}Queue`]) {
        throw new XcsError('xapi.queues.min-above-max',
          `concurrencyMin${kind}Queue (${next[`concurrencyMin${kind}Queue`]}) is above concurrencyMax${kind}Queue (${next[`concurrencyMax${kind}Queue`]})`,
          { status: 400, path: `concurrencyMin${kind}Queue` });
      }
    }
    this.#queues = next;
    await this.#save('queues', next);
    this.#notify();
    return this.queues();
  }

  hubs(): Hub[] {
    return structuredClone(this.#hubs);
  }

  hub(idOrName: string): Hub {
    const h = /^\d+$/.test(idOrName) ? this.#hubs.find((x) => x.id === Number(idOrName)) : this.#hubs.find((x) => x.name === idOrName);
    if (!h) throw new XcsError('xapi.hub.not-found', `No image host ${idOrName}`, { status: 404, path: idOrName });
    return structuredClone(h);
  }

  defaultHub(): Hub {
    return structuredClone(this.#hubs.find((h) => h.default) ?? this.#hubs[0]);
  }

  async saveHub(body: unknown, opts: { id?: number; makeDefault: boolean }): Promise<Hub> {
    let hub: Hub;
    if (opts.id !== undefined) {
      const old = this.hub(String(opts.id));
      hub = body === undefined || body === null || body === '' ? old : { ...parseHub(body, old), id: old.id };
    } else {
      hub = parseHub(body, undefined);
      hub.id = Math.max(0, ...this.#hubs.map((h) => h.id)) + 1;
    }
    if (this.#hubs.some((h) => h.name === hub.name && h.id !== hub.id)) {
      throw new XcsError('xapi.hub.duplicate', `An image host named "${hub.name}" already exists`, { status: 400, path: '/name' });
    }
    const others = this.#hubs.filter((h) => h.id !== hub.id);
    hub.default = opts.makeDefault || (hub.default && opts.id !== undefined);
    if (hub.default) for (const h of others) h.default = false;
    this.#hubs = [...others, hub].sort((a, b) => a.id - b.id);
    await this.#save('hubs', this.#hubs);
    return structuredClone(hub);
  }

  async deleteHub(idOrName: string): Promise<void> {
    const hub = this.hub(idOrName);
    if (hub.default) {
      throw new XcsError('xapi.hub.default', 'Cannot delete default docker hub. Make another hub default first.',
        { status: 409, path: idOrName });
    }
    this.#hubs = this.#hubs.filter((h) => h.id !== hub.id);
    await this.#save('hubs', this.#hubs);
  }
}

/** The hub as the API shows it: secrets are write-only. */
export function publicHub(h: Hub, status?: HubStatus): Record<string, unknown> {
  return { id: h.id, name: h.name, url: h.url, default: h.default, username: h.username, email: h.email,
    ...(status ? { status } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bad(message: string, path: string): XcsError {
  return new XcsError('xapi.settings.invalid', message, { status: 400, path });
}

function strOrNull(o: Record<string, unknown>, key: string, errors: XcsError[]): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  errors.push(bad(`"${key}" must be a string`, `/${key}`));
  return null;
}

function boolOf(o: Record<string, unknown>, key: string, dflt: boolean, errors: XcsError[]): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  errors.push(bad(`"${key}" must be true or false`, `/${key}`));
  return dflt;
}

function throwAll(errors: XcsError[]): void {
  if (errors.length === 0) return;
  throw new XcsError('xapi.settings.invalid', `Bad request:\n${errors.map((e) => e.message).join('\n')}`, {
    status: 400, path: errors[0].path, details: errors.map((e) => ({ code: e.code, message: e.message, path: e.path })) });
}

/** Reads a posted server JSON with XNAT's rules (§4.1), collecting every error. */
export function parseServer(body: unknown): DockerServerSettings {
  if (!isRecord(body)) throw bad('the body must be a JSON object describing the container server', '');
  const errors: XcsError[] = [];
  const s = defaultServer();
  const backendRaw = strOrNull(body, 'backend', errors);
  const swarmMode = boolOf(body, 'swarm-mode', false, errors);
  let backend: BackendName = swarmMode ? 'swarm' : 'docker';
  let backendAsked: string = backend;
  if (backendRaw !== null) {
    if (backendRaw === 'docker' || backendRaw === 'swarm' || backendRaw === 'kubernetes' || backendRaw === 'slurm') backend = backendRaw;
    else errors.push(bad(`"backend" must be docker, swarm, slurm or kubernetes, not "${backendRaw}"`, '/backend'));
    if (backendRaw === backend) backendAsked = backendRaw;
  }
  s.backend = backend;
  s['swarm-mode'] = backend === 'swarm';
  s.host = strOrNull(body, 'host', errors) ?? '';
  s.name = strOrNull(body, 'name', errors) || s.host;
  for (const key of ['cert-path', 'path-translation-xnat-prefix', 'path-translation-docker-prefix', 'container-user',
    'gpu-vendor', 'archive-pvc-name', 'build-pvc-name', 'combined-pvc-name', 'archive-path-translation',
    'build-path-translation', 'combined-path-translation'] as const) {
    s[key] = strOrNull(body, key, errors);
  }
  s['pull-images-on-xnat-init'] = boolOf(body, 'pull-images-on-xnat-init', false, errors);
  // XNAT binds these to primitives: omitted means false.
  s['auto-cleanup'] = boolOf(body, 'auto-cleanup', false, errors);
  s['status-email-enabled'] = boolOf(body, 'status-email-enabled', false, errors);
  const mcf = body['max-concurrent-finalizing-jobs'];
  if (mcf !== undefined && mcf !== null) {
    if (typeof mcf === 'number' && Number.isInteger(mcf) && mcf >= 0) s['max-concurrent-finalizing-jobs'] = mcf;
    else errors.push(bad('"max-concurrent-finalizing-jobs" must be a whole number ≥ 0', '/max-concurrent-finalizing-jobs'));
  }
  const constraints = body['swarm-constraints'];
  if (constraints !== undefined && constraints !== null) {
    if (!Array.isArray(constraints)) errors.push(bad('"swarm-constraints" must be a list', '/swarm-constraints'));
    else {
      constraints.forEach((c: unknown, i) => {
        const at = `/swarm-constraints/${i}`;
        if (!isRecord(c)) { errors.push(bad('a constraint must be an object', at)); return; }
        const attribute = typeof c.attribute === 'string' ? c.attribute : '';
        const values = Array.isArray(c.values) ? c.values.filter((v): v is string => typeof v === 'string') : [];
        if (attribute.trim() === '') errors.push(bad('Constraint node attribute cannot be blank', `${at}/attribute`));
        if (values.length === 0 || values.some((v) => v.trim() === '')) errors.push(bad('Constraint values cannot be blank', `${at}/values`));
        const comparator = typeof c.comparator === 'string' ? c.comparator : '==';
        if (comparator !== '==' && comparator !== '!=') errors.push(bad('Constraint comparator must be == or !=', `${at}/comparator`));
        s['swarm-constraints'].push({ id: i + 1, 'user-settable': c['user-settable'] === true || c['user-settable'] === 'true',
          attribute, comparator, values });
      });
    }
  }
  if (backend === 'kubernetes') {
    if (s['container-user'] !== null && !/^-?\d+$/.test(s['container-user'])) {
      errors.push(bad('If set, container user must be a string with integer value with kubernetes backend', '/container-user'));
    }
    if (s['gpu-vendor'] !== null && !/^(nvidia|amd)$/i.test(s['gpu-vendor'])) {
      errors.push(bad('The value of the GPU Vendor can only be nvidia or amd', '/gpu-vendor'));
    }
    if (s['combined-pvc-name'] && (s['archive-pvc-name'] || s['build-pvc-name'])) {
      errors.push(bad('You cannot have a Kubernetes server setup which uses mounts from a PVC with separate and combined locations for build and archive. Please choose one or the other.', '/combined-pvc-name'));
    }
    if (s['combined-path-translation'] && (s['archive-path-translation'] || s['build-path-translation'])) {
      errors.push(bad('You cannot have a Kubernetes server setup which has path translations for both separate and combined locations for build and archive directories. Please choose one or the other.', '/combined-path-translation'));
    }
  } else if (s.host.trim() === '') {
    errors.push(bad(`Host cannot be empty for ${backend} server setting`, '/host'));
  } else if (!/^(unix:\/\/\/|tcp:\/\/|https?:\/\/)/.test(s.host)) {
    errors.push(bad(`Host "${s.host}" must start with unix:///, tcp://, http:// or https://`, '/host'));
  }
  const xp = s['path-translation-xnat-prefix'];
  const dp = s['path-translation-docker-prefix'];
  if ((xp && !dp) || (!xp && dp)) {
    errors.push(bad('Path translation needs both path-translation-xnat-prefix and path-translation-docker-prefix', xp ? '/path-translation-docker-prefix' : '/path-translation-xnat-prefix'));
  }
  Object.assign(s, parseXcsKeys(body, errors), parseSlurmKeys(body, backend, errors));
  refuseUnsupported({ ...s, backend: backendAsked }, errors);
  throwAll(errors);
  return s;
}

function parseQueues(body: unknown): Partial<QueueSettings> {
  if (!isRecord(body)) throw bad('the body must be a map of queue settings', '');
  const out: Partial<QueueSettings> = {};
  const errors: XcsError[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (!(QUEUE_KEYS as readonly string[]).includes(k)) {
      errors.push(bad(`"${k}" is not a queue setting; known: ${QUEUE_KEYS.join(', ')}`, `/${k}`));
      continue;
    }
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) {
      errors.push(bad(`"${k}" must be a whole number from 1 to 1000`, `/${k}`));
      continue;
    }
    out[k as QueueKey] = n;
  }
  throwAll(errors);
  return out;
}

function parseHub(body: unknown, old: Hub | undefined): Hub {
  if (!isRecord(body)) throw new XcsError('xapi.hub.invalid', 'Body was not a valid Docker Hub.', { status: 400, path: '' });
  const errors: XcsError[] = [];
  const hub: Hub = old ? { ...old } : { id: 0, name: '', url: '', default: false, username: null, password: null, email: null, token: null };
  const name = strOrNull(body, 'name', errors);
  const url = strOrNull(body, 'url', errors);
  if (name !== null) hub.name = name;
  if (url !== null) hub.url = url;
  for (const key of ['username', 'password', 'email', 'token'] as const) {
    if (key in body) hub[key] = strOrNull(body, key, errors);
  }
  hub.default = boolOf(body, 'default', hub.default, errors);
  if (hub.name.trim() === '') errors.push(bad('"name" cannot be blank', '/name'));
  else if (/^\d+$/.test(hub.name)) errors.push(bad('"name" cannot be all digits (it would read as an id)', '/name'));
  if (!/^https?:\/\/[^\s/]+/.test(hub.url)) errors.push(bad('"url" must be an http(s) URL of the registry', '/url'));
  throwAll(errors);
  return hub;
}

/** `ping` is null when the host was not checked. */
export interface HubStatus { ping: boolean | null; response: string; message: string }

export { pingServer };

const UNCHECKED: HubStatus = { ping: null, response: 'Unknown', message: 'Not checked; GET /xapi/docker/hubs/{id}/ping logs in to the host' };

/** Registry login through the engine, as XNAT does. */
export async function pingHub(server: DockerServerSettings, hub: Hub, creds: { username?: string; password?: string }): Promise<HubStatus> {
  if (server.backend === 'kubernetes') return { ping: false, response: 'Unknown', message: 'Cannot ping image host in Kubernetes mode.' };
  if (!(await pingServer(server))) return { ping: false, response: 'Error', message: 'Docker server unavailable.' };
  try {
    const login = operationOf(await backendFor(server), 'checkRegistryAuth');
    const r = await withTimeout(login({ serverAddress: hub.url, username: creds.username ?? hub.username ?? '',
      password: creds.password ?? hub.password ?? '' }), 15_000);
    return { ping: r.ok, response: r.ok ? 'OK' : 'Down', message: `Hub response: ${r.status}` };
  } catch (e) {
    return { ping: false, response: 'Error', message: `Hub status check created exception: ${messageOf(e)}` };
  }
}

export interface SettingsRouteDeps {
  settings: SettingsStore;
  access: AccessControl;
}

const idOrName = { type: 'object', properties: { hub: { type: 'string', description: 'hub id (digits) or name' } }, required: ['hub'] };

/** What the OpenAPI document says of the server JSON's XCS keys for the Slurm backend. */
const SERVER_BODY_DOC = 'XNAT\'s server JSON plus XCS keys. `"backend": "slurm"` (XCS addition, takes effect at the next start) runs '
  + 'each container as a Slurm batch job with the allocated node\'s container engine; it needs `slurm-job-root` (an absolute '
  + 'directory the XCS server and every node share at the same path: job scripts, logs and exit records go there, and the '
  + 'archive and build directories must be shared the same way). Optional: `slurm-runner` (`docker` or `podman`, default '
  + '`docker`), `slurm-partition`, `slurm-account`, `slurm-qos` (Slurm names, given to every job), `slurm-user-settable` '
  + '(e.g. `{"partition": ["short", "gpu"]}`: the values users may choose with the launch inputs `slurm-partition`, '
  + '`slurm-account`, `slurm-qos`; any other value is refused at launch), `slurm-runner-local` '
  + '(true when the nodes\' engine is this machine\'s). `host` stays the engine XCS asks about images.';

export function registerSettingsRoutes(app: FastifyInstance, { settings, access }: SettingsRouteDeps): void {
  const tags = ['server'];
  app.get('/xapi/docker/server', { schema: { tags, summary: 'The container server settings, with ping' } }, async () => {
    const server = settings.server();
    return { ...server, ping: await pingServer(server) };
  });
  app.post('/xapi/docker/server', { schema: { tags, summary: 'Set the container server (container managers)', description: SERVER_BODY_DOC,
    body: { type: 'object' } } },
    async (request, reply) => {
      await access.requireContainerManager(request);
      const server = await settings.setServer(request.body);
      return reply.code(201).send({ ...server, ping: await pingServer(server) });
    });
  app.get('/xapi/docker/server/ping', { schema: { tags, summary: 'Ping the container server' } }, async (_request, reply) => {
    const server = settings.server();
    if (!(await pingServer(server))) {
      throw new XcsError('xapi.server.unreachable', `The container server ${server.host} does not answer`, { status: 424,
        path: server.host, hint: 'check that the Docker engine runs and the host setting (POST /xapi/docker/server) is right' });
    }
    return reply.type('text/plain').send('OK');
  });

  // XNAT logs in to every registry to fill `status`; with no registry reachable that is a long wait per hub,
  // so the listings carry the key with an unchecked status and `…/ping` does the check.
  app.get('/xapi/docker/hubs', { schema: { tags, summary: 'Image hosts (no registry is contacted; use .../ping)' } },
    async () => settings.hubs().map((h) => publicHub(h, UNCHECKED)));
  app.get<{ Params: { hub: string } }>('/xapi/docker/hubs/:hub', { schema: { tags, params: idOrName } },
    async (request) => publicHub(settings.hub(request.params.hub), UNCHECKED));
  app.get<{ Params: { hub: string }; Querystring: { username?: string; password?: string } }>('/xapi/docker/hubs/:hub/ping',
    { schema: { tags, params: idOrName, querystring: { type: 'object', properties: { username: { type: 'string' }, password: { type: 'string' } } } } },
    async (request) => pingHub(settings.server(), settings.hub(request.params.hub), request.query));
  const hubQuery = { type: 'object', properties: { default: { type: 'string' }, reason: { type: 'string' } } };
  app.post<{ Querystring: { default?: string } }>('/xapi/docker/hubs', { schema: { tags, querystring: hubQuery, body: { type: 'object' } } },
    async (request, reply) => {
      await access.requireContainerManager(request);
      const hub = await settings.saveHub(request.body, { makeDefault: request.query.default === 'true' });
      return reply.code(201).send(publicHub(hub));
    });
  app.post<{ Params: { hub: string }; Querystring: { default?: string } }>('/xapi/docker/hubs/:hub',
    { schema: { tags, params: idOrName, querystring: hubQuery } },
    async (request) => {
      await access.requireContainerManager(request);
      const old = settings.hub(request.params.hub);
      const noBody = request.body === undefined || request.body === null;
      return publicHub(await settings.saveHub(request.body, { id: old.id, makeDefault: noBody || request.query.default === 'true' }));
    });
  app.delete<{ Params: { hub: string } }>('/xapi/docker/hubs/:hub', { schema: { tags, params: idOrName } }, async (request, reply) => {
    await access.requireContainerManager(request);
    await settings.deleteHub(request.params.hub);
    return reply.code(204).send();
  });

  const queueSchema = { type: 'object', properties: Object.fromEntries(QUEUE_KEYS.map((k) => [k, { type: 'integer' }])) };
  app.get('/xapi/jms_queues', { schema: { tags: ['queues'], summary: 'Concurrency of the staging and finalizing queues', response: { 200: queueSchema } } },
    async (request) => {
      await access.requireContainerManager(request);
      return settings.queues();
    });
  app.post('/xapi/jms_queues', { schema: { tags: ['queues'], summary: 'Set queue concurrency (JSON or form)' } }, async (request) => {
    await access.requireContainerManager(request);
    return settings.setQueues(request.body);
  });
}
