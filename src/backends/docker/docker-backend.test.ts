import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendErrorCode, type ContainerSpec } from '../types.ts';
import { createDockerBackend, negotiateApiVersion, parseDockerHost } from './docker-backend.ts';

test('reads XNAT-style host settings', () => {
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost(undefined), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost('tcp://10.0.0.5:2376'), { host: '10.0.0.5', port: 2376, protocol: 'http' });
  assert.deepEqual(parseDockerHost('tcp://docker'), { host: 'docker', port: 2375, protocol: 'http' });
  assert.throws(() => parseDockerHost('ftp://x'), /neither unix/);
});

test('pins our API version when the engine offers it, else the nearest it does', () => {
  assert.equal(negotiateApiVersion({ ApiVersion: '1.41', MinAPIVersion: '1.12' }), '1.41');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.47', MinAPIVersion: '1.24' }), '1.41');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.52', MinAPIVersion: '1.44' }), '1.44');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.40' }), '1.40');
  assert.throws(() => negotiateApiVersion({ ApiVersion: '1.39' }), /needs 1\.40/);
});

/**
 * An engine that refuses API versions outside [minimum, maximum] the way Docker does (the local engine takes
 * 1.41, so it cannot refuse on demand): a stand-in on a unix socket, answering only what the tests ask.
 */
async function versionedEngine(minimum: string, maximum: string): Promise<{ host: string; paths: string[]; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const minor = (v: string): number => Number(v.split('.')[1]);
  const dir = await mkdtemp(join(tmpdir(), 'xcs-engine-'));
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    paths.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (path === '/version') return json(200, { Version: '29.0.0', ApiVersion: maximum, MinAPIVersion: minimum, Os: 'linux', Arch: 'amd64' });
    if (m !== null && minor(m[1]) < minor(minimum)) {
      return json(400, { message: `client version ${m[1]} is too old. Minimum supported API version is ${minimum}, please upgrade your client to a newer version` });
    }
    if (m !== null && minor(m[1]) > minor(maximum)) {
      return json(400, { message: `client version ${m[1]} is too new. Maximum supported API version is ${maximum}` });
    }
    if (m !== null && m[2] === '/images/xcs-test/none:1/json') return json(404, { message: 'No such image: xcs-test/none:1' });
    if (m !== null && m[2] === '/images/xcs-test/busybox:latest/json') return json(200, { Id: 'sha256:1', RepoTags: ['xcs-test/busybox:latest'], Config: {} });
    return json(500, { message: `unexpected ${path}` });
  });
  const socket = join(dir, 'engine.sock');
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    host: `unix://${socket}`,
    paths,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('negotiate on-refusal: no version request while the engine takes 1.41; one, then the call again, when it refuses it', async () => {
  const engine = await versionedEngine('1.44', '1.52');
  try {
    const backend = await createDockerBackend({ host: engine.host, negotiate: 'on-refusal' });
    assert.equal(engine.paths.length, 0, 'nothing asked before the first call');
    assert.equal(backend.apiVersion, '1.41');
    const image = await backend.inspectImage('xcs-test/busybox:latest');
    assert.equal(image?.id, 'sha256:1');
    assert.equal(backend.apiVersion, '1.44');
    assert.deepEqual(engine.paths, ['GET /v1.41/images/xcs-test/busybox:latest/json', 'GET /version', 'GET /v1.44/images/xcs-test/busybox:latest/json']);
    assert.equal(await backend.inspectImage('xcs-test/none:1'), null, 'later calls use the negotiated version');
    assert.equal(engine.paths.at(-1), 'GET /v1.44/images/xcs-test/none:1/json');
    await backend.close();
  } finally {
    await engine.close();
  }
});

test('negotiate on-refusal: an engine older than XCS supports, or one that does not answer, is named at the first call', async () => {
  const engine = await versionedEngine('1.12', '1.39');
  try {
    const backend = await createDockerBackend({ host: engine.host, negotiate: 'on-refusal' });
    await assert.rejects(backend.inspectImage('xcs-test/busybox:latest'),
      (e: Error & { code?: string }) => e.code === BackendErrorCode.unsupportedEngine && /speaks API 1\.39; XCS needs 1\.40/.test(e.message));
    await backend.close();
  } finally {
    await engine.close();
  }
  const down = await createDockerBackend({ host: 'unix:///nonexistent/xcs-engine.sock', negotiate: 'on-refusal' });
  const spec: ContainerSpec = { name: 'xcs-never', image: 'xcs-test/busybox:latest', commandLine: 'true', overrideEntrypoint: false, environment: {}, mounts: [], labels: {}, resources: {} };
  await assert.rejects(down.create(spec),
    (e: Error & { code?: string }) => e.code === BackendErrorCode.unavailable && /unix:\/\/\/nonexistent\/xcs-engine\.sock does not answer/.test(e.message));
  await down.close();
});
