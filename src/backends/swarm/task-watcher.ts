/**
 * Follows the tasks of XCS's swarm services and turns their changes into `BackendEvent`s and finished waits.
 *
 * Docker publishes events for services and nodes but none for tasks (a task's state lives in the managers' store,
 * and its container's events only on the node that runs it). So the watcher wakes on the engine's pushed service
 * and node events (a service created, scaled, removed; a node going down) and otherwise looks at the tasks of the
 * services still in flight only — one task listing for all of them, quickly after a start and less and less often
 * while nothing changes. With nothing in flight it does no requests at all. A node reported down ends the tasks
 * it was running at once (`Swarm node error: node … went down`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { XCS_LABELS, type BackendEvent, type BackendEventStatus, type EventSubscription } from '../types.ts';
import { latestTask, TERMINAL_TASK_STATES, viewOf, type SwarmNodeInfo, type SwarmTask, type TaskView } from './task-state.ts';

/** What the watcher needs from the engine. */
export interface SwarmEngine {
  listTasks(serviceIds: string[]): Promise<SwarmTask[]>;
  listNodes(): Promise<SwarmNodeInfo[]>;
  /** One connection to `/events` for service and node events from `since` (seconds); yields parsed events. */
  openEvents(since: number, signal: AbortSignal): Promise<AsyncIterable<{ Type?: string; Action?: string; Actor?: { ID?: string } }>>;
  /** Labels and name of a service, or null when it is gone. */
  serviceInfo(serviceId: string): Promise<{ name: string; labels: Record<string, string> } | null>;
}

/** Fastest and slowest look at in-flight tasks; the interval doubles while nothing changes. */
const FIRST_LOOK_MS = 40;
const SLOWEST_LOOK_MS = 1000;

interface Tracked {
  name: string;
  labels: Record<string, string>;
  view: TaskView | null;
  /** Scaled to one: its task's changes are looked for. */
  active: boolean;
  startedSent: boolean;
  diedSent: boolean;
}

class Subscription implements EventSubscription {
  private readonly queue: BackendEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(readonly labels: Record<string, string>, private readonly onClose: (s: Subscription) => void) {}

  matches(labels: Record<string, string>): boolean {
    return Object.entries(this.labels).every(([k, v]) => labels[k] === v);
  }

  push(e: BackendEvent): void {
    if (this.closed) return;
    this.queue.push(e);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BackendEvent> {
    while (true) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
  }
}

export class TaskWatcher {
  private readonly services = new Map<string, Tracked>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly waiters = new Map<string, Set<(view: TaskView) => void>>();
  private nodes = new Map<string, SwarmNodeInfo>();
  private nodesStale = true;
  private timer: NodeJS.Timeout | null = null;
  private interval = FIRST_LOOK_MS;
  private refreshing: Promise<void> | null = null;
  private again = false;
  private readonly stop = new AbortController();
  private eventsRunning = false;

  constructor(private readonly engine: SwarmEngine, private readonly onError: (e: unknown) => void = () => undefined) {}

  /** A service this process created (or found): `created` is announced and its task will be followed once started. */
  track(serviceId: string, name: string, labels: Record<string, string>, announce: boolean): void {
    if (this.services.has(serviceId)) return;
    this.services.set(serviceId, { name, labels, view: null, active: false, startedSent: false, diedSent: false });
    this.ensureEvents();
    if (announce) this.emit(serviceId, 'created', {});
  }

  /** Its task should now exist: look soon, then less often until it ends. */
  activate(serviceId: string): void {
    const t = this.services.get(serviceId);
    if (t === undefined) return;
    t.active = true;
    this.kick();
  }

  /** The service was removed by us: its end is final (killed services end `died` with 137 first). */
  removed(serviceId: string, finalView: TaskView | null, how: 'killed' | 'removed'): void {
    const t = this.services.get(serviceId);
    if (t === undefined) return;
    if (finalView !== null && !t.diedSent) {
      if (how === 'killed') this.emit(serviceId, 'killed', { signal: 'SIGKILL' });
      t.diedSent = true;
      this.emit(serviceId, 'died', { exitCode: finalView.exitCode });
      this.settle(serviceId, finalView);
    }
    this.emit(serviceId, 'removed', {});
    this.services.delete(serviceId);
    this.settle(serviceId, finalView);
  }

  /** Resolves with the service's view once `done` holds (checked at every look), or when it is removed (null). */
  until(serviceId: string, done: (view: TaskView) => boolean, signal?: AbortSignal): Promise<TaskView | null> {
    return new Promise((resolve, reject) => {
      const t = this.services.get(serviceId);
      if (t?.view != null && done(t.view)) return resolve(t.view);
      const waiters = this.waiters.get(serviceId) ?? new Set();
      const check = (view: TaskView | null): void => {
        if (view !== null && !done(view)) return;
        waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(view);
      };
      const onAbort = (): void => {
        waiters.delete(check);
        reject(signal?.reason ?? new Error('aborted'));
      };
      waiters.add(check);
      this.waiters.set(serviceId, waiters);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.kick();
    });
  }

  subscribe(labels: Record<string, string>): EventSubscription {
    const sub = new Subscription(labels, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(sub);
    this.ensureEvents();
    return sub;
  }

  close(): void {
    this.stop.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    for (const s of [...this.subscriptions]) s.close();
  }

  /** Look now (coalesced), then go on at the fastest pace. */
  kick(): void {
    this.interval = FIRST_LOOK_MS;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stop.signal.aborted) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
    this.timer.unref?.();
  }

