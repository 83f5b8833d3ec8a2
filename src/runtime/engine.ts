/**
 * The run engine: launches resolved commands through a durable queue, follows their containers, saves
 * their logs, finalizes their outputs, and survives restarts. See ARCHITECTURE.md ("Run engine").
 *
 * Public API: `RunEngine.open(...)`, then `start()`; `submit()` records a resolved run, `kill()`,
 * `finalize()`, `get()/find()/list()/history()`, log access, `waitForEnd()`; `stop()` at shutdown.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StagingChooser } from '../archive/staging.ts';
import type { ContainerBackend } from '../backends/types.ts';
import { XcsError } from '../core/errors.ts';
import { cleanupRun } from './recovery/cleanup.ts';
import { containerNamePattern, engineConfig, type EngineConfig, type EngineOptions } from './settings/config.ts';
import { openRunDatabase, type RunDatabase } from './store/db.ts';
import { EventFollower } from './follow/event-follower.ts';
import { describe } from './store/failures.ts';
import { runFinalizeJob } from './finalize/finalizer-orchestration.ts';
import { killRun } from './follow/killer.ts';
import { followLog, logEntry, logSince, readLog, type ContainerStream, type LogSince, type LogStream } from './follow/logs.ts';
import type { CredentialPort, ObjectInventoryPort, OutputFinalizerPort } from './ports.ts';
import { recordLaunch } from './provenance/provenance.ts';
import { ProvenanceStore } from './provenance/provenance-store.ts';
import { JobQueue } from './store/queue.ts';
import { reconcile, type ReconcileReport } from './recovery/reconciler.ts';
import { ReplicaCoordinator } from './replicas/replica-coordinator.ts';
import { thisReplica } from './replicas/replicas.ts';
import { consoleLogger, type EngineLogger, type EngineResources } from './resources.ts';
import type { RunSpec } from './store/run-spec.ts';
import { runNotFound, RunStore, type HistoryItem, type RunFilter, type RunRecord } from './store/run-store.ts';
import { runStagingJob } from './staging/starter.ts';
import { SqliteRunStateStore, type RunStateStore } from './store/run-state-store.ts';
import { ACTIVE_STATUSES, isTerminal } from './store/state-machine.ts';
import { Dispatcher, stagingSlots } from './workers.ts';
import { runRetryJob } from './retry/retrier.ts';
import type { RunPolicy } from './retry/retry-policy.ts';
import { Watchdog } from './follow/watchdog.ts';
import type { SecretSource } from './secrets/command-secrets.ts';
import type { RegistryAuthSource } from './secrets/registry-auth.ts';
import { checkIsolation } from './settings/isolation.ts';
import { snapshotFor, type SiteSettings } from './settings/site-settings.ts';
import { StatusFeed } from './store/status-events.ts';

export interface EngineDeps {
  backend: ContainerBackend;
  credentials: CredentialPort;
  outputs: OutputFinalizerPort;
  /** For provenance records of archive inputs and outputs (`archive-adapters/inventory.ts`). */
  inventory?: ObjectInventoryPort;
  /** Where command secrets are read; without it a command with secrets fails to start. */
  secrets?: SecretSource;
  /** The image hubs' credentials for the containers' images (a swarm's nodes pull with them). */
  registryAuth?: RegistryAuthSource;
  /** How archive files reach containers: the archive's staging strategy for a run's `archive-staging` (bind or copy). */
  staging?: StagingChooser;
  log?: EngineLogger;
  /**
   * The run database (`{dataDir}/runs.sqlite`) when the caller opened it (the composition root shares it with the
   * command registry); it stays the caller's to close. Without it the engine opens and closes its own.
   */
  database?: RunDatabase;
}

export class RunEngine {
  readonly config: EngineConfig;
  readonly store: RunStore;
  readonly queue: JobQueue;
  /** Every committed status change, numbered (live stream, metrics, notifications). */
  readonly feed: StatusFeed;
  /** Run state behind its interface (what http and the launcher use; the workers use `store` and `queue`). */
  readonly state: RunStateStore;
  private readonly db: RunDatabase;
  private readonly ownsDb: boolean;
  private readonly res: EngineResources;
  private readonly follower: EventFollower;
  private readonly staging: Dispatcher;
  private readonly finalizing: Dispatcher;
  private readonly retrying: Dispatcher;
  private readonly watchdog: Watchdog;
  /** Heartbeat, dead replicas' leases, and the events lease that decides which replica follows the engine. */
  readonly replicas: ReplicaCoordinator;
  private readonly unsubscribe: Array<() => void> = [];
  private reconcileTimer: NodeJS.Timeout | null = null;
  private started = false;
  private workersStarted = false;
  /** The report of the reconciliation this replica ran when it took the events lease (none while it does not hold it). */
  private leadReport: ReconcileReport = { removedUnknown: 0, exited: 0, vanished: 0, cleaned: 0 };
  private readonly cleanups = new Set<Promise<void>>();
  private readonly takeoverListeners = new Set<() => void>();

