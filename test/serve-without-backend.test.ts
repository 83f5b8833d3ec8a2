// A server whose container engine does not answer at start-up still serves the archive; the container service's
// endpoints answer 503 saying so (not a 404 that reads like a wrong URL), without the engine's address, and other
// unknown URLs stay 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from '../src/app/server.ts';
import { withTempDir } from './helpers/temp.ts';
import { ADMIN } from './helpers/settings-server.ts';

test('without its container backend the server serves the archive and answers 503 on the container endpoints', async () => {
  await withTempDir('xcs-no-backend-', async (dir) => {
    const saved = { host: process.env.DOCKER_HOST, password: process.env.XCS_ADMIN_PASSWORD };
    const socket = join(dir, 'no-engine.sock');
    process.env.DOCKER_HOST = `unix://${socket}`;
    process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
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
        assert.ok(!JSON.stringify(body).includes(socket), 'the engine\'s address is not given out');
      }
      assert.equal((await get('/xapi/containers', {})).status, 401, 'anonymous callers learn nothing');
      assert.equal((await get('/xapi/no-such-thing')).status, 404, 'other unknown endpoints stay 404');
      const ready = await get('/health/ready');
      assert.equal(ready.status, 503);
      assert.equal((await ready.json() as { checks: Record<string, string> }).checks.backend, 'failing');
    } finally {
      await server.close();
      if (saved.host === undefined) delete process.env.DOCKER_HOST; else process.env.DOCKER_HOST = saved.host;
      if (saved.password === undefined) delete process.env.XCS_ADMIN_PASSWORD; else process.env.XCS_ADMIN_PASSWORD = saved.password;
    }
  });
});