  private inFlight(): string[] {
    const ids: string[] = [];
    for (const [id, t] of this.services) if ((t.active || this.waiters.has(id)) && !t.diedSent) ids.push(id);
    return ids;
  }

  private async refresh(): Promise<void> {
    if (this.refreshing !== null) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = this.look().catch((e: unknown) => this.onError(e)).finally(() => { this.refreshing = null; });
    await this.refreshing;
    if (this.again) {
      this.again = false;
      return this.refresh();
    }
    if (this.inFlight().length > 0) {
      this.schedule(this.interval);
      this.interval = Math.min(this.interval * 2, SLOWEST_LOOK_MS);
    }
  }

  private async look(): Promise<void> {
    const ids = this.inFlight();
    if (ids.length === 0) return;
    const tasks = await this.engine.listTasks(ids);
    // The swarm shutting a task down that did not end by itself: its node may have gone; read the nodes again.
    const shutDown = tasks.some((t) => t.DesiredState === 'shutdown' && !TERMINAL_TASK_STATES.has(t.Status?.State ?? ''));
    if (this.nodesStale || shutDown || tasks.some((t) => t.NodeID && !this.nodes.has(t.NodeID))) {
      this.nodes = new Map((await this.engine.listNodes()).map((n) => [n.id, n]));
      this.nodesStale = false;
    }
    const byService = new Map<string, SwarmTask[]>();
    for (const t of tasks) {
      if (t.ServiceID === undefined) continue;
      const list = byService.get(t.ServiceID) ?? [];
      list.push(t);
      byService.set(t.ServiceID, list);
    }
    let changed = false;
    for (const id of ids) {
      const t = this.services.get(id);
      if (t === undefined) continue;
      const task = latestTask(byService.get(id) ?? []);
      const view = viewOf(id, task, task?.NodeID ? this.nodes.get(task.NodeID) : undefined);
      if (t.view === null || t.view.taskState !== view.taskState || t.view.status !== view.status || t.view.pendingReason !== view.pendingReason) changed = true;
      t.view = view;
      if (view.started && !t.startedSent) {
        t.startedSent = true;
        this.emit(id, 'started', {});
      }
      if (view.status === 'exited' && !t.diedSent) {
        t.diedSent = true;
        this.emit(id, 'died', { exitCode: view.exitCode });
      }
      this.settle(id, view);
    }
    if (changed) this.interval = FIRST_LOOK_MS;
  }

  private settle(serviceId: string, view: TaskView | null): void {
    for (const check of [...(this.waiters.get(serviceId) ?? [])]) check(view as TaskView);
    if (this.waiters.get(serviceId)?.size === 0) this.waiters.delete(serviceId);
  }

  private emit(serviceId: string, status: BackendEventStatus, extra: { exitCode?: number | null; signal?: string }): void {
    const t = this.services.get(serviceId);
    if (t === undefined) return;
    const now = Date.now();
    const event: BackendEvent = {
      backendId: serviceId, name: t.name, status, time: new Date(now), timeNano: BigInt(now) * 1_000_000n, labels: t.labels,
      raw: { service: serviceId, task: t.view?.taskId ?? null, node: t.view?.nodeId ?? null, taskState: t.view?.taskState ?? null },
      ...extra,
    };
    for (const s of this.subscriptions) if (s.matches(t.labels)) s.push(event);
  }

  /** The engine's service and node events, for as long as the watcher lives; reconnects after a drop. */
  private ensureEvents(): void {
    if (this.eventsRunning) return;
    this.eventsRunning = true;
    void (async () => {
      let since = Math.floor(Date.now() / 1000) - 1;
      while (!this.stop.signal.aborted) {
        try {
          const stream = await this.engine.openEvents(since, this.stop.signal);
          for await (const e of stream) {
            since = Math.floor(Date.now() / 1000) - 1;
            await this.onEngineEvent(e);
          }
        } catch (e) {
          if (this.stop.signal.aborted) return;
          this.onError(e);
        }
        await sleep(1000, undefined, { signal: this.stop.signal }).catch(() => undefined);
        this.nodesStale = true;
        this.kick();
      }
    })();
  }

  private async onEngineEvent(e: { Type?: string; Action?: string; Actor?: { ID?: string } }): Promise<void> {
    const id = e.Actor?.ID;
    if (e.Type === 'node') {
      // A node changed (down, drained, back): look at every task in flight with fresh node states.
      this.nodesStale = true;
      this.kick();
      return;
    }
    if (e.Type !== 'service' || id === undefined) return;
    if (e.Action === 'create' && !this.services.has(id)) {
      // Created by another XCS process on this swarm: followed like our own.
      const info = await this.engine.serviceInfo(id).catch(() => null);
      if (info !== null && info.labels[XCS_LABELS.managed] === 'true') this.track(id, info.name, info.labels, true);
      return;
    }
    const t = this.services.get(id);
    if (t === undefined) return;
    if (e.Action === 'remove') {
      this.emit(id, 'removed', {});
      this.services.delete(id);
      this.settle(id, null);
      return;
    }
    if (e.Action === 'update') {
      t.active = true;
      this.kick();
    }
  }
}
