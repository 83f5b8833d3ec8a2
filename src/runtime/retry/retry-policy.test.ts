import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateCommand, type Command } from '../../command/index.ts';
import { backoffDelayMs, compileRunPolicy, decideRetry, failureClassOf, JITTER, jitterFraction, raisedMemoryMiB, type RetryPolicy, type RunEnd } from './retry-policy.ts';
import { moveBuildRoot } from './retrier.ts';
import { simpleRunSpec, writableMount } from '../store/simple-spec.ts';

function policyOf(retry: Record<string, unknown>, extra: Record<string, unknown> = {}): RetryPolicy {
  const r = validateCommand({ name: 'c', image: 'x/y:1', 'limit-memory': 100, retry, ...extra });
  assert.deepEqual(r.errors, []);
  const p = compileRunPolicy(r.command as Command).retry;
  assert.ok(p);
  return p;
}

const end = (o: Partial<RunEnd>): RunEnd => ({ id: 1, status: 'Failed', failureCode: 'non-zero-exit', exitCode: '1', killRequested: false, attempt: 1, ...o });

test('compiling: no retry block or one attempt is no policy; defaults are Temporal\'s', () => {
  assert.equal(compileRunPolicy({ retry: null, 'max-runtime': null }).retry, null);
  assert.equal(compileRunPolicy({}).retry, null, 'a command stored before the keys existed');
  assert.equal(compileRunPolicy({ 'max-runtime': '1h30m' }).maxRuntimeMs, 5_400_000);
  const p = policyOf({ 'maximum-attempts': 3 });
  assert.equal(p.initialIntervalMs, 1000);
  assert.equal(p.backoffCoefficient, 2);
  assert.equal(p.maximumIntervalMs, 100_000, '100 × initial-interval');
  assert.deepEqual(p.retryOn, ['lost', 'oom', 'engine-error', 'exit-code']);
  assert.equal(policyOf({ 'maximum-attempts': 3, 'oom-memory-limit': '16g', 'oom-memory-factor': 1.5 }).oomMemoryLimitMiB, 16_384);
});

test('backoff: initial × coefficient^(n−1), capped, minus a deterministic jitter of at most 20%', () => {
  const p = policyOf({ 'maximum-attempts': 10, 'initial-interval': '10s', 'backoff-coefficient': 3, 'maximum-interval': '5m' });
  const runId = 42;
  const f = jitterFraction(runId);
  assert.ok(f >= 0 && f < 1);
  const expected = [10_000, 30_000, 90_000, 270_000, 300_000, 300_000];
  expected.forEach((raw, i) => {
    const d = backoffDelayMs(p, i + 1, runId);
    assert.equal(d, Math.round(raw * (1 - JITTER * f)), `after attempt ${i + 1}`);
    assert.ok(d <= raw && d >= raw * (1 - JITTER), 'never longer than the capped delay, at most 20% shorter');
  });
  assert.equal(backoffDelayMs(p, 2, runId), backoffDelayMs(p, 2, runId), 'the same run always gets the same delay');
  const spread = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((id) => backoffDelayMs(p, 1, id)));
  assert.ok(spread.size >= 6, 'runs of a batch are spread apart');
  assert.equal(backoffDelayMs(policyOf({ 'maximum-attempts': 2, 'initial-interval': '0s' }), 1, 9), 0);
});

test('failure classes: kills by users, uploads, setups and missing images are never retried', () => {
  assert.equal(failureClassOf(end({ failureCode: 'container-vanished' })), 'lost');
  assert.equal(failureClassOf(end({ failureCode: 'oom' })), 'oom');
  assert.equal(failureClassOf(end({ failureCode: 'launch-failed' })), 'engine-error');
  assert.equal(failureClassOf(end({ failureCode: 'non-zero-exit' })), 'exit-code');
  assert.equal(failureClassOf(end({ failureCode: 'timeout' })), 'timeout');
  for (const code of ['upload-failed', 'output-missing', 'setup-failed', 'wrapup-failed', 'image-missing', 'mount-missing', 'killed']) {
    assert.equal(failureClassOf(end({ failureCode: code })), null, code);
  }
  assert.equal(failureClassOf(end({ failureCode: 'non-zero-exit', killRequested: true })), null);
});

