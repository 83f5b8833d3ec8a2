// The run engine's backend follows the server settings: docker → swarm on the same engine (a swarm manager), the
// engine's event subscription moved over, a backend that cannot connect leaving the current one in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SelectedBackend } from '../src/app/selected-backend.ts';
import type { BackendEvent } from '../src/backends/types.ts';
import { TEST_IMAGES } from './helpers/docker.ts';
import { SWARM_STEADY_NODE, swarmHarness } from './helpers/swarm.ts';

const absent = await swarmHarness();

test('selecting swarm swaps the backend and moves the event subscription; an unreachable one is refused', { skip: absent ?? false }, async () => {
  const selected = await SelectedBackend.connect('docker');
  const labels = { 'org.xcs.test.engine-backend': randomUUID() };
  const sub = selected.events({ labels });
  const seen: BackendEvent[] = [];
  const reading = (async () => { for await (const e of sub) { seen.push(e); if (e.status === 'died') break; } })();
  try {
    assert.equal(selected.kind, 'docker');
    await selected.select('swarm', 'unix:///var/run/docker.sock');
    assert.equal(selected.kind, 'swarm');
    assert.equal(selected.capabilities.gpus, false);
    await assert.rejects(selected.select('swarm', 'unix:///nonexistent/docker.sock'), /unix:\/\/\/nonexistent/);
    assert.equal(selected.kind, 'swarm', 'a backend that cannot connect leaves the current one');
    const { backendId } = await selected.create({ name: `xcs-engine-backend-${labels['org.xcs.test.engine-backend'].slice(0, 8)}`,
      image: TEST_IMAGES.busybox, commandLine: 'true', overrideEntrypoint: true, environment: {}, mounts: [], labels, resources: {},
      placement: { constraints: [SWARM_STEADY_NODE] } });
    await selected.start(backendId);
    assert.equal((await selected.wait(backendId)).exitCode, 0);
    await reading;
    assert.deepEqual(seen.map((e) => e.status), ['created', 'started', 'died'], 'the subscription opened on docker hears the swarm run');
    await selected.remove(backendId);
  } finally {
    sub.close();
    await selected.close();
  }
});
