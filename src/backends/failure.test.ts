import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitFailure } from './failure.ts';
import type { ContainerState } from './types.ts';

const base: ContainerState = { backendId: 'c1', status: 'exited', exitCode: 0, oomKilled: false, startedAt: null, finishedAt: null };

test('exit 0 is no failure; every failure has a code, a hint and names the container', () => {
  assert.equal(exitFailure(base), null);
  const cases: [Partial<ContainerState>, string][] = [
    [{ exitCode: 2 }, 'backend.non-zero-exit'],
    [{ exitCode: 137, oomKilled: true }, 'backend.oom-killed'],
    [{ exitCode: 0, oomKilled: true }, 'backend.oom-killed'],
    [{ status: 'missing', exitCode: null }, 'backend.container-vanished'],
    [{ status: 'dead', exitCode: null }, 'backend.container-dead'],
  ];
  for (const [over, code] of cases) {
    const f = exitFailure({ ...base, ...over });
    assert.equal(f?.code, code);
    assert.equal(f?.path, 'c1');
    assert.ok(f?.hint, code);
  }
});

test('an exit by signal says which signal', () => {
  assert.match(exitFailure({ ...base, exitCode: 137 })?.message ?? '', /code 137 \(signal 9\)/);
  assert.doesNotMatch(exitFailure({ ...base, exitCode: 1 })?.message ?? '', /signal/);
});
