/**
 * The Slurm backend: each container is a batch job that runs it with the allocated node's container engine
 * (see `job-script.ts`). Created = the job's directory written (script, environment, sbatch options), started =
 * submitted. The backend id is the container's name (the job's name): known before the job exists, so a
 * restarted XCS finds a job it submitted just before crashing; the Slurm job id is `jobOf(id).jobId`.
 *
 * Status comes from one `squeue` query for all of this process's active jobs at an interval, plus an immediate
 * query after each thing XCS does to a job (submit, release, cancel) — never one query per run. What the job
 * recorded on the shared file system (when its container started, how it ended) completes what Slurm says.
 * Images are asked of an engine XCS can reach that sees the nodes' images (on a one-machine cluster, the local
 * engine); the runner on the nodes must have the same images.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { XcsError } from '../../core/errors.ts';
import {
  BackendErrorCode,
  XCS_LABELS,
  type BackendCapabilities,
  type BackendEvent,
  type BackendEventStatus,
  type ContainerBackend,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  type EngineVersion,
  type EventOptions,
  type EventSubscription,
  type ImageInfo,
  type ImageSummary,
  type KillCause,
  type LogOptions,
  type WaitOptions,
} from '../types.ts';
import { viewOf, type JobView } from './container-state.ts';
import { JobDirs, type JobMeta } from './job-dir.ts';
import { JobEventSubscription } from './job-events.ts';
import { checkJobName, envFileOf, jobScript, sbatchArgs, type SlurmPlacement } from './job-script.ts';
import { phaseOf } from './job-states.ts';
import { readLogFile } from './log-file.ts';
import type { SlurmClient } from './slurm-cli.ts';
import type { SlurmJob } from './squeue.ts';

export interface SlurmBackendParts {
  client: SlurmClient;
  /** Answers image questions (inspect, list) for the images the nodes' runner has. */
  images: Pick<ContainerBackend, 'inspectImage' | 'listImages' | 'ping' | 'close'> & Partial<Pick<ContainerBackend, 'engineVersion'>>;
  /** The job directories' root, on a file system the XCS server and every node share at the same path. */
  jobRoot: string;
  /** The node's container engine CLI (`docker`; `podman` takes the same arguments). */
  runner?: string;
  /** Partition, account, QoS and time limit for every job unless a run says otherwise. */
  placement?: SlurmPlacement;
  /** How often the active jobs are queried (default 1000 ms). */
  pollIntervalMs?: number;
  /**
   * The nodes' engine is reachable from the XCS server with `runner` (a one-machine cluster): a kill or a
   * removal then also removes the container directly, in case the job could not (its node lost its slurmd).
   */
  runnerReachable?: boolean;
}

/** A job this process knows, and what it has told event subscribers and waiters about it. */
interface Tracked {
  name: string;
  /** Null until submitted. */
  jobId: string | null;
  labels: Record<string, string>;
  view: JobView | null;
  emitted: Set<BackendEventStatus>;
  killRequested: boolean;
  waiters: Set<(view: JobView) => void>;
  /** The pending reason last told to subscribers (told again when it changes). */
  waitingFor: string | null;
}

interface StoredMeta extends JobMeta {
  /** Mount sources, checked again when the job is submitted. */
  mounts: string[];
  /** The `sbatch` arguments, computed at create. */
  submit: string[];
}

/** Where a job is in Slurm: for the run's record (`service-id`, `node-id`) and for people (why it waits). */
export interface JobInfo {
  jobId: string | null;
  node: string | null;
  pending: JobView['pending'];
  slurmEnd: JobView['slurmEnd'];
}

const COMMENT_PREFIX = 'xcs:';
const NOTHING_RECORDED = { started: null, exit: null, error: null };

function notFound(id: string): XcsError {
  return new XcsError(BackendErrorCode.notFound, `No Slurm job of XCS named ${id}`, { path: id });
}

function missing(backendId: string): ContainerState {
  return { backendId, status: 'missing', exitCode: null, oomKilled: false, startedAt: null, finishedAt: null };
}

function createdView(name: string): JobView {
  return {
    state: { backendId: name, status: 'created', exitCode: null, oomKilled: false, startedAt: null, finishedAt: null },
    phase: 'created', node: null, pending: null, slurmEnd: null,
  };
}

