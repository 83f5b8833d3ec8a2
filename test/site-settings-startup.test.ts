// Server settings read at start-up and applied live to the engine: pull-images-on-xnat-init pulls the enabled
// commands' images the engine lacks and reports what failed (a registry on 127.0.0.1 that refuses), and
// max-concurrent-finalizing-jobs caps the engine's finalizations while set.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi } from './helpers/http.ts';
import { ADMIN } from './helpers/settings-server.ts';

const MISSING = '127.0.0.1:5999/xcs-nowhere/tool:1';
let dir: string;
let server: RunningServer | undefined;

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function command(name: string, image: string): unknown {
  return { name, version: '1', image, type: 'docker', 'command-line': 'true', xnat: [{ name: `${name}-w`, contexts: ['xnat:projectData'] }] };
}

test('pull-images-on-xnat-init reports the enabled images it could not pull; max-concurrent-finalizing-jobs caps finalizations', async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-startup-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  const first = server;
  const api = jsonApi(() => first.url, ADMIN);
  for (const [name, image] of [['present', TEST_IMAGES.busybox], ['absent', MISSING], ['disabled', '127.0.0.1:5999/xcs-nowhere/other:1']]) {
    const id = await api<number>('POST', '/xapi/commands', command(name, image));
    const wrapper = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${id}`)).xnat[0].id;
    if (name !== 'disabled') await api('PUT', `/xapi/wrappers/${wrapper}/enabled`);
  }
  await api('POST', '/xapi/docker/server', { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'auto-cleanup': true,
    'pull-images-on-xnat-init': true, 'max-concurrent-finalizing-jobs': 1 });
  assert.equal(first.engine?.config.maxFinalizing, 1, 'the cap applies at once');
  await api('POST', '/xapi/docker/server', { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'auto-cleanup': true,
    'pull-images-on-xnat-init': true });
  assert.equal(first.engine?.config.maxFinalizing, (await api<{ concurrencyMaxFinalizingQueue: number }>('GET', '/xapi/jms_queues'))
    .concurrencyMaxFinalizingQueue, 'removed: back to the finalizing queue');
  await first.close();

  // Start again on the same data: the setting is read and the images pulled in the background.
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  const second = server;
  const api2 = jsonApi(() => second.url, ADMIN);
  type Report = { finished: string | null; pulled: string[]; present: string[]; failed: Array<{ image: string; message: string }> };
  let report: Report = { finished: null, pulled: [], present: [], failed: [] };
  for (let i = 0; i < 600 && report.finished === null; i++) {
    report = await api2<Report>('GET', '/xapi/docker/server/pull-on-init');
    if (report.finished === null) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(report.finished, 'the pull finished');
  assert.deepEqual(report.present, [TEST_IMAGES.busybox], 'an image the engine has is not pulled again');
  assert.deepEqual(report.failed.map((f) => f.image), [MISSING], 'only enabled commands count');
  assert.ok(report.failed[0].message.length > 0);
  delete process.env.XCS_ADMIN_PASSWORD;
});