  private constructor(config: EngineConfig, deps: EngineDeps) {
    this.config = config;
    mkdirSync(join(config.dataDir, 'runs'), { recursive: true });
    this.ownsDb = deps.database === undefined;
    this.db = deps.database ?? openRunDatabase(join(config.dataDir, 'runs.sqlite'));
    this.queue = new JobQueue(this.db);
    this.store = new RunStore(this.db, this.queue);
    this.feed = new StatusFeed(this.db, this.store);
    this.state = new SqliteRunStateStore(this.store, this.queue);
    const replica = thisReplica();
    this.res = {
      config, store: this.store, queue: this.queue, backend: deps.backend, credentials: deps.credentials,
      outputs: deps.outputs, provenance: new ProvenanceStore(this.db), ...(deps.inventory ? { inventory: deps.inventory } : {}),
      ...(deps.secrets ? { secrets: deps.secrets } : {}), ...(deps.registryAuth ? { registryAuth: deps.registryAuth } : {}),
      ...(deps.staging ? { staging: deps.staging } : {}),
      log: deps.log ?? consoleLogger, owner: replica.id,
    };
    this.follower = new EventFollower(this.res);
    this.staging = new Dispatcher(this.res, 'stage', runStagingJob, stagingSlots(this.res));
    this.finalizing = new Dispatcher(this.res, 'finalize', runFinalizeJob,
      () => ({ free: config.maxFinalizing - this.finalizing.activeCount, resume: [] }));
    this.retrying = new Dispatcher(this.res, 'retry', async (res, id) => { await runRetryJob(res, id); },
      () => ({ free: Infinity, resume: [] }));
    this.watchdog = new Watchdog(this.res);
    this.replicas = new ReplicaCoordinator(this.res, this.db, replica, {
      onLead: async () => {
        // Subscribe before reconciling so that nothing happening in between is missed; the reconciliation catches
        // up on what happened while no replica followed (the previous holder died, or none ran).
        this.follower.start();
        this.leadReport = await reconcile(this.res);
        this.watchdog.start();
        this.announceTakeover();
      },
      onFollow: async () => { await this.follower.stop(); },
      onPeerLost: () => {
        reconcile(this.res).catch((e: unknown) => this.res.log.warn(`reconciliation failed: ${describe(e)}`));
        this.announceTakeover();
      },
      onBeat: () => {
        if (!this.workersStarted) return;
        this.staging.pump();
        this.finalizing.pump();
        this.retrying.pump();
      },
    });
  }

  /**
   * Calls `listener` when this replica takes over for others: it took the events lease, or, holding it, found a
   * replica dead. What a dead replica left half done outside the engine (an orchestration's next step) resumes then.
   */
  onTakeover(listener: () => void): () => void {
    this.takeoverListeners.add(listener);
    return () => this.takeoverListeners.delete(listener);
  }

  private announceTakeover(): void {
    for (const l of this.takeoverListeners) l();
  }

  static open(options: EngineOptions, deps: EngineDeps): RunEngine {
    return new RunEngine(engineConfig(options), deps);
  }

  /** The engine's database, shared with the command registry (`CommandStore`). */
  get database(): RunDatabase {
    return this.db;
  }

  get resources(): EngineResources {
    return this.res;
  }

  /** What was recorded about each run's image, inputs and outputs (append-only). */
  get provenance(): ProvenanceStore {
    return this.res.provenance;
  }

  /**
   * Joins the replicas on this database (taking back the leases of dead ones), follows the engine's events and
   * reconciles when this replica holds the events lease, then starts the workers. Returns the reconciliation's
   * report (all zero when another replica follows the events).
   */
  async start(): Promise<ReconcileReport> {
    if (this.started) throw new XcsError('engine.started', 'The run engine is already started');
    this.started = true;
    await this.replicas.start();
    const report = this.leadReport;
    const dispatchers = { stage: this.staging, finalize: this.finalizing, retry: this.retrying };
    this.unsubscribe.push(this.queue.onEnqueue((q) => dispatchers[q].pump()));
    this.unsubscribe.push(this.store.onTransition((run) => {
      this.watchdog.observe(run);
      if (isTerminal(run.status)) {
        const p = cleanupRun(this.res, run).finally(() => this.cleanups.delete(p));
        this.cleanups.add(p);
      }
      // A run leaving the active statuses frees a staging slot. (Finalization slots are freed by finishing jobs, and
      // new jobs announce themselves: neither needs a status change to be noticed.)
      if (!(ACTIVE_STATUSES as readonly string[]).includes(run.status)) this.staging.pump();
    }));
    this.reconcileTimer = setInterval(() => {
      // One replica reconciles (the one following the events); reconciling from several at once is safe, only wasted.
      if (!this.replicas.leading) return;
      reconcile(this.res).catch((e: unknown) => this.res.log.warn(`reconciliation failed: ${describe(e)}`));
      this.watchdog.sweep();
    }, this.config.reconcileIntervalMs);
    this.reconcileTimer.unref();
    this.watchdog.start();
    this.workersStarted = true;
    this.staging.pump();
    this.finalizing.pump();
    this.retrying.pump();
    return report;
  }

