/**
 * One place that records a container's end, whoever noticed it (the event stream, reconciliation, or
 * staging finding an exited container after a restart): the exit is stored, the run moves to `Waiting`
 * and its finalization job is queued — in one transaction, and only once.
 */
import type { ContainerState } from '../../backends/types.ts';
import type { EngineResources } from '../resources.ts';
import type { HistorySource } from '../store/state-machine.ts';

export function handleExit(res: EngineResources, runId: number, state: Pick<ContainerState, 'exitCode' | 'oomKilled'>,
  source: HistorySource, externalTimestamp?: string): boolean {
  res.store.recordExit(runId, state.exitCode, state.oomKilled);
  const exitCode = state.exitCode === null ? null : String(state.exitCode);
  return res.store.transition(runId, 'Waiting', {
    source,
    exitCode,
    externalTimestamp,
    message: state.oomKilled ? 'Container exited: out of memory' : `Container exited with code ${exitCode ?? 'unknown'}`,
    enqueue: 'finalize',
  });
}
