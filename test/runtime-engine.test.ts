// The run engine against the real Docker engine and a real embedded archive (no HTTP): success with an
// output resource, non-zero exit, out of memory, kill, missing image, unknown containers reconciled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS, type ContainerBackend } from '../src/backends/types.ts';
import { RunEngine } from '../src/runtime/engine.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/archive-adapters/index.ts';
import { simpleRunSpec, writableMount, resourceOutput } from '../src/runtime/store/simple-spec.ts';

const IMAGE = 'xcs-test/busybox:latest';
let dir: string;
let opened: OpenedArchive;
let backend: ContainerBackend;
let engine: RunEngine;
let scanUri: string;
const instance = `t-engine-${randomBytes(4).toString('hex')}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-runtime-engine-'));
  opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'admin-pw' } });
  const a = opened.archive;
  await a.createProject({ id: 'P1' }, 'admin');
  const subj = await a.createSubject('P1', { label: 'S1' }, 'admin');
  const sess = await a.createSession(subj.id, { label: 'E1' }, 'admin');
  const scan = await a.createScan(sess.id, { id: '1' }, 'admin');
  scanUri = scan.archiveUri;
  backend = await createDockerBackend();
  engine = RunEngine.open({
    dataDir: join(dir, 'data'), instanceId: instance, serverUrl: () => 'http://127.0.0.1:9', reconcileIntervalMs: 3_600_000,
  }, {
    backend, credentials: aliasTokenCredentials(opened.users, opened.archive), outputs: archiveOutputs(opened.archive, opened.users),
    log: { info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  await engine.start();
});

after(async () => {
  await engine.stop();
  for (const c of await backend.list({ labels: { [XCS_LABELS.instance]: instance } })) await backend.remove(c.backendId);
  await backend.close();
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

function outDir(name: string): string {
  return join(dir, 'data', 'build', name, 'out');
}

test('a container writing a file ends Complete with a resource in the archive and its logs saved', async () => {
  const spec = simpleRunSpec({
    image: IMAGE,
    commandLine: 'echo hello > /output/result.txt && echo to-stdout && echo to-stderr >&2',
    mounts: [writableMount('out', '/output', outDir('ok'))],
    outputs: [resourceOutput('result', 'out', 'scan', 'RESULT')],
    inputs: { scan: scanUri },
  });
  const run = engine.submit(spec, 'admin', 'P1');
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Complete', JSON.stringify(engine.history(run.id)));
  assert.equal(end.exitCode, '0');
  const statuses = engine.history(run.id).map((h) => h.status);
  for (const s of ['Queued', 'Staging', 'Created', 'Waiting', 'Finalizing', 'Complete']) assert.ok(statuses.includes(s), `${s} in ${statuses}`);
  assert.ok(end.createdOutputs.result, 'the created resource URI is recorded');
  const resources = await opened.archive.listResources({ kind: 'scan', session: scanUri.split('/')[3], scan: '1' });
  const res = resources.find((r) => r.label === 'RESULT');
  assert.ok(res, 'RESULT resource exists');
  const files = await opened.archive.listFiles(res.id);
  assert.deepEqual(files.map((f) => f.name), ['result.txt']);
  assert.equal(await readFile(files[0].absolutePath, 'utf8'), 'hello\n');
  assert.equal(await engine.readLog(end, 'stdout'), 'to-stdout\n');
  assert.equal(await engine.readLog(end, 'stderr'), 'to-stderr\n');
  // Cleaned up: container removed, build directory gone, token invalidated.
  await waitFor(async () => (await backend.inspect(end.containerId!)).status === 'missing');
  await waitFor(() => engine.get(run.id)?.cleanedUp === true);
  assert.equal(existsSync(outDir('ok')), false);
});

test('a non-zero exit ends Failed with the exit code and stderr kept', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'echo something broke >&2; exit 3' }), 'admin', 'P1');
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Failed');
  assert.equal(end.exitCode, '3');
  assert.equal(end.failureCode, 'non-zero-exit');
  assert.match(end.failureHint ?? '', /stderr/);
  assert.equal(await engine.readLog(end, 'stderr'), 'something broke\n');
});

test('a container over its memory limit ends Killed (Out of Memory)', async () => {
  const run = engine.submit(simpleRunSpec({
    image: IMAGE, limitMemoryMiB: 16, commandLine: 'dd if=/dev/zero of=/dev/null bs=128M count=1',
  }), 'admin', 'P1');
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Killed (Out of Memory)', JSON.stringify(engine.history(run.id)));
  assert.equal(end.failureCode, 'oom');
});

test('kill ends a running container Killed, and a queued one at once', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'echo started; sleep 60' }), 'admin', 'P1');
  await waitFor(async () => engine.get(run.id)?.status === 'Running');
  await engine.kill(run.id, 'admin');
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Killed');
  assert.equal(end.failureCode, 'killed');
  assert.ok(engine.history(run.id).some((h) => h.status === 'kill' && h.entityType === 'user' && h.entityId === 'admin'));
  await assert.rejects(engine.kill(run.id, 'admin'), /already ended/);
});

test('a missing image fails the run with cause image-missing', async () => {
  const run = engine.submit(simpleRunSpec({ image: 'xcs-test/no-such-image:never', commandLine: 'true' }), 'admin', 'P1');
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Failed (Container launch)');
  assert.equal(end.failureCode, 'image-missing');
  assert.match(end.failureHint ?? '', /image/);
});

test('a required output that was not produced fails the run (Failed (Upload))', async () => {
  const spec = simpleRunSpec({
    image: IMAGE, commandLine: 'true', mounts: [writableMount('out', '/output', outDir('none'))],
    outputs: [{ ...resourceOutput('result', 'out', 'scan', 'NOTHING'), path: 'not-written' }], inputs: { scan: scanUri },
  });
  const end = await engine.waitForEnd(engine.submit(spec, 'admin', 'P1').id);
  assert.equal(end.status, 'Failed (Upload)');
  assert.equal(end.failureCode, 'output-missing');
});

test('reconciliation removes a container of this instance that no run knows', async () => {
  const created = await backend.create({
    name: `${instance}-stray`, image: IMAGE, commandLine: 'sleep 60', overrideEntrypoint: true, environment: {}, mounts: [],
    labels: { [XCS_LABELS.instance]: instance, [XCS_LABELS.runId]: '999999' }, resources: {},
  });
  await backend.start(created.backendId);
  const report = await engine.reconcileNow();
  assert.equal(report.removedUnknown, 1);
  assert.equal((await backend.inspect(created.backendId)).status, 'missing');
});

async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
