// SelectedBackend.open on an engine that does not answer yet, with the real Docker engine appearing behind a unix
// socket that relays to it: every call fails with the engine's reason meanwhile, a selection made while waiting is
// the one waited for, the engine is taken up once it answers (its events then reach a subscription made before),
// and a closed selection stops trying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { SelectedBackend } from '../src/app/selected-backend.ts';
import { isXcsError } from '../src/core/errors.ts';
import { ensureDockerHarness, relayEngine } from './helpers/docker.ts';
import { withTempDir } from './helpers/temp.ts';

async function eventually(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - t0 < ms, what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('waiting for an engine: refusals with its reason, the latest selection waited for, taken up when it answers', async () => {
  await ensureDockerHarness();
  await withTempDir('xcs-backend-wait-', async (dir) => {
    const first = join(dir, 'first.sock');
    const second = join(dir, 'second.sock');
    const connected: string[] = [];
    const backend = await SelectedBackend.open('docker', { host: `unix://${first}` }, { onConnected: (kind) => connected.push(kind) });
    const relays: Server[] = [];
    try {
      assert.equal(backend.connected, false);
      assert.equal(backend.waitingReason?.code, 'backend.unavailable');
      await assert.rejects(backend.ping(), (e) => isXcsError(e) && e.code === 'backend.unavailable' && e.message.includes(first));
      await assert.rejects(backend.inspect('anything'), (e) => isXcsError(e) && e.code === 'backend.unavailable',
        'never "missing": a container cannot be judged gone on the word of an engine nobody could ask');
      await assert.rejects(backend.list(), (e) => isXcsError(e) && e.code === 'backend.unavailable');
      const events = backend.events();

      // Another host selected while waiting: the wait is for that one now; the first appearing changes nothing.
      await assert.rejects(backend.select('docker', `unix://${second}`), (e) => isXcsError(e) && e.message.includes(second));
      relays.push(await relayEngine(first));
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(backend.connected, false, 'the first host is no longer the one waited for');
      relays.push(await relayEngine(second));
      await eventually(() => backend.connected, 'the selected engine was not taken up once it answered');
      assert.deepEqual(connected, ['docker']);
      assert.equal(backend.waitingReason, null);
      await backend.ping();

      // The subscription made while waiting now carries the engine's events.
      const seen: string[] = [];
      void (async () => { for await (const e of events) seen.push(e.backendId); })();
      const { backendId } = await backend.create({ name: `xcs-backend-wait-${process.pid}`, image: 'xcs-test/busybox:latest', commandLine: 'true',
        overrideEntrypoint: true, environment: {}, mounts: [], labels: {}, resources: {}, network: 'none' });
      try {
        await backend.start(backendId);
        await eventually(() => seen.includes(backendId), 'no event reached the subscription made while waiting');
      } finally {
        events.close();
        await backend.remove(backendId);
      }
    } finally {
      await backend.close();
      for (const r of relays) r.close();
    }
  });
});

test('a closed selection stops waiting', async () => {
  await withTempDir('xcs-backend-wait-closed-', async (dir) => {
    const socket = join(dir, 'late.sock');
    let connected = 0;
    const backend = await SelectedBackend.open('docker', { host: `unix://${socket}` }, { onConnected: () => { connected++; } });
    await backend.close();
    const relay = await relayEngine(socket);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(connected, 0);
      assert.equal(backend.connected, false);
    } finally {
      relay.close();
    }
  });
});
