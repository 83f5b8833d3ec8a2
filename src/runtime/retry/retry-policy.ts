/**
 * The retry policy of a run (modelled on Temporal's RetryPolicy) and its arithmetic, without side effects:
 * which failure class a run's end falls in, whether the policy retries it, after how long, and with how much
 * memory. The command's `retry` and `max-runtime` are compiled at launch into a `RunPolicy` stored with the
 * run, so a later change of the command does not change what a run already launched does.
 */
import { DEFAULT_RETRY_ON, RETRY_CLASSES, type Command, type RetryClass } from '../../command/index.ts';
import { formatDuration, parseDuration, parseMemoryMiB } from '../../core/duration.ts';
import { FAILURES, isFailureCode } from '../store/failure-table.ts';

export type { RetryClass };

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retried). */
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  retryOn: RetryClass[];
  /** Empty: any non-zero exit code (with `exit-code` in `retryOn`). */
  retryableExitCodes: number[];
  nonRetryableExitCodes: number[];
  oomMemoryFactor: number | null;
  oomMemoryLimitMiB: number | null;
}

export interface RunPolicy {
  retry: RetryPolicy | null;
  maxRuntimeMs: number | null;
}

export const NO_POLICY: RunPolicy = { retry: null, maxRuntimeMs: null };

/** The share of a delay that jitter may take off, so that a batch failing at once does not retry at once. */
export const JITTER = 0.2;

/**
 * The policy of a validated command. Values validation would refuse fall back to their defaults, so a command
 * stored before a rule existed still launches.
 */
export function compileRunPolicy(cmd: Partial<Pick<Command, 'retry' | 'max-runtime'>>): RunPolicy {
  // Commands stored before these keys existed lack them.
  const runtime = cmd['max-runtime'] ?? null;
  const maxRuntimeMs = runtime === null ? null : parseDuration(runtime);
  const r = cmd.retry ?? null;
  if (r === null || !(r['maximum-attempts'] > 1)) return { retry: null, maxRuntimeMs: maxRuntimeMs || null };
  const initial = parseDuration(r['initial-interval']) ?? 1000;
  const maximum = (r['maximum-interval'] === null ? null : parseDuration(r['maximum-interval'])) ?? initial * 100;
  const ints = (xs: number[]): number[] => xs.filter((x) => Number.isInteger(x));
  return {
    maxRuntimeMs: maxRuntimeMs || null,
    retry: {
      maximumAttempts: Math.min(20, Math.floor(r['maximum-attempts'])),
      initialIntervalMs: initial,
      backoffCoefficient: r['backoff-coefficient'] >= 1 ? r['backoff-coefficient'] : 2,
      maximumIntervalMs: Math.max(maximum, initial),
      retryOn: r['retry-on'] === null ? [...DEFAULT_RETRY_ON]
        : RETRY_CLASSES.filter((c) => (r['retry-on'] as string[]).includes(c)),
      retryableExitCodes: ints(r['retryable-exit-codes']),
      nonRetryableExitCodes: ints(r['non-retryable-exit-codes']),
      oomMemoryFactor: r['oom-memory-factor'] !== null && r['oom-memory-factor'] >= 1 ? r['oom-memory-factor'] : null,
      oomMemoryLimitMiB: r['oom-memory-limit'] === null ? null : parseMemoryMiB(r['oom-memory-limit']),
    },
  };
}

/** What the engine knows about a run that ended. */
export interface RunEnd {
  id: number;
  status: string;
  failureCode: string | null;
  exitCode: string | null;
  killRequested: boolean;
  attempt: number;
}

/**
 * The class of a failure (its row's in the failure table), or null for failures no policy retries: a kill by a
 * user, an upload failure (re-finalization exists for it), a failed setup or wrapup, a missing image or input, a
 * resolution error.
 */
export function failureClassOf(end: RunEnd): RetryClass | null {
  if (end.killRequested || end.failureCode === null || !isFailureCode(end.failureCode)) return null;
  return FAILURES[end.failureCode].retryClass;
}

export type RetryDecision =
  | { retry: true; retryClass: RetryClass; nextAttempt: number; delayMs: number }
  | { retry: false; reason: string };

/**
 * Delay before attempt `failedAttempt + 1`: initial × coefficient^(failedAttempt − 1), capped at the maximum,
 * minus a jitter of up to `JITTER` of it. The jitter is a hash of the run id, not a random draw: runs of one
 * batch spread out, and the same run always gets the same delay (tests and restarts agree).
 */
export function backoffDelayMs(policy: RetryPolicy, failedAttempt: number, runId: number): number {
  const raw = policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, failedAttempt - 1);
  const capped = Math.min(raw, policy.maximumIntervalMs);
  return Math.round(capped * (1 - JITTER * jitterFraction(runId)));
}

/** A number in [0, 1) spread evenly over run ids (Knuth's multiplicative hash). */
export function jitterFraction(runId: number): number {
  return ((Math.imul(runId, 2654435761) >>> 0) / 2 ** 32);
}

/** Whether and when a run that ended as `end` is launched again under `policy`. */
export function decideRetry(policy: RetryPolicy | null, end: RunEnd): RetryDecision {
  if (policy === null) return { retry: false, reason: 'the command has no retry policy' };
  const cls = failureClassOf(end);
  if (cls === null) {
    return { retry: false, reason: end.killRequested ? 'killed on request' : `${end.status} is never retried` };
  }
  if (!policy.retryOn.includes(cls)) return { retry: false, reason: `retry-on does not include ${cls}` };
  if (cls === 'exit-code') {
    const code = Number(end.exitCode);
    if (policy.nonRetryableExitCodes.includes(code)) return { retry: false, reason: `exit code ${code} is non-retryable` };
    if (policy.retryableExitCodes.length > 0 && !policy.retryableExitCodes.includes(code)) {
      return { retry: false, reason: `exit code ${code} is not in retryable-exit-codes` };
    }
  }
  if (end.attempt >= policy.maximumAttempts) {
    return { retry: false, reason: `attempt ${end.attempt} of ${policy.maximumAttempts} was the last` };
  }
  return { retry: true, retryClass: cls, nextAttempt: end.attempt + 1, delayMs: backoffDelayMs(policy, end.attempt, end.id) };
}

/** The memory limit (MiB) of the attempt after an out-of-memory kill; unchanged without a factor or a limit. */
export function raisedMemoryMiB(policy: RetryPolicy, limitMiB: number | null): number | null {
  if (limitMiB === null || policy.oomMemoryFactor === null) return limitMiB;
  const raised = Math.ceil(limitMiB * policy.oomMemoryFactor);
  return policy.oomMemoryLimitMiB === null ? raised : Math.max(limitMiB, Math.min(raised, policy.oomMemoryLimitMiB));
}

export function describeDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : formatDuration(Math.round(ms / 1000) * 1000);
}
