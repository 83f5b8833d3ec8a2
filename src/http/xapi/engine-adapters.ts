/**
 * The management routes over the run engine's own pieces, without reaching into them:
 * - `CommandStoreCatalog`: the registry interface over the engine's command store (a second connection to
 *   the same `runs.sqlite`, which SQLite's WAL mode allows);
 * - `InjectLauncher`: launches through the engine's launch endpoint in-process (`app.inject`) as the user,
 *   with a short-lived alias token, so the engine's checks (enablement, resolution, permissions) apply
 *   unchanged; it reports every run's start and end from the engine's transitions, for orchestrations.
 * The default export is the plugin `buildServer` loads after the engine's.
 */
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { XcsError, messageOf } from '../../core/errors.ts';
import type { Command } from '../../command/model.ts';
import type { UserStore } from '../../archive/users.ts';
import { CommandStore } from '../../runtime/command-store.ts';
import { openRunDatabase, type RunDatabase } from '../../runtime/db.ts';
import type { ServerDeps } from '../server.ts';
import type { BatchRecorder, CommandCatalog, EndedRun, LaunchOutcome, LaunchRequest, Launcher, RunSummary } from './catalog.ts';
import { managementPlugin } from './management.ts';
import { setServerSettings } from './server-stores.ts';
import { engineOf, selectedBackendOf } from './index.ts';
import type { SelectedBackend } from './engine-backend.ts';
import type { BackendKind } from '../../backends/types.ts';
import type { RunEngine } from '../../runtime/engine.ts';
import { toRecord, type RunRecord, type RunRow } from '../../runtime/run-store.ts';
import { isTerminal } from '../../runtime/state-machine.ts';
import { pingServer, type DockerServerSettings, type QueueSettings, type SettingsStore } from './settings.ts';
import { backendFor } from './server-backend.ts';
import { emptyPullReport, pullEnabledImages, type PullReport } from './pull-on-init.ts';
import { backendImageEngine } from './images.ts';
import { siteSettingsOf } from './site-settings-keys.ts';
import { addToBatch, closeBatch, openBatch } from '../../runtime/batches.ts';

export class CommandStoreCatalog implements CommandCatalog {
  readonly #db: RunDatabase;
  readonly #store: CommandStore;

  constructor(db: RunDatabase) {
    this.#db = db;
    this.#store = new CommandStore(db);
  }