  async stop(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.staging.stop();
    await this.finalizing.stop();
    await this.retrying.stop();
    await this.watchdog.stop();
    // Gives the events lease and the leases of jobs still paused back, so another replica goes on at once.
    if (this.started) await this.replicas.stop();
    await this.follower.stop();
    await Promise.allSettled([...this.cleanups]);
    this.feed.close();
    if (this.ownsDb) this.db.close();
  }

  /**
   * Changes the concurrency limits while running (server queue settings). Raising a limit starts waiting
   * runs at once; lowering it lets the runs in progress finish and starts no more until under the limit.
   */
  setLimits(limits: { maxRunning?: number; maxFinalizing?: number }): void {
    if (limits.maxRunning !== undefined) this.config.maxRunning = limits.maxRunning;
    if (limits.maxFinalizing !== undefined) this.config.maxFinalizing = limits.maxFinalizing;
    if (!this.started) return;
    this.staging.pump();
    this.finalizing.pump();
  }

  /**
   * Replaces the site settings new runs are made with (server settings); runs already launched keep theirs.
   */
  setSiteSettings(site: SiteSettings): void {
    this.config.site = structuredClone(site);
  }

  /**
   * Records a resolved run (`Queued`) and queues it for staging. `policy` is the command's retry policy and time
   * limit (`compileRunPolicy`); `relaunchOf` the run a relaunch repeats.
   */
  submit(spec: RunSpec, userId: string, project: string | null, buildDir: string | null = null,
    opts: { policy?: RunPolicy; relaunchOf?: number | null } = {}): RunRecord {
    // Options that weaken isolation are refused before anything is recorded, naming the setting that allows them.
    checkIsolation(spec, this.config.site);
    const settings = snapshotFor(this.config.site, this.config.serverUrl());
    const run = this.store.create({
      spec, userId, project, buildDir, containerNamePattern: containerNamePattern(this.config), ...opts, settings,
    });
    recordLaunch(this.res, run);
    return run;
  }

  get(id: number): RunRecord | undefined {
    return this.store.get(id);
  }

  /** By run id, container id or container name; 404 when none. */
  find(key: string): RunRecord {
    const run = this.store.find(key);
    if (!run) throw runNotFound(key);
    return run;
  }

  list(filter?: RunFilter): RunRecord[] {
    return this.store.list(filter);
  }

  history(id: number): HistoryItem[] {
    return this.store.history(id);
  }

  kill(id: number, user: string): Promise<RunRecord> {
    return killRun(this.res, id, user);
  }

  /** Forced (re-)finalization: queues the run's finalization again if it is not terminal. */
  /**
   * Forces finalization: of a run whose container is still there (XNAT's forced finalization), or again of a
   * run whose upload failed (`Failed (Upload)`: the upload is retried from the kept outputs).
   */
  finalize(id: number, user = 'system'): RunRecord {
    const run = this.store.require(id);
    if (run.status === 'Failed (Upload)' && this.store.reopenForFinalization(id, user)) return this.store.require(id);
    if (isTerminal(run.status)) {
      throw new XcsError('run.already-finished', `Run ${id} already ended (${run.status})`, { path: String(id),
        hint: 'only a run that ended Failed (Upload) can be finalized again; relaunch the others' });
    }
    if (run.status === 'Created' || run.status === 'Running') {
      this.store.transition(id, 'Waiting', { source: 'user', message: 'Finalization forced', enqueue: 'finalize' });
    } else {
      this.queue.enqueue('finalize', id);
    }
    return this.store.require(id);
  }

  readLog(run: RunRecord, stream: LogStream): Promise<string> {
    return readLog(this.res, run, stream);
  }

  /** A stream's log for a zip of the run's logs; null when it holds nothing. */
  logEntry(run: RunRecord, stream: ContainerStream): ReturnType<typeof logEntry> {
    return logEntry(this.res, run, stream);
  }

  followLog(run: RunRecord, stream: LogStream, signal?: AbortSignal): AsyncGenerator<string> {
    return followLog(this.res, run, stream, signal);
  }

  logSince(run: RunRecord, stream: LogStream, since: Date | null): Promise<LogSince> {
    return logSince(this.res, run, stream, since);
  }

  /** Resolves with the run once it is terminal. */
  waitForEnd(id: number, signal?: AbortSignal): Promise<RunRecord> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const run = this.store.get(id);
        if (!run) { reject(runNotFound(id)); return true; }
        if (isTerminal(run.status)) { resolve(run); return true; }
        return false;
      };
      if (check()) return;
      const off = this.store.onTransition((run) => {
        if (run.id === id && check()) off();
      });
      signal?.addEventListener('abort', () => { off(); reject(signal.reason); }, { once: true });
    });
  }

  reconcileNow(): Promise<ReconcileReport> {
    return reconcile(this.res);
  }
}
