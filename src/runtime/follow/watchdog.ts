/**
 * The max-runtime watchdog. A run whose policy has a time limit is watched while it is `Running`: its deadline is
 * the time `Running` was recorded plus the limit, both stored, so a restarted engine re-arms every deadline from
 * the records (`start`) and one that passed while it was down fires at once. At the deadline the run is marked
 * timed out (`RunStore.markTimedOut`, once) and its container killed; the exit then goes through finalization as
 * any other, which ends the run `Failed (Timeout)`.
 */
import { formatDuration } from '../../core/duration.ts';
import { describe } from '../store/failures.ts';
import type { EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';

/** setTimeout fires at once beyond this; longer waits are done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function deadlineOf(run: RunRecord): number | null {
  const limit = run.policy.maxRuntimeMs;
  return run.status === 'Running' && limit !== null ? run.statusTime + limit : null;
}

export class Watchdog {
  private readonly res: EngineResources;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly kills = new Set<Promise<void>>();
  private stopped = false;

  constructor(res: EngineResources) {
    this.res = res;
  }

  /** Arms a timer for every running run with a time limit (at start-up: deadlines come from the records). */
  start(): void {
    for (const run of this.res.store.listUnsettled()) this.observe(run);
  }

  /** Called with every status change: arms the timer of a run that starts running, disarms one that stopped. */
  observe(run: RunRecord): void {
    if (this.stopped) return;
    const deadline = deadlineOf(run);
    const current = this.timers.get(run.id);
    if (deadline === null) {
      if (current) clearTimeout(current);
      this.timers.delete(run.id);
      return;
    }
    if (current) return;
    this.arm(run.id, deadline);
  }

  private arm(runId: number, deadline: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(runId);
      if (Date.now() < deadline) this.arm(runId, deadline);
      else this.expire(runId);
    }, Math.max(0, Math.min(deadline - Date.now(), MAX_TIMER_MS)));
    this.timers.set(runId, timer);
  }

  private expire(runId: number): void {
    const run = this.res.store.get(runId);
    if (!run || deadlineOf(run) === null || this.stopped) return;
    const limit = formatDuration(run.policy.maxRuntimeMs ?? 0);
    if (!this.res.store.markTimedOut(runId, `Ran longer than max-runtime ${limit}; killing the container`)) return;
    const p = this.kill(run, limit).finally(() => this.kills.delete(p));
    this.kills.add(p);
  }

  private async kill(run: RunRecord, limit: string): Promise<void> {
    if (!run.containerId) return;
    try {
      await this.res.backend.kill(run.containerId);
      this.res.log.info(`run ${run.id}: killed after max-runtime ${limit}`);
    } catch (e) {
      // Gone already (its exit is on its way) or the engine failed: the next start-up or reconciliation re-checks.
      this.res.log.warn(`run ${run.id}: could not kill the container after max-runtime ${limit}: ${describe(e)}`);
    }
  }

  /** Re-checks every watched deadline (the periodic reconciliation calls it: a kill that failed is tried again). */
  sweep(): void {
    for (const run of this.res.store.listUnsettled()) {
      const deadline = deadlineOf(run);
      if (deadline !== null && deadline <= Date.now() && !this.timers.has(run.id)) this.expire(run.id);
      else this.observe(run);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.kills]);
  }
}