test('decisions: classes, exit-code lists, the last attempt', () => {
  const p = policyOf({ 'maximum-attempts': 3, 'retryable-exit-codes': [75, 137], 'non-retryable-exit-codes': [2] });
  const yes = decideRetry(p, end({ exitCode: '75' }));
  assert.ok(yes.retry);
  assert.equal(yes.retryClass, 'exit-code');
  assert.equal(yes.nextAttempt, 2);
  assert.deepEqual(decideRetry(p, end({ exitCode: '2' })), { retry: false, reason: 'exit code 2 is non-retryable' });
  assert.deepEqual(decideRetry(p, end({ exitCode: '1' })), { retry: false, reason: 'exit code 1 is not in retryable-exit-codes' });
  assert.deepEqual(decideRetry(p, end({ exitCode: '75', attempt: 3 })), { retry: false, reason: 'attempt 3 of 3 was the last' });
  assert.deepEqual(decideRetry(p, end({ failureCode: 'timeout', status: 'Failed (Timeout)' })), { retry: false, reason: 'retry-on does not include timeout' });
  assert.ok(decideRetry(policyOf({ 'maximum-attempts': 2, 'retry-on': ['timeout'] }), end({ failureCode: 'timeout' })).retry);
  const any = policyOf({ 'maximum-attempts': 2 });
  assert.ok(decideRetry(any, end({ exitCode: '1' })).retry, 'without retryable-exit-codes any non-zero code is retried');
  assert.deepEqual(decideRetry(any, end({ killRequested: true })), { retry: false, reason: 'killed on request' });
  assert.deepEqual(decideRetry(any, end({ failureCode: 'upload-failed', status: 'Failed (Upload)' })), { retry: false, reason: 'Failed (Upload) is never retried' });
  assert.equal(decideRetry(null, end({})).retry, false);
});

test('out of memory: the limit grows by the factor, up to the cap', () => {
  const p = policyOf({ 'maximum-attempts': 5, 'oom-memory-factor': 1.5, 'oom-memory-limit': '200m' });
  assert.equal(raisedMemoryMiB(p, 100), 150);
  assert.equal(raisedMemoryMiB(p, 150), 200, 'capped');
  assert.equal(raisedMemoryMiB(p, 200), 200);
  assert.equal(raisedMemoryMiB(p, 300), 300, 'a limit above the cap is not lowered');
  assert.equal(raisedMemoryMiB(p, null), null, 'no limit, nothing to raise');
  assert.equal(raisedMemoryMiB(policyOf({ 'maximum-attempts': 2 }), 100), 100, 'no factor');
});

test('the next attempt gets build directories of its own, translated host paths included', () => {
  const spec = simpleRunSpec({ image: 'x/y:1', commandLine: 'true', mounts: [
    writableMount('out', '/output', '/data/build/k1/1-mount-out'),
    { ...writableMount('in', '/input', '/data/build/k1/2-mount-in'), 'container-host-path': '/mnt/data/build/k1/2-mount-in' },
    { ...writableMount('ro', '/ro', '/data/archive/P/x'), writable: false },
  ] });
  const moved = moveBuildRoot(spec, '/data/build/k1', '/data/build/k1.retry-7');
  assert.deepEqual(moved.mounts.map((m) => [m['xnat-host-path'], m['container-host-path']]), [
    ['/data/build/k1.retry-7/1-mount-out', '/data/build/k1.retry-7/1-mount-out'],
    ['/data/build/k1.retry-7/2-mount-in', '/mnt/data/build/k1.retry-7/2-mount-in'],
    ['/data/archive/P/x', '/data/archive/P/x'],
  ]);
  assert.equal(spec.mounts[0]['xnat-host-path'], '/data/build/k1/1-mount-out', 'the failed run keeps its spec');
});
