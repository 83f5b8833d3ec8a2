/**
 * Automation at run time: archive events launch the wrappers of matching command event mappings
 * (reference §7.2), and a finished run of an orchestration step launches the next step on the same root
 * object (§7.1). Launches go through the same `Launcher` as the REST API, as the mapping's subscriber, so
 * enablement and permissions are checked exactly as for a manual launch.
 *
 * Chaining is durable: each step's row records whether its successor was launched, a step is claimed with one
 * atomic UPDATE before its successor is launched (the live run end and `resume()` at start-up may both try),
 * and `resume()` advances the steps that ended while the server was down. Other archive-event automation
 * (Event Service subscriptions) plugs in through `use()` and reports through the same `recent` list.
 */
import { randomUUID } from 'node:crypto';
import { messageOf } from '../core/errors.ts';
import type { ArchiveEvent, ArchiveEventName } from '../archive/events.ts';
import type { Archive } from '../archive/types.ts';
import type { UserDirectory } from '../archive/users.ts';
import { isA } from '../archive/xsi.ts';
import type { CommandCatalog, EndedRun, Launcher } from '../runtime/index.ts';
import { findWrapperById, requireWrapperByName } from '../runtime/index.ts';
import type { AutomationStore, EventType } from './store.ts';

const EVENT_OF: Partial<Record<ArchiveEventName, EventType>> = {
  'session.archived': 'SessionArchived',
  'scan.archived': 'ScanArchived',
};

export interface AutomationOutcome {
  source: string;
  wrapperId: number | null;
  target: string;
  runId?: number;
  error?: string;
}

/** Automation that reacts to archive events beside the mappings (Event Service subscriptions). */
export interface ArchiveHook {
  /** For the outcome of a hook that failed as a whole. */
  readonly name: string;
  readonly events: readonly ArchiveEventName[];
  /** Launches what the event calls for, reporting each launch (or refusal) through `note`. */
  handle(name: ArchiveEventName, e: ArchiveEvent, note: (o: AutomationOutcome) => void): Promise<void>;
}

export class AutomationDispatcher {
  readonly #store: AutomationStore;
  readonly #catalog: CommandCatalog;
  readonly #launcher: Launcher;
  readonly #users: UserDirectory;
  readonly #off: Array<() => void> = [];
  readonly #hooks: ArchiveHook[] = [];
  /** The latest outcomes (bounded), for the API and for people wondering why nothing ran. */
  readonly recent: AutomationOutcome[] = [];
  #pending = new Set<Promise<void>>();
  /** Who claims orchestration advances: a claim by another id left unrecorded is a dead dispatcher's. */
  readonly #id = randomUUID();

  constructor(deps: { store: AutomationStore; catalog: CommandCatalog; launcher: Launcher; users: UserDirectory }) {
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#launcher = deps.launcher;
    this.#users = deps.users;
  }

  /** Adds archive-event automation run beside the mappings (before `start`). */
  use(hook: ArchiveHook): void {
    this.#hooks.push(hook);
  }

