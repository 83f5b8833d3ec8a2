// Two replicas on one database: a setting saved through one reaches the other's store when it re-reads, and its
// listeners (which apply the settings to the engine) hear of it once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../archive/db.ts';
import { SettingsStore } from './settings.ts';

test('a queue setting saved by one replica is seen by the other after refresh, announced once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-settings-refresh-'));
  const a = openDatabase(join(dir, 'xcs.db'));
  const b = openDatabase(join(dir, 'xcs.db'));
  try {
    const first = await SettingsStore.open(a.db);
    const second = await SettingsStore.open(b.db);
    const heard: number[] = [];
    second.onChange((s) => heard.push(s.queues.concurrencyMaxFinalizingQueue));
    assert.equal(await second.refresh(), false);
    await first.setQueues({ concurrencyMaxFinalizingQueue: 3 });
    assert.notEqual(second.queues().concurrencyMaxFinalizingQueue, 3);
    assert.equal(await second.refresh(), true);
    assert.equal(second.queues().concurrencyMaxFinalizingQueue, 3);
    assert.equal(await second.refresh(), false);
    assert.deepEqual(heard, [3]);
  } finally {
    await a.db.destroy();
    await b.db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});
