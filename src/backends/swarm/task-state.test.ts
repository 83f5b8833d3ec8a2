import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latestTask, pendingReasonOf, viewOf, xnatStatusOfTaskState, type SwarmNodeInfo, type SwarmTask } from './task-state.ts';

const node: SwarmNodeInfo = { id: 'node1234567890abc', hostname: 'vm', addr: '127.0.0.3', state: 'ready' };
const task = (state: string, over: Partial<SwarmTask['Status']> = {}): SwarmTask => ({
  ID: 't1', ServiceID: 's1', NodeID: node.id, Version: { Index: 5 }, DesiredState: 'running',
  Status: { Timestamp: '2026-01-01T00:00:00Z', State: state, Message: state, ...over },
});

test('task states become container states with exit codes', () => {
  assert.equal(viewOf('s1', undefined, undefined).status, 'created');
  assert.equal(viewOf('s1', task('pending'), node).status, 'created');
  const running = viewOf('s1', task('running', { ContainerStatus: { ContainerID: 'c1', ExitCode: 0 } }), node);
  assert.equal(running.status, 'running');
  assert.equal(running.started, true);
  assert.equal(running.containerId, 'c1');
  assert.equal(running.nodeId, node.id);
  const done = viewOf('s1', task('complete', { ContainerStatus: { ContainerID: 'c1', ExitCode: 0 } }), node);
  assert.deepEqual([done.status, done.exitCode, done.error], ['exited', 0, undefined]);
  const failed = viewOf('s1', task('failed', { Err: 'task: non-zero exit (3)', ContainerStatus: { ContainerID: 'c1', ExitCode: 3 } }), node);
  assert.deepEqual([failed.status, failed.exitCode], ['exited', 3]);
  const rejected = viewOf('s1', task('rejected', { Err: 'invalid mount config for type "bind": bind source path does not exist: /x' }), node);
  assert.deepEqual([rejected.status, rejected.exitCode, rejected.started], ['exited', 126, false]);
  assert.match(rejected.error ?? '', /bind source path does not exist/);
});

test('a node that went down ends its running task with a message naming the node', () => {
  const v = viewOf('s1', task('running', { ContainerStatus: { ContainerID: 'c1' } }), { ...node, state: 'down' });
  assert.equal(v.status, 'exited');
  assert.equal(v.exitCode, 126);
  assert.match(v.error ?? '', /Swarm node error: node vm \(127\.0\.0\.3, id node12345678\) went down/);
});

test('why a task is pending, in words', () => {
  assert.match(pendingReasonOf(task('pending', { Err: 'no suitable node (scheduling constraints not satisfied on 3 nodes)' })) ?? '',
    /^no node satisfies the run's placement constraints: no suitable node/);
  assert.match(pendingReasonOf(task('pending', { Err: 'insufficient resources on 2 nodes' })) ?? '', /memory, CPUs or generic resources/);
  assert.match(pendingReasonOf(undefined) ?? '', /0 replicas/);
  assert.equal(pendingReasonOf(task('running')), null);
});

test('the newest task wins; XNAT statuses of raw task states', () => {
  assert.equal(latestTask([{ ...task('failed'), ID: 'old', Version: { Index: 2 } }, { ...task('running'), ID: 'new', Version: { Index: 9 } }])?.ID, 'new');
  assert.equal(xnatStatusOfTaskState('complete'), 'Waiting');
  assert.equal(xnatStatusOfTaskState('running'), 'Running');
  assert.equal(xnatStatusOfTaskState('rejected'), 'Waiting (Failed (Rejected))');
  assert.equal(xnatStatusOfTaskState('weird'), null);
});
