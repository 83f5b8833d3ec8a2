/**
 * The lifecycle of a run: its statuses (XNAT's names), which transitions are allowed, which statuses are
 * terminal. What each failure cause ends a run with is the failure table's (`failure-table.ts`).
 *
 *   Queued → Staging → Created → Running → Waiting → Finalizing → Complete | Failed… | Killed…
 *
 * `Waiting` (XNAT's name for "exited, queued for finalization") separates the container's exit, which the
 * engine learns from an event, from the finalization work, which a worker does under a concurrency limit.
 * Any non-terminal status may end in a failure or a kill; a terminal status is never left.
 */

import { FAILURES, type FailureCode, type FailureRow } from './failure-table.ts';

export const RUN_STATUSES = [
  'Queued', 'Staging', 'Created', 'Running', 'Waiting', 'Finalizing',
  'Complete', 'Failed', 'Failed (Upload)', 'Failed (Setup)', 'Failed (Wrapup)', 'Failed (Command resolution)',
  'Failed (Container launch)', 'Failed (Orphaned)', 'Failed (Timeout)', 'Killed', 'Killed (Out of Memory)',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Who caused a transition; XNAT's history `entity-type`. */
export type HistorySource = 'system' | 'event' | 'user';

/** Terminal as XNAT defines it: the status starts with `Complete`, `Failed` or `Killed`. */
export function isTerminal(status: string): boolean {
  return status.startsWith('Complete') || status.startsWith('Failed') || status.startsWith('Killed');
}

/** Statuses in which a container may exist and be running. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['Staging', 'Created', 'Running'];

const FORWARD: Record<string, readonly RunStatus[]> = {
  Queued: ['Staging'],
  Staging: ['Created'],
  Created: ['Running', 'Waiting'],
  // A container that exits before we record `Running` goes straight from Created to Waiting.
  Running: ['Waiting'],
  Waiting: ['Finalizing'],
  Finalizing: [],
};

/**
 * Whether `from → to` is allowed. Terminal statuses are reachable from any non-terminal one (failures and
 * kills can happen in every phase); nothing leaves a terminal status.
 */
export function canTransition(from: string, to: RunStatus): boolean {
  if (isTerminal(from)) return false;
  if (isTerminal(to)) return true;
  return (FORWARD[from] ?? []).includes(to);
}

export { FAILURE_CODES, isFailureCode, type FailureCode } from './failure-table.ts';

/** A failure's final status and hint (its row of `failure-table.ts`). */
export function failureRule(code: FailureCode): FailureRow {
  return FAILURES[code];
}