export class SlurmBackend implements ContainerBackend {
  readonly kind = 'slurm' as const;
  readonly capabilities: BackendCapabilities = {
    separateStderr: true,
    oomDetection: true,
    hostNetwork: true,
    ulimits: true,
    gpus: true,
    logTimestamps: false,
  };
  readonly dirs: JobDirs;
  private readonly client: SlurmClient;
  private readonly runner: string;
  private readonly pollIntervalMs: number;
  private readonly byName = new Map<string, Tracked>();
  private readonly subscriptions = new Set<JobEventSubscription>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private closed = false;

  constructor(private readonly parts: SlurmBackendParts) {
    this.client = parts.client;
    this.dirs = new JobDirs(parts.jobRoot);
    this.runner = parts.runner ?? 'docker';
    this.pollIntervalMs = parts.pollIntervalMs ?? 1000;
  }

  async ping(): Promise<void> {
    await this.client.ping();
    await this.parts.images.ping();
  }

  inspectImage(ref: string): Promise<ImageInfo | null> {
    return this.parts.images.inspectImage(ref);
  }

  listImages(): Promise<ImageSummary[]> {
    return this.parts.images.listImages();
  }

  async engineVersion(): Promise<EngineVersion> {
    const [slurm, engine] = await Promise.all([this.client.version(), this.parts.images.engineVersion?.()]);
    return { name: `slurm+${engine?.name ?? this.runner}`, version: `${slurm}/${engine?.version ?? 'unknown'}`,
      apiVersion: engine?.apiVersion ?? '', os: engine?.os ?? 'linux', arch: engine?.arch ?? '' };
  }

  /** The Slurm job behind a container: its id, node, and why it waits or how Slurm ended it. */
  async jobOf(backendId: string): Promise<JobInfo | null> {
    const t = await this.lookup(backendId);
    if (t === null) return null;
    const view = await this.refresh(t);
    return { jobId: t.jobId, node: view.node, pending: view.pending, slurmEnd: view.slurmEnd };
  }

  async create(spec: ContainerSpec): Promise<{ backendId: string; name: string }> {
    const name = spec.name ?? `xcs-${randomUUID()}`;
    checkJobName(name);
    const full = { ...spec, name };
    // Everything that can be refused is refused before anything is written.
    const files = this.dirs.files(name);
    const envFile = envFileOf(spec.environment);
    const script = jobScript(full, files, this.runner);
    const comment = `${COMMENT_PREFIX}${spec.labels[XCS_LABELS.instance] ?? ''}:${spec.labels[XCS_LABELS.runId] ?? ''}`;
    // The run's own partition/account/QoS (chosen at launch among the site's allowed ones) over the server's.
    const submit = sbatchArgs(full, files, { ...this.parts.placement, ...spec.placement?.scheduler }, comment);
    if ((await this.parts.images.inspectImage(spec.image)) === null) {
      throw new XcsError(BackendErrorCode.imageMissing, `The image ${spec.image} is not on the cluster's engine`, {
        path: spec.image, hint: 'Build or load it on every node (XCS never pulls implicitly)',
      });
    }
    this.checkMountSources(spec.mounts.map((m) => m.hostPath));
    if (!(await this.dirs.claim(name)) && (await this.dirs.exists(name))) {
      // (A directory without meta.json is a create interrupted by a crash: it is taken over.)
      throw new XcsError(BackendErrorCode.nameConflict, `A Slurm job of XCS named ${name} exists already`, { path: name });
    }
    const meta: StoredMeta = {
      name, image: spec.image, labels: { ...spec.labels, [XCS_LABELS.managed]: 'true' }, created: new Date().toISOString(),
      mounts: spec.mounts.map((m) => m.hostPath), submit,
    };
    await this.dirs.write(name, 'env', envFile, 0o600);
    await this.dirs.write(name, 'job.sh', script, 0o700);
    // Last: the directory counts as a container once its meta.json exists.
    await this.dirs.writeMeta(meta);
    const t = this.track(name, null, meta.labels);
    t.view = createdView(name);
    this.emit(t, 'created');
    return { backendId: name, name };
  }

