import { test } from 'node:test';
import assert from 'node:assert/strict';
import { viewOf } from './container-state.ts';
import { parseExitLine } from './job-dir.ts';
import { endCauseOf, pendingDescription, phaseOf } from './job-states.ts';
import { parseSqueue, parseSubmitted, type SlurmJob } from './squeue.ts';

const job = (state: string, reason = 'None'): SlurmJob => ({
  jobId: '12', name: 'xcs-a-run-1', state, reason, node: 'node1', comment: 'xcs:a:1', startTime: null, endTime: null,
});
const none = { started: null, exit: null, error: null };

test('squeue lines and sbatch --parsable answers are read exactly', () => {
  const line = ['42', 'xcs-a-run-1', 'PENDING', 'Resources', '', 'xcs:a:1', 'N/A', 'N/A'].join('\x1f');
  const [j] = parseSqueue(`${line}\nnot a job line\n`);
  assert.deepEqual({ ...j }, { jobId: '42', name: 'xcs-a-run-1', state: 'PENDING', reason: 'Resources', node: null, comment: 'xcs:a:1',
    startTime: null, endTime: null });
  assert.equal(parseSqueue(['7', 'n', 'RUNNING', 'None', 'vm', '(null)', '2026-12-06T23:52:17', 'Unknown'].join('\x1f'))[0].startTime?.getFullYear(), 2026);
  assert.equal(parseSubmitted('123\n'), '123');
  assert.equal(parseSubmitted('123;cluster\n'), '123');
  assert.equal(parseSubmitted('sbatch: error'), null);
});

test('Slurm states map to phases; unknown states never end a run early', () => {
  assert.equal(phaseOf('PENDING'), 'pending');
  assert.equal(phaseOf('RUNNING'), 'running');
  assert.equal(phaseOf('COMPLETING'), 'running');
  assert.equal(phaseOf('CANCELLED+'), 'ended');
  assert.equal(phaseOf('OUT_OF_MEMORY'), 'ended');
  assert.equal(phaseOf('SOMETHING_NEW'), 'running');
});

test('pending reasons are shown in Slurm\'s words with a sentence for people', () => {
  assert.equal(pendingDescription('Resources').text, 'PENDING (Resources)');
  assert.match(pendingDescription('Resources').hint, /free/);
  assert.match(pendingDescription('SomeNewReason').hint, /scontrol show job/);
  const v = viewOf('12', job('PENDING', 'Resources'), none, false);
  assert.equal(v.state.status, 'running');
  assert.equal(v.pending?.text, 'PENDING (Resources)');
});

test('every terminal cause Slurm gives becomes a code with a hint', () => {
  for (const [state, code] of [['TIMEOUT', 'timeout'], ['OUT_OF_MEMORY', 'oom'], ['NODE_FAIL', 'node-fail'], ['PREEMPTED', 'preempted'],
    ['BOOT_FAIL', 'boot-fail'], ['DEADLINE', 'deadline'], ['CANCELLED', 'cancelled']] as const) {
    const cause = endCauseOf(state);
    assert.equal(cause?.code, code);
    assert.ok((cause?.hint ?? '').length > 10);
  }
  assert.equal(endCauseOf('COMPLETED'), null);
  assert.equal(endCauseOf('FAILED'), null);
});

test('the end: the job\'s record of its container first, then what Slurm says', () => {
  const exit = parseExitLine('3 false 2026-12-07T00:06:48.635048944Z 2026-12-07T00:06:48.793920593Z');
  const done = viewOf('12', job('FAILED'), { started: null, exit, error: null }, false);
  assert.equal(done.state.status, 'exited');
  assert.equal(done.state.exitCode, 3);
  assert.equal(done.state.oomKilled, false);
  // The engine's OOM flag, or Slurm's OUT_OF_MEMORY without a record.
  assert.equal(viewOf('12', job('FAILED'), { ...none, exit: parseExitLine('137 true x y') }, false).state.oomKilled, true);
  const slurmOom = viewOf('12', job('OUT_OF_MEMORY'), none, false);
  assert.deepEqual([slurmOom.state.exitCode, slurmOom.state.oomKilled], [137, true]);
  // A time limit: the container was killed (137) and the cause says why.
  const timeout = viewOf('12', job('TIMEOUT'), { ...none, exit: parseExitLine('137 false 2026-12-07T00:06:48Z 2026-12-07T00:07:48Z') }, false);
  assert.equal(timeout.slurmEnd?.code, 'timeout');
  assert.match(timeout.state.error ?? '', /time limit/);
  // Cancelled by XCS while pending: as if SIGKILLed.
  assert.equal(viewOf('12', job('CANCELLED'), none, true).state.exitCode, 137);
  // The node died with the job: no record, an error that says so.
  assert.match(viewOf('12', job('NODE_FAIL'), none, false).state.error ?? '', /node/);
  // Forgotten by Slurm and nothing recorded.
  assert.match(viewOf('12', null, none, false).state.error ?? '', /no longer knows/);
  // The engine never started the container (a program the image lacks).
  assert.match(viewOf('12', job('FAILED'), { ...none, exit: parseExitLine('127 false 0001-01-01T00:00:00Z 0001-01-01T00:00:00Z') }, false)
    .state.error ?? '', /could not start/);
  // A mount source missing on the node.
  assert.match(viewOf('12', job('FAILED'), { ...none, error: 'mount-missing /shared/x' }, false).state.error ?? '', /\/shared\/x does not exist on node node1/);
});