  start(archive: Archive): void {
    const names = new Set<ArchiveEventName>([...Object.keys(EVENT_OF) as ArchiveEventName[], ...this.#hooks.flatMap((h) => h.events)]);
    for (const name of names) {
      const listener = (e: ArchiveEvent): void => {
        const type = EVENT_OF[name];
        if (type) this.#track(this.#onArchiveEvent(type, e));
        for (const h of this.#hooks) {
          if (!h.events.includes(name)) continue;
          this.#track(h.handle(name, e, (o) => this.#note(o)).catch((err: unknown) =>
            this.#note({ source: h.name, wrapperId: null, target: e.uri, error: messageOf(err) })));
        }
      };
      archive.events.on(name, listener);
      this.#off.push(() => archive.events.off(name, listener));
    }
    const offStarts = this.#launcher.onRunStart?.((run) => this.#track(this.#startOrchestration(run.id, run.wrapperId, run.project, run.retryOf)));
    if (offStarts) this.#off.push(offStarts);
    const offRuns = this.#launcher.onRunEnd?.((run) => this.#track(this.#onRunEnd(run)));
    if (offRuns) this.#off.push(offRuns);
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off();
  }

  /** Resolves when every launch started so far has been attempted (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #note(o: AutomationOutcome): void {
    this.recent.push(o);
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
    if (o.error) process.emitWarning(`automation (${o.source}) could not launch on ${o.target}: ${o.error}`);
  }

  async #onArchiveEvent(type: EventType, e: ArchiveEvent): Promise<void> {
    for (const m of await this.#store.mappings()) {
      if (!m.enabled || m['event-type'] !== type) continue;
      if (m.project && m.project !== e.project) continue;
      if (m['xsi-type'] && !isA(e.xsiType, m['xsi-type'])) continue;
      const source = `command event mapping ${m.id}`;
      let wrapperId: number | null = null;
      try {
        const { wrapper } = await requireWrapperByName(this.#catalog, m['command-id'], m['xnat-command-wrapper']);
        wrapperId = wrapper.id;
        const user = await this.#users.requireUser(m['subscription-user-name']);
        const wanted = type === 'ScanArchived' ? 'Scan' : 'Session';
        const root = wrapper['external-inputs'].find((i) => i.type === wanted) ?? wrapper['external-inputs'][0];
        if (!root) throw new Error(`wrapper "${wrapper.name}" has no external input to take the ${wanted.toLowerCase()}`);
        const out = await this.#launcher.launch({ wrapperId: wrapper.id, rootElement: root.name, inputs: { [root.name]: e.uri },
          project: e.project, user });
        if (!this.#launcher.onRunStart) await this.#startOrchestration(out.id, wrapper.id, e.project);
        this.#note({ source, wrapperId, target: e.uri, runId: out.id });
      } catch (err) {
        this.#note({ source, wrapperId, target: e.uri, error: messageOf(err) });
      }
    }
  }

  /**
   * A run of the first wrapper of the project's selected, enabled orchestration starts that orchestration
   * (XNAT's "detect orchestration start", §3.1), however the run was launched. A run that is itself a chained
   * step keeps its step: chaining records it with `replace`, which wins whichever of the two writes first.
   */
  async #startOrchestration(runId: number, wrapperId: number, project: string | null, retryOf: number | null = null): Promise<void> {
    if (await this.#store.stepOf(runId)) return;
    if (retryOf !== null && retryOf !== undefined) {
      // A retry stands in for the failed attempt: it is the same step of the same chain (or of none).
      const step = await this.#store.stepOf(retryOf);
      if (step) await this.#store.recordStep(runId, step.orchestrationId, step.step, { replace: true });
      return;
    }
    if (!project) return;
    const selected = await this.#store.selected(project);
    if (selected === null) return;
    const o = await this.#store.orchestration(selected).catch(() => null);
    if (o?.enabled && o.wrapperIds[0] === wrapperId) await this.#store.recordStep(runId, o.id, 0);
  }

  async #onRunEnd(run: EndedRun): Promise<void> {
    // Without start notifications (a launcher that cannot see every run), detect the start at the end.
    if (!this.#launcher.onRunStart) await this.#startOrchestration(run.id, run.wrapperId, run.project, run.retryOf ?? null);
    if (!(await this.#store.claimAdvance(run.id, this.#id))) return;
    await this.#advance(run, null);
  }

  /**
   * Picks up what a stopped or crashed server left (call once the server can launch): steps that ended while
   * no dispatcher listened, and launches claimed by a dispatcher that died before recording them. Runs still
   * going are left to their live end. Safe to call again: every step is claimed before it is launched.
   */
  resume(): Promise<void> {
    const p = this.#resume();
    this.#track(p);
    return p;
  }

  async #resume(): Promise<void> {
    const runState = this.#launcher.runState?.bind(this.#launcher);
    if (!runState) return;
    const opens = await this.#store.openAdvances().catch((err: unknown) => {
      this.#note({ source: 'orchestration resume', wrapperId: null, target: '', error: messageOf(err) });
      return [];
    });
    for (const open of opens) {
      try {
        const run = await runState(open.runId);
        if (!run) {
          if (await this.#store.claimAdvance(open.runId, this.#id)) await this.#store.recordEnded(open.runId, `run ${open.runId} no longer exists`);
          continue;
        }
        if (!run.terminal) continue;
        if (open.state === 'pending') {
          if (await this.#store.claimAdvance(open.runId, this.#id)) await this.#advance(run, null);
        } else if (open.claimedBy !== this.#id && (await this.#store.reclaimAdvance(open.runId, open.claimedBy, this.#id))) {
          await this.#advance(run, { recovering: true });
        }
      } catch (err) {
        this.#note({ source: `orchestration resume of run ${open.runId}`, wrapperId: null, target: '', error: messageOf(err) });
      }
    }
  }

  /** Launches the successor of a step this dispatcher has claimed, and records the outcome either way. */
  async #advance(run: EndedRun, opts: { recovering: boolean } | null): Promise<void> {
    const step = await this.#store.stepOf(run.id);
    if (!step) return;
    if (run.retried) {
      // Its next attempt took the step over (`#startOrchestration`); that one continues or stops the chain.
      await this.#store.recordEnded(run.id, 'retried: the next attempt carries the step');
      return;
    }
    const o = await this.#store.orchestration(step.orchestrationId).catch(() => null);
    const complete = run.status === 'Complete';
    const nextId = o?.wrapperIds[step.step + 1];
    if (!o?.enabled || o.wrapperIds[step.step] !== run.wrapperId || nextId === undefined
      || (!complete && (o.haltOnCommandFailure || !run.status.startsWith('Failed')))) {
      await this.#store.recordEnded(run.id, null);
      return;
    }
    const source = `orchestration ${o.id} step ${step.step + 1}`;
    const target = Object.values(run.inputs)[0] ?? '';
    let launched: number | null = null;
    try {
      const next = await findWrapperById(this.#catalog, nextId);
      const finished = await findWrapperById(this.#catalog, run.wrapperId);
      if (!next || !finished) throw new Error(`wrapper ${nextId} no longer exists`);
      const nextInputs = next.wrapper['external-inputs'];
      const doneInputs = finished.wrapper['external-inputs'];
      const inputs: Record<string, string> = {};
      if (nextInputs.length === 1 && doneInputs.length === 1) {
        const v = run.inputs[doneInputs[0].name];
        if (v !== undefined) inputs[nextInputs[0].name] = v;
      } else {
        for (const i of nextInputs) if (run.inputs[i.name] !== undefined) inputs[i.name] = run.inputs[i.name];
      }
      const root = nextInputs[0]?.name ?? null;
      // A dispatcher that died after launching but before recording left a run that is this successor: adopt it.
      const adopted = opts?.recovering ? await this.#launchedSuccessor(run, nextId, inputs) : null;
      const id = adopted ?? (await this.#launcher.launch({ wrapperId: nextId, rootElement: root, inputs, project: run.project,
        user: await this.#users.requireUser(run.user) })).id;
      await this.#store.recordLaunched(run.id, { runId: id, orchestrationId: o.id, step: step.step + 1 });
      this.#note({ source, wrapperId: nextId, target: inputs[root ?? ''] ?? target, runId: id });
      launched = id;
    } catch (err) {
      await this.#store.recordEnded(run.id, messageOf(err)).catch(() => undefined);
      this.#note({ source, wrapperId: nextId, target, error: messageOf(err) });
    }
    // A successor that ended before its step was recorded had nothing to claim at its end: advance it now.
    const now = launched === null ? undefined : await this.#launcher.runState?.(launched);
    if (now?.terminal && (await this.#store.claimAdvance(now.id, this.#id))) await this.#advance(now, null);
  }

  async #launchedSuccessor(run: EndedRun, wrapperId: number, inputs: Record<string, string>): Promise<number | null> {
    for (const r of (await this.#launcher.runsAfter?.(run.id)) ?? []) {
      if (r.wrapperId !== wrapperId || r.user !== run.user || r.project !== run.project) continue;
      if (!Object.entries(inputs).every(([k, v]) => r.inputs[k] === v)) continue;
      if (!(await this.#store.isSuccessor(r.id))) return r.id;
    }
    return null;
  }
}