  async start(backendId: string): Promise<void> {
    const t = await this.lookup(backendId);
    if (t === null) throw notFound(backendId);
    if (t.jobId !== null) return; // submitted already
    const meta = (await this.dirs.meta(t.name)) as StoredMeta | null;
    if (meta === null) throw notFound(backendId);
    if ((await this.dirs.record(t.name)).error === 'killed-before-start') return;
    this.checkMountSources(meta.mounts);
    const jobId = await this.client.submit(meta.submit);
    t.jobId = jobId;
    await this.dirs.write(t.name, 'job-id', `${jobId}\n`, 0o600);
    this.poke();
  }

  async wait(backendId: string, options: WaitOptions = {}): Promise<ContainerState> {
    const t = await this.lookup(backendId);
    if (t === null) return missing(backendId);
    const now = await this.refresh(t);
    if (now.phase === 'ended' || now.phase === 'created') return now.state;
    const ended = new Promise<JobView>((resolve, reject) => {
      const done = (view: JobView): void => {
        options.signal?.removeEventListener('abort', aborted);
        resolve(view);
      };
      const aborted = (): void => {
        t.waiters.delete(done);
        reject(options.signal?.reason ?? new Error('aborted'));
      };
      if (options.signal?.aborted === true) {
        aborted();
        return;
      }
      options.signal?.addEventListener('abort', aborted, { once: true });
      t.waiters.add(done);
    });
    this.schedule();
    return (await ended).state;
  }

  async inspect(backendId: string): Promise<ContainerState> {
    const t = await this.lookup(backendId);
    if (t === null) return missing(backendId);
    return (await this.refresh(t)).state;
  }

  /**
   * The job script re-reads the engine's OOM flag before it removes the container, but Docker 20.10 can set it
   * after the exit under load. A memory-limited container that got a SIGKILL nobody asked for (no cancel, no
   * time limit, no node failure) is then taken as out of memory, as the Docker backend does.
   */
  async settleKill(backendId: string, options: { memoryLimited: boolean }): Promise<KillCause> {
    const t = await this.lookup(backendId);
    if (t === null) return 'removed';
    const view = await this.refresh(t);
    if (view.state.oomKilled) return 'oom';
    const otherCause = t.killRequested || (view.slurmEnd !== null && view.slurmEnd.code !== 'oom');
    return options.memoryLimited && !otherCause ? 'oom' : 'unknown';
  }

  async kill(backendId: string, signal = 'SIGKILL'): Promise<void> {
    const t = await this.lookup(backendId);
    if (t === null) throw notFound(backendId);
    const view = await this.refresh(t);
    if (view.phase === 'ended') return;
    const sig = signal.toUpperCase().replace(/^SIG/, '');
    if (!/^[A-Z0-9]+$/.test(sig)) throw new XcsError(BackendErrorCode.invalidSpec, `"${signal}" is not a signal name`);
    t.killRequested = true;
    if (t.jobId === null) {
      // Never submitted: it ends here, as a SIGKILL would have ended it.
      await this.dirs.write(t.name, 'error', 'killed-before-start\n', 0o600);
      await this.settle(t, null);
      return;
    }
    await this.dirs.write(t.name, 'kill-signal', `${sig}\n`, 0o600);
    // The job's trap stops the container with that signal, records how it ended and removes it.
    await this.client.cancel(t.jobId);
    this.poke();
  }

  async remove(backendId: string): Promise<void> {
    const t = await this.lookup(backendId);
    if (t === null) return;
    const view = await this.refresh(t);
    if (view.phase !== 'ended' && t.jobId !== null) {
      t.killRequested = true;
      await this.client.cancel(t.jobId);
      await this.untilEnded(t, 15_000);
    }
    if (this.parts.runnerReachable === true) await this.removeOnNode(t.name);
    this.byName.delete(t.name);
    await this.dirs.remove(t.name);
  }

  logs(backendId: string, options: LogOptions): AsyncIterable<Buffer> {
    const lookup = (): Promise<Tracked | null> => this.lookup(backendId);
    const ended = async (t: Tracked): Promise<boolean> => (await this.refresh(t)).phase === 'ended';
    const dirs = this.dirs;
    return {
      async *[Symbol.asyncIterator]() {
        const t = await lookup();
        if (t === null) throw notFound(backendId);
        const files = dirs.files(t.name);
        yield* readLogFile(options.stream === 'stdout' ? files.stdout : files.stderr, {
          follow: options.follow === true,
          signal: options.signal,
          ended: () => ended(t),
        });
      },
    };
  }

