/** The swarm backend on a real multi-node swarm: the shared conformance suite, then what only a swarm shows. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { exitFailure } from '../src/backends/failure.ts';
import type { ContainerSpec } from '../src/backends/types.ts';
import { createSwarmBackend, type SwarmBackend } from '../src/backends/swarm/swarm-backend.ts';
import { runBackendConformance } from '../src/backends/conformance/backend.case.ts';
import { ENTRYPOINT_MARKER, TEST_IMAGES } from './helpers/docker.ts';
import { SWARM_STEADY_NODE, SWARM_WORKERS, swarmHarness } from './helpers/swarm.ts';

const absent = await swarmHarness();

if (absent !== null) {
  test('swarm backend', { skip: absent }, () => undefined);
} else {
  runBackendConformance({
    name: 'swarm',
    // On the steady worker: test/e2e-swarm.test.ts freezes the other one, and test files run two at a time.
    newBackend: () => createSwarmBackend({ constraints: [SWARM_STEADY_NODE] }),
    images: { busybox: TEST_IMAGES.busybox, entrypoint: TEST_IMAGES.entrypoint, entrypointMarker: ENTRYPOINT_MARKER },
    skip: [
      {
        reason: 'swarm reports an OOM-killed task as exit code 137 only; the flag is known only for tasks on the manager, which runs none',
        tests: ['reports a container over its memory limit as OOM-killed'],
      },
    ],
  });
}

describe('swarm backend: what only a swarm shows', { skip: absent ?? false }, () => {
  const suiteId = randomUUID().slice(0, 8);
  const label = { 'org.xcs.test.swarm-backend': suiteId };
  let backend: SwarmBackend;
  let n = 0;
  const spec = (over: Partial<ContainerSpec> & { commandLine: string }): ContainerSpec => ({
    name: `xcs-swarm-test-${suiteId}-${++n}`, image: TEST_IMAGES.busybox, overrideEntrypoint: true, environment: {}, mounts: [],
    resources: {}, ...over, labels: { ...label, ...(over.labels ?? {}) },
  });

  before(async () => {
    backend = await createSwarmBackend();
  });

  after(async () => {
    for (const s of await backend.list({ labels: label })) await backend.remove(s.backendId);
    await backend.close();
  });

  test('a placement constraint puts the run on the labelled worker, and the record knows the node, task and container', async () => {
    const docker = new Docker({ socketPath: SWARM_WORKERS['worker-2'].slice('unix://'.length) });
    const worker2 = ((await docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    const { backendId } = await backend.create({ ...spec({ commandLine: 'echo placed' }), placement: { constraints: ['node.labels.xcs-node==worker-2'] } });
    await backend.start(backendId);
    const end = await backend.wait(backendId);
    assert.equal(end.exitCode, 0);
    assert.equal(end.nodeId, worker2);
    assert.ok(end.taskId);
    assert.ok(end.containerId);
    // The container really ran on worker 2's engine.
    const container = await docker.getContainer(end.containerId ?? '').inspect();
    assert.equal(container.State.ExitCode, 0);
    const placed = await backend.placementOf(backendId);
    assert.deepEqual([placed.serviceId, placed.taskId, placed.nodeId, placed.containerId, placed.state, placed.pendingReason],
      [backendId, end.taskId, worker2, end.containerId, 'complete', null]);
    assert.match(placed.node ?? '', new RegExp(`^node \\S+ \\(127\\.0\\.0\\.\\d, id ${worker2.slice(0, 12)}\\)$`));
  });

  test('an unsatisfiable constraint leaves the run pending with the reason in words, and it can be killed', async () => {
    const { backendId } = await backend.create({ ...spec({ commandLine: 'echo never' }), placement: { constraints: ['node.labels.xcs-node==nowhere'] } });
    await backend.start(backendId);
    const pending = await backend.inspect(backendId);
    assert.equal(pending.status, 'created');
    assert.equal(pending.taskState, 'pending');
    assert.match(pending.pendingReason ?? '', /no node satisfies the run's placement constraints: no suitable node \(scheduling constraints not satisfied on \d+ nodes/);
    assert.equal((await backend.placementOf(backendId)).pendingReason, pending.pendingReason);
    await backend.kill(backendId);
    const end = await backend.wait(backendId);
    assert.equal(end.status, 'exited');
    assert.equal(end.exitCode, null);
    assert.match(end.error ?? '', /killed before it ran \(no node satisfies/);
    assert.equal(exitFailure(end)?.code, 'backend.start-failed');
    // The service is gone from the swarm (XNAT's kill), the end is still known until the run engine removes it.
    assert.equal(await backend.findByName(`xcs-swarm-test-${suiteId}-${n}`), null);
    await backend.remove(backendId);
    assert.equal((await backend.inspect(backendId)).status, 'missing');
  });

  test('a service created with a hub\'s registry auth runs its image by reference; the swarm keeps no password to show', async () => {
    // No registry here: the image is tagged as a local registry's on the manager and the target node, whose engine
    // (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1, the harness's) runs the copy it has. What is checked: the engine takes
    // the X-Registry-Auth header, the task runs the image by reference, and the service shows no password.
    const repo = `127.0.0.1:5999/xcs-swarmauth-${suiteId}/busybox`;
    const engines = [new Docker(), new Docker({ socketPath: SWARM_WORKERS['worker-2'].slice('unix://'.length) })];
    for (const d of engines) await d.getImage(TEST_IMAGES.busybox).tag({ repo, tag: '1' });
    try {
      const password = `pw-${randomUUID()}`;
      const { backendId } = await backend.create({
        ...spec({ commandLine: 'echo pulled-or-present' }), image: `${repo}:1`, placement: { constraints: [SWARM_STEADY_NODE] },
        registryAuth: { username: 'xcs-robot', password, serverAddress: 'http://127.0.0.1:5999' },
      });
      const inspected = await engines[0].getService(backendId).inspect();
      assert.equal((inspected.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } }).ContainerSpec?.Image, `${repo}:1`);
      assert.doesNotMatch(JSON.stringify(inspected), new RegExp(password));
      await backend.start(backendId);
      const end = await backend.wait(backendId);
      assert.equal(end.exitCode, 0, end.error);
      const out: Buffer[] = [];
      for await (const c of backend.logs(backendId, { stream: 'stdout' })) out.push(c);
      assert.equal(Buffer.concat(out).toString(), 'pulled-or-present\n');
      await backend.remove(backendId);
    } finally {
      for (const d of engines) await d.getImage(`${repo}:1`).remove({ noprune: true }).catch(() => undefined);
    }
  });

  test('a kill keeps the logs written before it', async () => {
    const { backendId } = await backend.create(spec({ commandLine: 'echo before-kill; echo err-before >&2; exec sleep 600' }));
    await backend.start(backendId);
    for await (const chunk of backend.logs(backendId, { stream: 'stdout', follow: true })) if (chunk.toString().includes('before-kill')) break;
    await backend.kill(backendId);
    assert.equal((await backend.wait(backendId)).exitCode, 137);
    const read = async (stream: 'stdout' | 'stderr'): Promise<string> => {
      const parts: Buffer[] = [];
      for await (const c of backend.logs(backendId, { stream })) parts.push(c);
      return Buffer.concat(parts).toString();
    };
    assert.equal(await read('stdout'), 'before-kill\n');
    assert.equal(await read('stderr'), 'err-before\n');
  });
});
