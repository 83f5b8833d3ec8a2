/** The Docker backend against the real engine: the shared conformance suite, then Docker-only behaviour. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { isXcsError } from '../src/core/errors.ts';
import { createDockerBackend, type DockerBackend } from '../src/backends/docker/docker-backend.ts';
import { runBackendConformance } from '../src/backends/conformance/backend.case.ts';
import { ENTRYPOINT_MARKER, ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';

runBackendConformance({
  name: 'docker',
  newBackend: async () => {
    await ensureDockerHarness();
    return createDockerBackend();
  },
  images: { busybox: TEST_IMAGES.busybox, entrypoint: TEST_IMAGES.entrypoint, entrypointMarker: ENTRYPOINT_MARKER },
});

describe('docker backend: what only Docker shows', () => {
  const suiteId = randomUUID().slice(0, 8);
  const label = { 'org.xcs.test.docker-backend': suiteId };
  let backend: DockerBackend;
  const docker = new Docker();

  before(async () => {
    await ensureDockerHarness();
    backend = await createDockerBackend();
  });

  after(async () => {
    for (const c of await backend.list({ labels: label })) await backend.remove(c.backendId);
    await backend.close();
  });

  test('pins a negotiated Engine API version', () => {
    assert.match(backend.apiVersion, /^1\.\d+$/);
    assert.ok(Number(backend.apiVersion.split('.')[1]) >= 40);
  });

  test('creates containers locked down, with the resources asked for, and the XCS label', async () => {
    const { backendId, name } = await backend.create({
      name: `xcs-docker-backend-${suiteId}-resources`,
      image: TEST_IMAGES.busybox,
      commandLine: 'true',
      overrideEntrypoint: true,
      environment: { XNAT_USER: 'alias' },
      mounts: [],
      labels: { ...label, 'org.xcs.run-id': '42' },
      resources: {
        reserveMemoryMiB: 16,
        limitMemoryMiB: 64,
        limitCpu: 0.5,
        shmSizeBytes: 32 * 1024 * 1024,
        ulimits: { nofile: '1024:2048', nproc: '512' },
      },
      user: '1000:1000',
    });
    assert.equal(name, `xcs-docker-backend-${suiteId}-resources`);
    const info = await docker.getContainer(backendId).inspect();
    const h = info.HostConfig;
    assert.equal(h.Privileged, false);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
    assert.equal(h.NetworkMode, 'none');
    assert.equal(h.MemoryReservation, 16 * 1024 * 1024);
    assert.equal(h.Memory, 64 * 1024 * 1024);
    assert.equal(h.MemorySwap, 64 * 1024 * 1024);
    assert.equal(h.NanoCpus, 500_000_000);
    assert.equal(h.ShmSize, 32 * 1024 * 1024);
    assert.deepEqual(h.Ulimits, [
      { Name: 'nofile', Soft: 1024, Hard: 2048 },
      { Name: 'nproc', Soft: 512, Hard: 512 },
    ]);
    assert.equal(info.Config.User, '1000:1000');
    assert.deepEqual(info.Config.Cmd, ['/bin/sh', '-c', 'true']);
    assert.equal(info.Config.Labels['org.xcs.managed'], 'true');
    assert.equal(info.Config.Labels['org.xcs.run-id'], '42');
    assert.ok(info.Config.Env.includes('XNAT_USER=alias'));
    assert.equal((info.Mounts ?? []).some((m) => /docker\.sock/.test(m.Source)), false);
  });

  test('runs as the container user it is given', async () => {
    const { backendId } = await backend.create({
      name: `xcs-docker-backend-${suiteId}-user`,
      image: TEST_IMAGES.busybox,
      commandLine: 'id -u; id -g',
      overrideEntrypoint: true,
      environment: {},
      mounts: [],
      labels: label,
      resources: {},
      user: '1234:2345',
    });
    await backend.start(backendId);
    assert.equal((await backend.wait(backendId)).exitCode, 0);
    let out = '';
    for await (const c of backend.logs(backendId, { stream: 'stdout', timestamps: true })) out += c.toString();
    // Timestamps are the engine's RFC 3339 ones, one per line.
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z 1234$/);
    assert.match(lines[1], / 2345$/);
  });

  test('a program the image does not have fails start with backend.start-failed and a hint', async () => {
    const { backendId } = await backend.create({
      name: `xcs-docker-backend-${suiteId}-noexec`,
      image: TEST_IMAGES.busybox,
      commandLine: 'no-such-program --flag',
      overrideEntrypoint: false,
      environment: {},
      mounts: [],
      labels: label,
      resources: {},
    });
    await assert.rejects(backend.start(backendId), (e: unknown) => {
      assert.ok(isXcsError(e));
      assert.equal(e.code, 'backend.start-failed');
      assert.match(e.message, /no-such-program/);
      assert.match(e.hint ?? '', /program the image does not have/);
      return true;
    });
  });

  test('an engine that does not answer gives backend.unavailable', async () => {
    await assert.rejects(createDockerBackend({ host: `unix:///tmp/xcs-no-engine-${suiteId}.sock` }), (e: unknown) => {
      assert.ok(isXcsError(e));
      assert.equal(e.code, 'backend.unavailable');
      assert.match(e.message, /xcs-no-engine/);
      assert.ok(e.hint);
      return true;
    });
  });

  test('inspects images: labels, entrypoint, cmd, working directory; null for an unknown image', async () => {
    const image = await backend.inspectImage(TEST_IMAGES.entrypoint);
    assert.ok(image);
    assert.deepEqual(image.entrypoint, ['/bin/sh', '/usr/local/bin/xcs-entrypoint']);
    assert.deepEqual(image.cmd, ['echo', 'default-cmd']);
    assert.equal(image.workingDir, '/image-workdir');
    assert.ok(image.tags.includes(TEST_IMAGES.entrypoint));
    assert.equal(await backend.inspectImage(`xcs-test/no-such-image-${suiteId}:x`), null);
    const all = await backend.listImages();
    assert.ok(all.some((i) => i.id === image.id && i.tags.includes(TEST_IMAGES.entrypoint)));
  });

  test('logs since a time skip what came before it', async () => {
    const gate = await mkdtemp(path.join(os.tmpdir(), 'xcs-docker-backend-'));
    try {
      const { backendId } = await backend.create({
        name: `xcs-docker-backend-${suiteId}-since`,
        image: TEST_IMAGES.busybox,
        commandLine: 'echo before; while [ ! -e /gate/open ]; do sleep 0.05; done; echo after',
        overrideEntrypoint: true,
        environment: {},
        mounts: [{ hostPath: gate, containerPath: '/gate', writable: false }],
        labels: label,
        resources: {},
      });
      await backend.start(backendId);
      let text = '';
      for await (const chunk of backend.logs(backendId, { stream: 'stdout', follow: true, timestamps: true })) {
        text += chunk.toString();
        if (text.includes(' before\n') && !existsSync(path.join(gate, 'open'))) await writeFile(path.join(gate, 'open'), '');
      }
      const afterLine = text.split('\n').find((l) => l.endsWith(' after'));
      assert.ok(afterLine, text);
      const since = new Date(afterLine.split(' ')[0]);
      let later = '';
      for await (const chunk of backend.logs(backendId, { stream: 'stdout', since })) later += chunk.toString();
      assert.equal(later, 'after\n');
    } finally {
      await rm(gate, { recursive: true, force: true });
    }
  });

  test('an abort signal stops a followed log and a wait', async () => {
    const { backendId } = await backend.create({
      name: `xcs-docker-backend-${suiteId}-abort`,
      image: TEST_IMAGES.busybox,
      commandLine: 'echo hi; exec sleep 600',
      overrideEntrypoint: true,
      environment: {},
      mounts: [],
      labels: label,
      resources: {},
    });
    await backend.start(backendId);
    const controller = new AbortController();
    let text = '';
    for await (const chunk of backend.logs(backendId, { stream: 'stdout', follow: true, signal: controller.signal })) {
      text += chunk.toString();
      if (text.includes('hi\n')) controller.abort();
    }
    assert.equal(text, 'hi\n');
    const waiting = new AbortController();
    const waited = backend.wait(backendId, { signal: waiting.signal });
    waiting.abort();
    await assert.rejects(waited);
    assert.equal((await backend.inspect(backendId)).status, 'running');
    await backend.remove(backendId);
    assert.equal((await backend.inspect(backendId)).status, 'missing');
  });
});
