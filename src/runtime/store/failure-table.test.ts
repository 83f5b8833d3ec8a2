import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XcsError } from '../../core/errors.ts';
import { BackendErrorCode } from '../../backends/types.ts';
import { FAILURE_CODES, FAILURES, failureOfErrorCode } from './failure-table.ts';
import { failureCodeOf } from './failures.ts';
import { isTerminal } from './state-machine.ts';
import { failureClassOf } from '../retry/retry-policy.ts';

test('every failure code has one row: a terminal status, a hint, a retry class or none', () => {
  assert.deepEqual(Object.keys(FAILURES).sort(), [...FAILURE_CODES].sort());
  for (const code of FAILURE_CODES) {
    assert.ok(isTerminal(FAILURES[code].status), code);
    assert.ok(FAILURES[code].hint.length > 20, code);
  }
});

test('an error code stands for at most one failure', () => {
  const seen = new Map<string, string>();
  for (const code of FAILURE_CODES) {
    for (const cause of FAILURES[code].causes ?? []) {
      assert.equal(seen.get(cause), undefined, `${cause} is a cause of ${seen.get(cause)} and ${code}`);
      seen.set(cause, code);
    }
  }
});

test('backend errors end runs through the table; unknown errors get the fallback', () => {
  const e = (code: string) => new XcsError(code, 'x');
  assert.equal(failureCodeOf(e(BackendErrorCode.imageMissing), 'staging-failed'), 'image-missing');
  assert.equal(failureCodeOf(e(BackendErrorCode.nameConflict), 'staging-failed'), 'launch-failed');
  assert.equal(failureCodeOf(e(BackendErrorCode.unsupported), 'staging-failed'), 'launch-failed');
  assert.equal(failureCodeOf(e('secret-missing'), 'staging-failed'), 'secret-missing');
  assert.equal(failureCodeOf(e('something.else'), 'upload-failed'), 'upload-failed');
  assert.equal(failureCodeOf(Object.assign(new Error('full'), { code: 'ENOSPC' }), 'upload-failed'), 'disk-full');
  assert.equal(failureOfErrorCode('backend.request-failed'), null);
});

test('retry classes come from the table', () => {
  const end = (failureCode: string, killRequested = false) => ({ id: 1, status: 'Failed', failureCode, exitCode: null, killRequested, attempt: 1 });
  const classes = Object.fromEntries(FAILURE_CODES.map((c) => [c, failureClassOf(end(c))]));
  assert.deepEqual(classes, {
    'image-missing': null, 'mount-missing': null, oom: 'oom', 'non-zero-exit': 'exit-code', killed: null, 'output-missing': null,
    'upload-failed': null, 'resolution-failed': null, 'setup-failed': null, 'wrapup-failed': null, 'launch-failed': 'engine-error',
    'container-vanished': 'lost', 'staging-failed': 'engine-error', 'disk-full': null, timeout: 'timeout', 'secret-missing': null,
    'container-removed': 'lost', 'node-lost': 'lost', 'engine-unavailable': 'engine-error',
  });
  assert.equal(failureClassOf(end('oom', true)), null, 'a kill asked for is never retried');
});