  events(options: EventOptions = {}): EventSubscription {
    const sub = new JobEventSubscription({ ...options.labels }, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(sub);
    return sub;
  }

  async list(options: { labels?: Record<string, string> } = {}): Promise<ContainerSummary[]> {
    const wanted = { ...options.labels, [XCS_LABELS.managed]: 'true' };
    const found: { meta: JobMeta; t: Tracked }[] = [];
    for (const name of await this.dirs.names()) {
      const meta = await this.dirs.meta(name);
      if (meta === null || Object.entries(wanted).some(([k, v]) => meta.labels[k] !== v)) continue;
      let t = this.byName.get(name);
      try {
        t ??= this.track(name, (await this.dirs.jobId(name)) ?? (await this.adopt(name)), meta.labels);
      } catch (e) {
        // Removed meanwhile (another process cleaned the run up): not there to list.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      found.push({ meta, t });
    }
    // One query for every listed job Slurm may still be running.
    const ids = found.filter((f) => f.t.jobId !== null && f.t.view?.phase !== 'ended').map((f) => f.t.jobId as string);
    const jobs = new Map((await this.client.jobs(ids)).map((j) => [j.jobId, j]));
    const out: ContainerSummary[] = [];
    for (const { meta, t } of found) {
      const view = t.jobId === null ? await this.refresh(t) : await this.settle(t, jobs.get(t.jobId) ?? null);
      out.push({ backendId: t.name, name: t.name, image: meta.image, labels: meta.labels, status: view.state.status });
    }
    this.schedule();
    return out;
  }

  async findByName(name: string): Promise<ContainerSummary | null> {
    const t = await this.lookup(name);
    if (t === null) return null;
    const meta = await this.dirs.meta(name);
    if (meta === null) return null;
    const view = await this.refresh(t);
    this.schedule();
    return { backendId: name, name, image: meta.image, labels: meta.labels, status: view.state.status };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const s of [...this.subscriptions]) s.close();
    await this.polling;
    await this.parts.images.close();
  }

  /** A job submitted by a start that crashed before it wrote the job id: found by its name in Slurm. */
  private async adopt(name: string): Promise<string | null> {
    const jobs = (await this.client.jobsNamed(name)).filter((j) => j.comment.startsWith(COMMENT_PREFIX));
    const job = jobs.at(-1);
    if (job === undefined) return null;
    await this.dirs.write(name, 'job-id', `${job.jobId}\n`, 0o600);
    return job.jobId;
  }

  private checkMountSources(sources: string[]): void {
    for (const source of sources) {
      if (!existsSync(source)) {
        throw new XcsError(BackendErrorCode.mountMissing, `The mount source ${source} does not exist`, {
          path: source, hint: 'Mount sources must be on the file system the XCS server shares with the nodes',
        });
      }
    }
  }

  private track(name: string, jobId: string | null, labels: Record<string, string>): Tracked {
    let t = this.byName.get(name);
    if (t === undefined) {
      t = { name, jobId, labels, view: null, emitted: new Set(), killRequested: false, waiters: new Set(), waitingFor: null };
      this.byName.set(name, t);
    }
    return t;
  }

  /** The job of a container name: known to this process, or found in the job directories (after a restart). */
  private async lookup(backendId: string): Promise<Tracked | null> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(backendId)) return null;
    const meta = await this.dirs.meta(backendId);
    if (meta === null) {
      this.byName.delete(backendId);
      return null;
    }
    const known = this.byName.get(backendId);
    if (known !== undefined) return known;
    return this.track(backendId, (await this.dirs.jobId(backendId)) ?? (await this.adopt(backendId)), meta.labels);
  }

  /** Asks Slurm about this one job now (an event XCS caused, or a caller that needs the state now). */
  private async refresh(t: Tracked): Promise<JobView> {
    if (t.view?.phase === 'ended') return t.view;
    if (t.jobId === null) {
      const record = await this.dirs.record(t.name);
      return record.error === null ? (t.view = createdView(t.name)) : this.settle(t, null);
    }
    const [job] = await this.client.jobs([t.jobId]);
    return this.settle(t, job ?? null);
  }

  /** Takes what Slurm said of a job, completes it from the job's files, and tells subscribers and waiters. */
  private async settle(t: Tracked, job: SlurmJob | null): Promise<JobView> {
    if (t.view?.phase === 'ended') return t.view;
    const record = job === null || phaseOf(job.state) === 'ended' ? await this.dirs.record(t.name) : NOTHING_RECORDED;
    const view = { ...viewOf(t.jobId ?? t.name, job, record, t.killRequested) };
    view.state = { ...view.state, backendId: t.name };
    t.view = view;
    if (view.pending !== null && view.pending.text !== t.waitingFor && !view.pending.text.endsWith('(None)')) {
      t.waitingFor = view.pending.text;
      t.emitted.delete('waiting');
      this.emit(t, 'waiting', view);
    }
    if (view.phase === 'running' && job?.state === 'RUNNING') this.emit(t, 'started', view);
    // A job found active (after a restart, by inspect or list) is watched from now on.
    if (view.phase === 'pending' || view.phase === 'running') this.schedule();
    if (view.phase === 'ended') {
      if (record.started !== null || record.exit !== null) this.emit(t, 'started', view);
      if (view.state.oomKilled) this.emit(t, 'oom', view);
      if (t.killRequested) this.emit(t, 'killed', view);
      this.emit(t, 'died', view);
      for (const w of t.waiters) w(view);
      t.waiters.clear();
    }
    return view;
  }

  private emit(t: Tracked, status: BackendEventStatus, view?: JobView): void {
    if (t.emitted.has(status)) return;
    t.emitted.add(status);
    const event: BackendEvent = { backendId: t.name, name: t.name, status, time: new Date(), labels: t.labels, raw: view ?? null };
    if (status === 'died') event.exitCode = view?.state.exitCode ?? null;
    if (status === 'killed') event.signal = 'SIGKILL';
    if (status === 'started' && t.jobId !== null) event.placement = { serviceId: t.jobId, nodeId: view?.node ?? null };
    if (status === 'waiting' && view?.pending) event.waiting = { reason: view.pending.text, hint: view.pending.hint };
    // A cancel XCS asked for is a kill, not a cause to report.
    if (status === 'died' && view?.slurmEnd && !(view.slurmEnd.code === 'cancelled' && t.killRequested)) event.cause = { ...view.slurmEnd };
    for (const s of this.subscriptions) s.offer(event);
  }

  private async untilEnded(t: Tracked, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.refresh(t)).phase === 'ended') return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private removeOnNode(name: string): Promise<void> {
    return new Promise((resolve) => {
      execFile(this.runner, ['rm', '-f', name], { timeout: 30_000 }, () => resolve());
    });
  }

  /** An immediate status query of all active jobs (coalesced with one in flight). */
  private poke(): void {
    if (this.closed) return;
    if (this.polling !== null) {
      this.pollAgain = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.polling = this.pollOnce().finally(() => {
      this.polling = null;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.poke();
      } else {
        this.schedule();
      }
    });
  }

  /** The next periodic query, while any submitted job is still active. */
  private schedule(): void {
    if (this.closed || this.timer !== null || this.polling !== null) return;
    if (!this.activeJobs().length) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poke();
    }, this.pollIntervalMs);
  }

  private activeJobs(): Tracked[] {
    return [...this.byName.values()].filter((t) => t.jobId !== null && t.view?.phase !== 'ended');
  }

  private async pollOnce(): Promise<void> {
    const active = this.activeJobs();
    if (active.length === 0) return;
    let jobs: SlurmJob[];
    try {
      jobs = await this.client.jobs(active.map((t) => t.jobId as string));
    } catch {
      return; // the controller is unreachable for now: the next round asks again
    }
    const byId = new Map(jobs.map((j) => [j.jobId, j]));
    for (const t of active) {
      try {
        await this.settle(t, byId.get(t.jobId as string) ?? null);
      } catch {
        // a job directory being removed meanwhile: the next round sees it gone
      }
    }
  }
}
