/**
 * Automation at run time: archive events launch the wrappers of matching command event mappings
 * (reference §7.2), and a finished run of an orchestration step launches the next step on the same root
 * object (§7.1). Launches go through the same `Launcher` as the REST API, as the mapping's subscriber, so
 * enablement and permissions are checked exactly as for a manual launch.
 */
import { messageOf } from '../core/errors.ts';
import type { ArchiveEvent, ArchiveEventName } from '../archive/events.ts';
import type { Archive } from '../archive/types.ts';
import type { UserStore } from '../archive/users.ts';
import { isA } from '../archive/xsi.ts';
import type { CommandCatalog, EndedRun, Launcher } from '../http/xapi/catalog.ts';
import { findWrapperById, requireWrapperByName } from '../http/xapi/catalog.ts';
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

export class AutomationDispatcher {
  readonly #store: AutomationStore;
  readonly #catalog: CommandCatalog;
  readonly #launcher: Launcher;
  readonly #users: UserStore;
  readonly #off: Array<() => void> = [];
  /** The latest outcomes (bounded), for the API and for people wondering why nothing ran. */
  readonly recent: AutomationOutcome[] = [];
  #pending = new Set<Promise<void>>();

  constructor(deps: { store: AutomationStore; catalog: CommandCatalog; launcher: Launcher; users: UserStore }) {
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#launcher = deps.launcher;
    this.#users = deps.users;
  }

  start(archive: Archive): void {
    for (const name of Object.keys(EVENT_OF) as ArchiveEventName[]) {
      const listener = (e: ArchiveEvent): void => this.#track(this.#onArchiveEvent(EVENT_OF[name]!, e));
      archive.events.on(name, listener);
      this.#off.push(() => archive.events.off(name, listener));
    }
    const offStarts = this.#launcher.onRunStart?.((run) => this.#track(this.#startOrchestration(run.id, run.wrapperId, run.project)));
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
  async #startOrchestration(runId: number, wrapperId: number, project: string | null): Promise<void> {
    if (!project || (await this.#store.stepOf(runId))) return;
    const selected = await this.#store.selected(project);
    if (selected === null) return;
    const o = await this.#store.orchestration(selected).catch(() => null);
    if (o?.enabled && o.wrapperIds[0] === wrapperId) await this.#store.recordStep(runId, o.id, 0);
  }

  async #onRunEnd(run: EndedRun): Promise<void> {
    // Without start notifications (a launcher that cannot see every run), detect the start at the end.
    if (!this.#launcher.onRunStart) await this.#startOrchestration(run.id, run.wrapperId, run.project);
    const step = await this.#store.stepOf(run.id);
    if (!step) return;
    const o = await this.#store.orchestration(step.orchestrationId).catch(() => null);
    if (!o?.enabled || o.wrapperIds[step.step] !== run.wrapperId) return;
    const complete = run.status === 'Complete';
    if (!complete && (o.haltOnCommandFailure || !run.status.startsWith('Failed'))) return;
    const nextId = o.wrapperIds[step.step + 1];
    if (nextId === undefined) return;
    const source = `orchestration ${o.id} step ${step.step + 1}`;
    const target = Object.values(run.inputs)[0] ?? '';
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
      const user = await this.#users.requireUser(run.user);
      const root = nextInputs[0]?.name ?? null;
      const out = await this.#launcher.launch({ wrapperId: nextId, rootElement: root, inputs, project: run.project, user });
      await this.#store.recordStep(out.id, o.id, step.step + 1, { replace: true });
      this.#note({ source, wrapperId: nextId, target: inputs[root ?? ''] ?? target, runId: out.id });
    } catch (err) {
      this.#note({ source, wrapperId: nextId, target, error: messageOf(err) });
    }
  }
}
