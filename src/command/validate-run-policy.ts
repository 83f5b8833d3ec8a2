/**
 * Rules for the XCS additions that govern a run's life: the retry policy (`retry`) and the time limit
 * (`max-runtime`). XNAT ignores both keys, so these rules never reject a command XNAT accepts unless it uses
 * them; a value the engine could only misread is an error, a policy that cannot do what it seems to a warning.
 */
import { formatDuration, parseDuration, parseMemoryMiB } from '../core/duration.ts';
import { type DiagnosticSink, listOf, pointer, q } from './diagnostics.ts';
import { RETRY_CLASSES, type Command, type RetryPolicyJson } from './model.ts';

export const MAX_ATTEMPTS = 20;
export const MAX_BACKOFF_COEFFICIENT = 100;
/** A run may be given at most 30 days; longer is a typo more often than a plan. */
export const MAX_RUNTIME_MS = 30 * 86_400_000;
const DURATION_EXAMPLES = '"10s", "5m", "2h" or "1h30m"';

function isIntIn(v: number, min: number, max: number): boolean {
  return Number.isInteger(v) && v >= min && v <= max;
}

/** Checks a duration field; returns its milliseconds when valid. */
function duration(value: string | null, at: string, field: string, sink: DiagnosticSink, min = 0): number | null {
  if (value === null) return null;
  const ms = parseDuration(value);
  if (ms === null) {
    sink.error(at, `command.${field}.invalid`, `${field} must be a duration such as ${DURATION_EXAMPLES}, not ${q(value)}`);
    return null;
  }
  if (ms < min || ms > MAX_RUNTIME_MS) {
    sink.error(at, `command.${field}.out-of-range`, `${field} must be from ${formatDuration(min)} to 30d, not ${q(value)}`);
    return null;
  }
  return ms;
}

export function validateRunPolicy(cmd: Command, sink: DiagnosticSink): void {
  const special = cmd.type === 'docker-setup' || cmd.type === 'docker-wrapup';
  if (cmd['max-runtime'] !== null) {
    duration(cmd['max-runtime'], '/max-runtime', 'max-runtime', sink, 1000);
    if (special) sink.warning('/max-runtime', 'command.max-runtime.ignored', `${cmd.type} commands run as part of their parent run; max-runtime is ignored here. Set it on the command that uses them`);
  }
  if (cmd.retry === null) return;
  if (special) sink.warning('/retry', 'command.retry.ignored', `${cmd.type} commands run as part of their parent run; retry is ignored here. Set it on the command that uses them`);
  validateRetry(cmd.retry, cmd, sink);
}

function validateRetry(r: RetryPolicyJson, cmd: Command, sink: DiagnosticSink): void {
  const at = (field: string, ...rest: (string | number)[]): string => pointer('/retry', field, ...rest);
  const attempts = r['maximum-attempts'];
  if (!isIntIn(attempts, 1, MAX_ATTEMPTS)) {
    sink.error(at('maximum-attempts'), 'command.retry.maximum-attempts-invalid', `maximum-attempts must be an integer from 1 to ${MAX_ATTEMPTS}, not ${attempts}`);
  } else if (attempts === 1) {
    sink.warning(at('maximum-attempts'), 'command.retry.no-retry',
      'maximum-attempts is 1 (the default), so a failed run is never retried; set it to 2 or more, or remove "retry"');
  }
  const initial = duration(r['initial-interval'], at('initial-interval'), 'initial-interval', sink);
  const maximum = duration(r['maximum-interval'], at('maximum-interval'), 'maximum-interval', sink);
  if (initial !== null && maximum !== null && maximum < initial) {
    sink.error(at('maximum-interval'), 'command.retry.maximum-interval-too-short',
      `maximum-interval ${q(r['maximum-interval'])} is shorter than initial-interval ${q(r['initial-interval'])}; make it at least as long`);
  }
  const coefficient = r['backoff-coefficient'];
  if (!(coefficient >= 1 && coefficient <= MAX_BACKOFF_COEFFICIENT)) {
    sink.error(at('backoff-coefficient'), 'command.retry.backoff-coefficient-invalid',
      `backoff-coefficient must be a number from 1 to ${MAX_BACKOFF_COEFFICIENT}, not ${coefficient}`);
  }

  const on = r['retry-on'];
  (on ?? []).forEach((c, i) => {
    if (!(RETRY_CLASSES as readonly string[]).includes(c)) {
      sink.error(at('retry-on', i), 'command.retry.retry-on-unknown', `retry-on value ${q(c)} is unknown; use one of ${listOf(RETRY_CLASSES)}`);
    }
  });
  const retriesExitCodes = on === null || on.includes('exit-code');

  const lists = ['retryable-exit-codes', 'non-retryable-exit-codes'] as const;
  for (const field of lists) {
    r[field].forEach((code, i) => {
      // A value the normaliser could not read is null here; it has reported it already.
      if (code === null) return;
      if (!isIntIn(code, 0, 255)) {
        sink.error(at(field, i), 'command.retry.exit-code-invalid', `${field} entries must be integers from 0 to 255, not ${code}`);
      }
    });
  }
  const retryable = new Set(r['retryable-exit-codes']);
  r['non-retryable-exit-codes'].forEach((code, i) => {
    if (code !== null && retryable.has(code)) {
      sink.error(at('non-retryable-exit-codes', i), 'command.retry.exit-code-in-both',
        `exit code ${code} is in both retryable-exit-codes and non-retryable-exit-codes; keep it in one`);
    }
  });
  if (!retriesExitCodes && r['retryable-exit-codes'].length > 0) {
    sink.warning(at('retryable-exit-codes'), 'command.retry.exit-codes-unused',
      'retryable-exit-codes has no effect because retry-on does not contain "exit-code"; add it to retry-on');
  }

  const factor = r['oom-memory-factor'];
  if (factor !== null && !(factor >= 1 && factor <= MAX_BACKOFF_COEFFICIENT)) {
    sink.error(at('oom-memory-factor'), 'command.retry.oom-memory-factor-invalid',
      `oom-memory-factor must be a number from 1 to ${MAX_BACKOFF_COEFFICIENT}, not ${factor}`);
  }
  const limit = r['oom-memory-limit'];
  if (limit !== null && parseMemoryMiB(limit) === null) {
    sink.error(at('oom-memory-limit'), 'command.retry.oom-memory-limit-invalid',
      `oom-memory-limit must be a memory size such as "16g" or "4096m", not ${q(limit)}`);
  }
  if (factor !== null && factor > 1) {
    if (on !== null && !on.includes('oom')) {
      sink.warning(at('oom-memory-factor'), 'command.retry.oom-unused', 'oom-memory-factor has no effect because retry-on does not contain "oom"; add it to retry-on');
    } else if (cmd['limit-memory'] === null) {
      sink.warning(at('oom-memory-factor'), 'command.retry.no-memory-limit', 'oom-memory-factor raises limit-memory, which this command does not set; set "limit-memory" (MiB)');
    } else if (limit === null) {
      sink.warning(at('oom-memory-factor'), 'command.retry.oom-unbounded', 'oom-memory-factor has no cap, so the memory limit grows with every attempt; set "oom-memory-limit", e.g. "16g"');
    }
  }
}
