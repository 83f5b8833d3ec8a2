// A server whose container engine does not answer at start-up (XCS started before Docker) serves the archive and
// the run records at once, reports the backend failing, fails a launch with the engine's reason, and once the
// engine answers (a socket relaying to the real one appears) takes it up by itself: the next run completes. A
// backend that cannot work at all (a host XCS cannot speak to) leaves the server without a container service: its
// endpoints answer 503 saying so, not a 404 that reads like a wrong URL, and without the engine's address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { startServer } from '../src/app/server.ts';
import { ensureDockerHarness, relayEngine, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { ADMIN } from './helpers/settings-server.ts';
import { withTempDir } from './helpers/temp.ts';

/** Runs `fn` with `DOCKER_HOST` (the backend's default host on a fresh data directory) and the admin password set. */
async function withDockerHost<T>(host: string, fn: () => Promise<T>): Promise<T> {
  const saved = { host: process.env.DOCKER_HOST, password: process.env.XCS_ADMIN_PASSWORD };
  process.env.DOCKER_HOST = host;
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  try {
    return await fn();
  } finally {
    if (saved.host === undefined) delete process.env.DOCKER_HOST; else process.env.DOCKER_HOST = saved.host;
    if (saved.password === undefined) delete process.env.XCS_ADMIN_PASSWORD; else process.env.XCS_ADMIN_PASSWORD = saved.password;
  }
}

const command = {
  name: 'late-engine', version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'command-line': 'echo ran', 'override-entrypoint': true,
  xnat: [{ name: 'late-engine-project', contexts: ['xnat:projectData'], 'external-inputs': [{ name: 'project', type: 'Project', required: true }] }],
};

test('a server started before its engine serves at once, fails launches with the reason, and takes the engine up when it answers', async () => {
  await ensureDockerHarness();
  await withTempDir('xcs-late-engine-', async (dir) => {
    const socket = join(dir, 'engine.sock');
    await withDockerHost(`unix://${socket}`, async () => {
      const server = await startServer({ port: 0, dataDir: join(dir, 'data') });
      let relay: Server | undefined;
      try {
        const api = jsonApi(() => server.url, ADMIN);
        const get = (path: string) => fetch(`${server.url}${path}`, { headers: ADMIN });
        assert.deepEqual(await api('GET', '/xapi/containers'), [], 'the run records are served');
        const ready = await get('/health/ready');
        assert.equal(ready.status, 503);
        assert.equal((await ready.json() as { checks: Record<string, string> }).checks.backend, 'failing');

        await server.opened.archive.createProject({ id: 'P' }, 'admin');
        const wrapper = await registerEnabled(api, command);
        const launch = () => api<{ status: string; id: number }>('POST', `/xapi/wrappers/${wrapper}/root/project/launch`, { project: '/archive/projects/P' });
        const early = await launch();
        const failed = await until(server.url, early.id, (s) => /^(Failed|Complete|Killed)/.test(s));
        assert.equal(failed.status, 'Failed (Container launch)');
        assert.equal(failed['failure-code'], 'engine-unavailable');
        assert.ok(failed.history.some((h) => (h.message ?? '').includes(`The Docker engine at unix://${socket} does not answer`)), JSON.stringify(failed.history));

        relay = await relayEngine(socket);
        const t0 = Date.now();
        while ((await get('/health/ready')).status !== 200) {
          assert.ok(Date.now() - t0 < 15_000, 'the server did not take the engine up once it answered');
          await new Promise((r) => setTimeout(r, 200));
        }
        const late = await launch();
        const done = await until(server.url, late.id, (s) => /^(Failed|Complete|Killed)/.test(s));
        assert.equal(done.status, 'Complete', JSON.stringify(done.history));
      } finally {
        await server.close();
        await removeInstanceContainers(join(dir, 'data'));
        relay?.close();
      }
    });
  });
});

interface Record_ { status: string; 'failure-code': string | null; history: { status: string; message: string | null }[] }

async function until(url: string, id: number, done: (status: string) => boolean): Promise<Record_> {
  const t0 = Date.now();
  for (;;) {
    const c = await (await fetch(`${url}/xapi/containers/${id}`, { headers: ADMIN })).json() as Record_;
    if (done(c.status)) return c;
    assert.ok(Date.now() - t0 < 60_000, `run ${id}: ${c.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a backend that cannot work leaves the server without a container service: its endpoints answer 503, others 404', async () => {
  await withTempDir('xcs-no-backend-', async (dir) => {
    await withDockerHost('ftp://engine.invalid', async () => {
      const server = await startServer({ port: 0, dataDir: join(dir, 'data') });
      try {
        const get = (path: string, headers: Record<string, string> = ADMIN, method = 'GET') => fetch(`${server.url}${path}`, { method, headers });
        assert.equal((await get('/data/projects?format=json')).status, 200, 'the archive is served');
        for (const [method, path] of [['GET', '/xapi/containers'], ['GET', '/xapi/projects/p1/containers'], ['GET', '/xapi/containers/7/logs'],
          ['POST', '/xapi/wrappers/3/root/session/launch'], ['GET', '/xapi/dashboard']] as const) {
          const res = await get(path, { ...ADMIN, accept: 'application/json' }, method);
          assert.equal(res.status, 503, `${method} ${path}`);
          const body = await res.json() as { code: string; message: string; path: string; hint: string };
          assert.equal(body.code, 'container-service.disabled');
          assert.match(body.message, /the container service is not running on this server/);
          assert.equal(body.path, path);
          assert.match(body.hint, /the reason in the server's log; start the container engine .* then restart xcs/);
          assert.ok(!JSON.stringify(body).includes('engine.invalid'), 'the engine\'s address is not given out');
        }
        assert.equal((await get('/xapi/containers', {})).status, 401, 'anonymous callers learn nothing');
        assert.equal((await get('/xapi/no-such-thing')).status, 404, 'other unknown endpoints stay 404');
        assert.equal((await get('/health/ready')).status, 503);
      } finally {
        await server.close();
      }
    });
  });
});
