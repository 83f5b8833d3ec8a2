import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, parseMemoryMiB } from '../core/duration.ts';
import { validateCommand, type Command } from './index.ts';

const base = { name: 'c', image: 'x/y:1', 'limit-memory': 512 };

function findings(extra: Record<string, unknown>): { errors: string[]; warnings: string[]; command: Command | null } {
  const r = validateCommand({ ...base, ...extra });
  const show = (d: { path: string; message: string }): string => `${d.path}: ${d.message}`;
  return { errors: r.errors.map(show), warnings: r.warnings.map(show), command: r.command };
}

test('durations and sizes read the way the command format documents them', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1d2h'), 93_600_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0s'), 0);
  for (const bad of ['', '10', '30m1h', '1h1h', '1.5h', '2 hours', 'h', '-5s', '10s ']) {
    assert.equal(parseDuration(bad === '10s ' ? '10s x' : bad), null, bad);
  }
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(2000), '2s');
  assert.equal(parseMemoryMiB('16g'), 16_384);
  assert.equal(parseMemoryMiB('4096m'), 4096);
  assert.equal(parseMemoryMiB('512Mi'), 512);
  assert.equal(parseMemoryMiB('2GB'), 2048);
  assert.equal(parseMemoryMiB('300'), 300);
  assert.equal(parseMemoryMiB('lots'), null);
  assert.equal(parseMemoryMiB('0'), null);
});

test('a full retry policy and max-runtime are valid and normalised with their defaults', () => {
  const full = findings({
    'max-runtime': '2h',
    retry: { 'maximum-attempts': 3, 'initial-interval': '10s', 'backoff-coefficient': 2, 'maximum-interval': '5m',
      'retry-on': ['lost', 'oom', 'engine-error', 'exit-code'], 'retryable-exit-codes': [75, 137], 'non-retryable-exit-codes': [2],
      'oom-memory-factor': 1.5, 'oom-memory-limit': '16g' },
  });
  assert.deepEqual(full.errors, []);
  assert.deepEqual(full.warnings, []);
  assert.equal(full.command?.['max-runtime'], '2h');
  assert.equal(full.command?.retry?.['maximum-attempts'], 3);

  const minimal = findings({ retry: { 'maximum-attempts': '4' } });
  assert.deepEqual(minimal.errors, []);
  const r = minimal.command?.retry;
  assert.ok(r);
  assert.equal(r['maximum-attempts'], 4, 'a numeric string is read as a number, as XNAT reads numbers');
  assert.equal(r['initial-interval'], '1s');
  assert.equal(r['backoff-coefficient'], 2);
  assert.equal(r['maximum-interval'], null);
  assert.equal(r['retry-on'], null, 'null: the default classes');
  assert.deepEqual(r['retryable-exit-codes'], []);

  const none = findings({});
  assert.equal(none.command?.retry, null, 'absent: no retry');
  assert.equal(none.command?.['max-runtime'], null);
});

test('every bad field of a retry policy has its message at its JSON pointer', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ 'maximum-attempts': 0 }, '/retry/maximum-attempts: maximum-attempts must be an integer from 1 to 20, not 0'],
    [{ 'maximum-attempts': 21 }, '/retry/maximum-attempts: maximum-attempts must be an integer from 1 to 20, not 21'],
    [{ 'maximum-attempts': 2.5 }, '/retry/maximum-attempts: maximum-attempts must be an integer from 1 to 20, not 2.5'],
    [{ 'maximum-attempts': 3, 'initial-interval': '10' },
      '/retry/initial-interval: initial-interval must be a duration such as "10s", "5m", "2h" or "1h30m", not "10"'],
    [{ 'maximum-attempts': 3, 'maximum-interval': 'soon' },
      '/retry/maximum-interval: maximum-interval must be a duration such as "10s", "5m", "2h" or "1h30m", not "soon"'],
    [{ 'maximum-attempts': 3, 'initial-interval': '10s', 'maximum-interval': '1s' },
      '/retry/maximum-interval: maximum-interval "1s" is shorter than initial-interval "10s"; make it at least as long'],
    [{ 'maximum-attempts': 3, 'backoff-coefficient': 0.5 }, '/retry/backoff-coefficient: backoff-coefficient must be a number from 1 to 100, not 0.5'],
    [{ 'maximum-attempts': 3, 'retry-on': ['lost', 'node-loss'] },
      '/retry/retry-on/1: retry-on value "node-loss" is unknown; use one of lost, oom, engine-error, exit-code, timeout'],
    [{ 'maximum-attempts': 3, 'retryable-exit-codes': [1, 300] }, '/retry/retryable-exit-codes/1: retryable-exit-codes entries must be integers from 0 to 255, not 300'],
    [{ 'maximum-attempts': 3, 'non-retryable-exit-codes': [-1] }, '/retry/non-retryable-exit-codes/0: non-retryable-exit-codes entries must be integers from 0 to 255, not -1'],
    [{ 'maximum-attempts': 3, 'retryable-exit-codes': [2, 75], 'non-retryable-exit-codes': [75] },
      '/retry/non-retryable-exit-codes/0: exit code 75 is in both retryable-exit-codes and non-retryable-exit-codes; keep it in one'],
    [{ 'maximum-attempts': 3, 'oom-memory-factor': 0.5 }, '/retry/oom-memory-factor: oom-memory-factor must be a number from 1 to 100, not 0.5'],
    [{ 'maximum-attempts': 3, 'oom-memory-limit': 'lots' }, '/retry/oom-memory-limit: oom-memory-limit must be a memory size such as "16g" or "4096m", not "lots"'],
  ];
  for (const [retry, expected] of cases) {
    const f = findings({ retry });
    assert.deepEqual(f.errors, [expected], JSON.stringify(retry));
  }
  assert.deepEqual(findings({ 'max-runtime': '2 hours' }).errors,
    ['/max-runtime: max-runtime must be a duration such as "10s", "5m", "2h" or "1h30m", not "2 hours"']);
  assert.deepEqual(findings({ 'max-runtime': '0s' }).errors, ['/max-runtime: max-runtime must be from 1s to 30d, not "0s"']);
  assert.deepEqual(findings({ 'max-runtime': '31d' }).errors, ['/max-runtime: max-runtime must be from 1s to 30d, not "31d"']);
  assert.match(findings({ retry: 3 }).errors.join(), /^\/retry: expected a retry policy \(an object/);
  assert.match(findings({ retry: { 'maximum-attempts': 'many' } }).errors.join(), /^\/retry\/maximum-attempts: expected a number/);
});

test('policies that cannot do what they seem to are warned about', () => {
  const w = (retry: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] => findings({ retry, ...extra }).warnings;
  assert.match(w({}).join(), /maximum-attempts is 1 \(the default\), so a failed run is never retried/);
  assert.match(w({ 'maximum-attempts': 2, 'retry-on': ['lost'], 'retryable-exit-codes': [75] }).join(), /retryable-exit-codes has no effect/);
  assert.match(w({ 'maximum-attempts': 2, 'retry-on': ['lost'], 'oom-memory-factor': 2 }).join(), /oom-memory-factor has no effect/);
  assert.match(w({ 'maximum-attempts': 2, 'oom-memory-factor': 2 }).join(), /no cap/);
  assert.match(w({ 'maximum-attempts': 2, 'oom-memory-factor': 2 }, { 'limit-memory': null }).join(), /does not set/);
  assert.match(w({ 'maximum-attempts': 2, unknownKey: 1 }).join(), /"unknownKey" is not a field of a retry policy/);
});
