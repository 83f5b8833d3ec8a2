/**
 * Follows the backend's pushed status changes of this installation's containers (no polling): a start
 * moves the run to `Running`, an exit hands it to finalization. Containers XCS does not know are left to
 * the reconciler, which removes them.
 */
import { XCS_LABELS, type BackendEvent, type EventSubscription } from '../../backends/types.ts';
import { AUX_LABEL } from '../staging/auxiliary.ts';
import { handleExit } from './exit-handler.ts';
import { describe } from '../store/failures.ts';
import { recordPlacement } from './placement.ts';
import type { EngineResources } from '../resources.ts';

/** The history item that records where a scheduler placed the run (`service-id`, `node-id` of the record). */
export const PLACED = 'Placed';

export class EventFollower {
  private readonly res: EngineResources;
  private subscription: EventSubscription | null = null;
  private done: Promise<void> | null = null;

  constructor(res: EngineResources) {
    this.res = res;
  }

  start(): void {
    const sub = this.res.backend.events({ labels: { [XCS_LABELS.instance]: this.res.config.instanceId } });
    this.subscription = sub;
    this.done = (async () => {
      try {
        for await (const ev of sub) await this.handle(ev);
      } catch (e) {
        this.res.log.error(`event stream ended: ${describe(e)}`);
      }
    })();
  }

  async stop(): Promise<void> {
    this.subscription?.close();
    await this.done;
  }

  private async handle(ev: BackendEvent): Promise<void> {
    const runId = Number(ev.labels[XCS_LABELS.runId]);
    // Setup and wrapup containers are waited for by the job that started them, not followed here.
    if (!Number.isInteger(runId) || ev.labels[AUX_LABEL] !== undefined) return;
    const run = this.res.store.get(runId);
    if (!run) return;
    const ts = ev.timeNano !== undefined ? String(ev.timeNano) : String(ev.time.getTime());
    try {
      if (ev.status === 'started' || ev.status === 'died') await recordPlacement(this.res, runId, ev.backendId);
      if (ev.status === 'started') {
        this.res.store.transition(runId, 'Running', { source: 'event', entityId: ev.backendId, externalTimestamp: ts, message: 'start' });
        // A scheduler's job id and node: the record's service-id and node-id (container-json reads this item).
        if (ev.placement) {
          this.res.store.note(runId, PLACED, { source: 'event', entityId: ev.placement.serviceId, externalTimestamp: ts,
            message: `Job ${ev.placement.serviceId}${ev.placement.nodeId === null ? '' : ` on node ${ev.placement.nodeId}`}` });
        }
      } else if (ev.status === 'waiting' && ev.waiting) {
        this.res.store.note(runId, 'Waiting for a node', { source: 'event', entityId: ev.backendId, externalTimestamp: ts,
          message: `${ev.waiting.reason}: ${ev.waiting.hint}` });
      } else if (ev.status === 'oom') {
        this.res.store.recordExit(runId, null, true);
      } else if (ev.status === 'died') {
        // The OOM flag comes with the `oom` event before `die`; finalization double-checks it for exit code 137.
        const exitCode = ev.exitCode ?? (await this.res.backend.inspect(ev.backendId)).exitCode;
        if (ev.cause) {
          // The scheduler's time limit is the run's max-runtime: the same end as the watchdog's.
          if (ev.cause.code === 'timeout') this.res.store.markTimedOut(runId, ev.cause.message);
          else this.res.store.note(runId, 'Scheduler', { source: 'event', entityId: ev.backendId, externalTimestamp: ts,
            message: `${ev.cause.message}. ${ev.cause.hint}` });
        }
        this.res.store.note(runId, 'die', { source: 'event', entityId: ev.backendId, externalTimestamp: ts,
          exitCode: exitCode === null ? null : String(exitCode) });
        handleExit(this.res, runId, { exitCode, oomKilled: false }, 'event', ts);
      }
    } catch (e) {
      this.res.log.warn(`run ${runId}: event ${ev.status} not processed: ${describe(e)} (reconciliation will catch up)`);
    }
  }
}
