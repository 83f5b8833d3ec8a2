/**
 * Turns what went wrong (typed errors, exit states) into a failure code of the failure table, and ends runs with
 * one: `fail()` is the only way a run ends failed or killed.
 */
import { isXcsError, messageOf } from '../../core/errors.ts';
import { FAILURES, failureOfErrorCode, type FailureCode } from './failure-table.ts';
import type { EngineResources } from '../resources.ts';
import type { HistorySource } from './state-machine.ts';

export function failureCodeOf(e: unknown, fallback: FailureCode): FailureCode {
  if (isXcsError(e)) {
    const code = failureOfErrorCode(e.code);
    if (code !== null) return code;
  }
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOSPC') return 'disk-full';
  return fallback;
}

export function describe(e: unknown): string {
  if (isXcsError(e)) return e.hint ? `${e.message} (${e.hint})` : e.message;
  return messageOf(e);
}

export interface FailOptions {
  /** Instead of the table's hint (a more precise one for this run). */
  hint?: string;
  /** Who ended it: the system unless said otherwise. */
  source?: HistorySource;
  entityId?: string | null;
  /** Recorded with the history item. */
  exitCode?: string | null;
}

/** Ends run `runId` with the failure `code`: its row's status and hint, and `message` in the history. */
export function fail(res: EngineResources, runId: number, code: FailureCode, message: string, options: FailOptions = {}): boolean {
  const row = FAILURES[code];
  return res.store.transition(runId, row.status, {
    source: options.source ?? 'system', message, failure: { code, hint: options.hint ?? row.hint },
    ...(options.entityId === undefined ? {} : { entityId: options.entityId }),
    ...(options.exitCode === undefined ? {} : { exitCode: options.exitCode }),
  });
}