  list(): Command[] { return this.#store.list(); }
  get(id: number): Command | undefined { return this.#store.get(id); }
  create(command: Command): Command { return this.#store.register(command); }
  update(id: number, command: Command): { command: Command; removedWrappers: number[] } { return this.#store.update(id, command); }

  delete(id: number): void {
    this.#store.require(id);
    // wrappers and wrapper_projects go with it (ON DELETE CASCADE).
    this.#db.prepare('DELETE FROM commands WHERE id = ?').run(id);
  }

  siteEnabled(wrapperId: number): boolean { return this.#store.enabledForSite(wrapperId); }
  setSiteEnabled(wrapperId: number, enabled: boolean): void { this.#store.setEnabled(wrapperId, enabled, null); }
  projectEnabled(wrapperId: number, project: string): boolean { return this.#store.enabledForProject(wrapperId, project); }
  setProjectEnabled(wrapperId: number, project: string, enabled: boolean): void { this.#store.setEnabled(wrapperId, enabled, project); }

  enabledProjects(wrapperId: number): string[] {
    return (this.#db.prepare('SELECT project FROM wrapper_projects WHERE wrapper_id = ? AND enabled = 1 ORDER BY project')
      .all(wrapperId) as Array<{ project: string }>).map((r) => r.project);
  }
}

const TOKEN_TTL_S = 600;

function summaryOf(run: RunRecord, engine?: RunEngine | null): RunSummary {
  const inputs: Record<string, string> = {};
  for (const v of run.spec['external-wrapper-input-values']) inputs[v.name] = v.value;
  // The retry is scheduled in the same transaction as the failure, so its history item is there by the time
  // anyone hears of the end.
  const retried = run.retriedBy !== null || (engine?.database
    .prepare("SELECT 1 FROM history WHERE run_id = ? AND status = 'Retry scheduled' LIMIT 1").get(run.id) !== undefined);
  return { id: run.id, wrapperId: run.wrapperId, project: run.project, user: run.userId, inputs, retryOf: run.retryOf, retried };
}

export class InjectLauncher implements Launcher {
  readonly #app: FastifyInstance;
  readonly #users: UserStore;
  readonly #engine: RunEngine | null;
  readonly #tokens = new Map<string, { header: string; until: number }>();

  constructor(app: FastifyInstance, users: UserStore, engine: RunEngine | null = null) {
    this.#app = app;
    this.#users = users;
    this.#engine = engine;
  }

  async #auth(login: string): Promise<string> {
    const cached = this.#tokens.get(login);
    if (cached && cached.until > Date.now() + 60_000) return cached.header;
    const t = await this.#users.issueAliasToken(login, TOKEN_TTL_S);
    const header = `Basic ${Buffer.from(`${t.alias}:${t.secret}`).toString('base64')}`;
    this.#tokens.set(login, { header, until: t.expires });
    return header;
  }

  get batches(): BatchRecorder | undefined {
    const db = this.#engine?.database;
    if (!db) return undefined;
    return {
      open: (id, user) => openBatch(db, id, user),
      add: (id, runId) => addToBatch(db, id, runId),
      close: (id) => closeBatch(db, id),
    };
  }

  async launch(request: LaunchRequest): Promise<LaunchOutcome> {
    const root = encodeURIComponent(request.rootElement ?? 'none');
    const url = request.project
      ? `/xapi/projects/${encodeURIComponent(request.project)}/wrappers/${request.wrapperId}/root/${root}/launch`
      : `/xapi/wrappers/${request.wrapperId}/root/${root}/launch`;
    const send = async () => this.#app.inject({ method: 'POST', url, payload: request.inputs,
      headers: { authorization: await this.#auth(request.user.login), 'content-type': 'application/json' } });
    let r = await send();
    if (r.statusCode === 401) {
      // The user's tokens were revoked (password changed): the remembered one is gone, a fresh one works.
      this.#tokens.delete(request.user.login);
      r = await send();
    }
    const body = JSON.parse(r.body || '{}') as { id?: number; message?: string; code?: string; hint?: string; path?: string };
    if (r.statusCode !== 200 || typeof body.id !== 'number') {
      throw new XcsError(body.code ?? 'launch.failed', body.message ?? `launch answered ${r.statusCode}`,
        { status: r.statusCode >= 400 ? r.statusCode : 500, hint: body.hint, path: body.path });
    }
    return { id: body.id };
  }

  /*
   * Both follow the engine's own transitions rather than the runs launched here, so that a run launched by
   * any route (REST, CLI, bulk, automation) starts and chains orchestrations. Listener errors are contained:
   * automation must never break the engine's transition path.
   */
  onRunStart(listener: (run: RunSummary) => void): () => void {
    if (!this.#engine) return () => undefined;
    return this.#engine.store.onTransition((run, item) => {
      if (item?.status !== 'Queued') return;
      try { listener(summaryOf(run, this.#engine)); } catch { /* see above */ }
    });
  }

  runState(id: number): (EndedRun & { terminal: boolean }) | undefined {
    const run = this.#engine?.store.get(id);
    return run ? { ...summaryOf(run, this.#engine), status: run.status, terminal: isTerminal(run.status) } : undefined;
  }

  runsAfter(id: number): RunSummary[] {
    if (!this.#engine) return [];
    // Bounded: only the runs launched right after a step are candidates for its successor.
    const rows = this.#engine.database.prepare('SELECT * FROM runs WHERE id > ? ORDER BY id LIMIT 1000').all(id) as RunRow[];
    return rows.map((r) => summaryOf(toRecord(r)));
  }

  onRunEnd(listener: (run: EndedRun) => void): () => void {
    if (!this.#engine) return () => undefined;
    // A terminal status cannot change again, but a replayed transition must not launch the next step twice.
    const seen = new Set<number>();
    return this.#engine.store.onTransition((run) => {
      if (!isTerminal(run.status) || seen.has(run.id)) return;
      seen.add(run.id);
      if (seen.size > 10_000) seen.delete(seen.values().next().value as number);
      try { listener({ ...summaryOf(run, this.#engine), status: run.status }); } catch { /* see above */ }
    });
  }
}

/**
 * The engine's limits follow the queue settings (`/xapi/jms_queues`): max staging = runs staging, created or
 * running at once; max finalizing = finalizations at once. Limits given in the environment
 * (`XCS_MAX_RUNNING`, `XCS_MAX_FINALIZING`) win at start-up; a change made through the API applies live.
 */
export function followQueueSettings(engine: RunEngine, settings: SettingsStore): () => void {
  let last = settings.queues();
  engine.setLimits({
    maxRunning: process.env.XCS_MAX_RUNNING ? undefined : last.concurrencyMaxStagingQueue,
    maxFinalizing: process.env.XCS_MAX_FINALIZING ? undefined : last.concurrencyMaxFinalizingQueue,
  });
  // onChange also fires for server settings: apply only what changed, so environment limits stay until then.
  return settings.onChange(({ queues }) => {
    engine.setLimits({
      maxRunning: queues.concurrencyMaxStagingQueue !== last.concurrencyMaxStagingQueue ? queues.concurrencyMaxStagingQueue : undefined,
      maxFinalizing: queues.concurrencyMaxFinalizingQueue !== last.concurrencyMaxFinalizingQueue ? queues.concurrencyMaxFinalizingQueue : undefined,
    });
    last = queues;
  });
}

/**
 * New runs follow the server settings (`POST /xapi/docker/server`): their network, user, clean-up, path translation
 * and hardening (`siteSettingsOf`), applied now and on every change; `max-concurrent-finalizing-jobs`, when set,
 * caps the finalizations at once (over the finalizing queue's maximum).
 */
export function followServerSettings(engine: RunEngine, settings: SettingsStore, backend?: SelectedBackend,
  log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): () => void {
  let last = '';
  let capped = false;
  const apply = (server: DockerServerSettings, queues: QueueSettings): void => {
    const now = JSON.stringify(server);
    if (now !== last) {
      engine.setSiteSettings(siteSettingsOf(server));
      // The settings only hold kinds the registry has (others are refused when posted).
      backend?.select(server.backend as BackendKind, server.host).catch((e: unknown) => {
        log(`xcs: the ${server.backend} backend at ${server.host} cannot be used, runs stay on the ${backend.kind} backend: ${messageOf(e)}`);
      });
    }
    last = now;
    const cap = server['max-concurrent-finalizing-jobs'];
    if (cap !== null && cap > 0) {
      engine.setLimits({ maxFinalizing: cap });
      capped = true;
    } else if (capped) {
      // The cap removed: back to the finalizing queue's maximum.
      engine.setLimits({ maxFinalizing: queues.concurrencyMaxFinalizingQueue });
      capped = false;
    }
  };
  apply(settings.server(), settings.queues());
  return settings.onChange(({ server, queues }) => apply(server, queues));
}

/** The latest `pull-images-on-xnat-init` report per server, for `GET /xapi/docker/server/pull-on-init`. */
const pullReports = new WeakMap<object, PullReport>();

export function pullReportOf(server: object): PullReport {
  return pullReports.get(server) ?? emptyPullReport();
}

/** At start-up, when the setting is on and the engine answers, pulls the enabled commands' images and reports. */
function pullOnInit(app: FastifyInstance, catalog: CommandStoreCatalog, settings: SettingsStore): void {
  app.addHook('onListen', async () => {
    const server = settings.server();
    if (!server['pull-images-on-xnat-init'] || !(await pingServer(server))) return;
    // In the background: start-up does not wait for registries.
    void backendFor(server).then((backend) => pullEnabledImages(backendImageEngine(backend), catalog)).then((report) => {
      pullReports.set(app.server, report);
      for (const f of report.failed) app.log.warn(`pull-images-on-xnat-init: could not pull ${f.image}: ${f.message}`);
      if (report.failed.length > 0) {
        process.stderr.write(`xcs: pull-images-on-xnat-init: ${report.failed.length} image(s) could not be pulled: ` +
          `${report.failed.map((f) => f.image).join(', ')} (GET /xapi/docker/server/pull-on-init)\n`);
      }
    });
  });
}

/** The management plugin wired to the engine's registry and launch endpoint (what `xcs serve` runs). */
export const serverManagementPlugin: FastifyPluginAsync<ServerDeps> = async (app, deps) => {
  if (!deps.embedded) return;
  const db = openRunDatabase(join(deps.embedded.dataDir, 'runs.sqlite'));
  const engine = engineOf(app.server);
  const launcher = new InjectLauncher(app, deps.users, engine ?? null);
  app.addHook('onClose', async () => {
    db.close();
  });
  const catalog = new CommandStoreCatalog(db);
  await managementPlugin({ catalog, launcher,
    onOpen: (stores) => {
      setServerSettings(app.server, stores.settings);
      if (!engine) return;
      followQueueSettings(engine, stores.settings);
      followServerSettings(engine, stores.settings, selectedBackendOf(app.server), (m) => app.log.error(m));
      pullOnInit(app, catalog, stores.settings);
      app.get('/xapi/docker/server/pull-on-init', { schema: { tags: ['server'],
        summary: 'What pull-images-on-xnat-init pulled at start-up, found present, or could not pull (container managers)' } },
      async (request) => {
        await stores.access.requireContainerManager(request);
        return pullReportOf(app.server);
      });
    } })(app, deps);
};

export default serverManagementPlugin;
