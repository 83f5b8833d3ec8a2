// Setup and wrapup commands over HTTP with a real server (port 0) and the real Docker engine: commands
// registered as users do (POST /xapi/commands, type docker-setup/docker-wrapup), a setup preparing the
// main container's input, a wrapup post-processing an output before upload, and both failing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import type { RunEngine } from '../src/runtime/index.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';

const IMAGE = 'xcs-test/busybox:latest';
let dir: string;
let server: RunningServer;
let engine: RunEngine;
const auth = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };

const api = jsonApi(() => server.url, auth);

async function register(command: unknown): Promise<number> {
  return api<number>('POST', '/xapi/commands', command);
}

function auxCommand(name: string, type: 'docker-setup' | 'docker-wrapup', commandLine: string): unknown {
  return { name, version: '1', image: IMAGE, type, 'command-line': commandLine, 'override-entrypoint': true };
}

/** A session command: mount `in` gets the session's SRC resource (through `setup` when given), `out` is uploaded. */
function mainCommand(name: string, commandLine: string, opts: { setup?: string; wrapup?: string }): unknown {
  return {
    name, version: '1', image: IMAGE, type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
    mounts: [{ name: 'in', path: '/in', writable: false }, { name: 'out', path: '/out', writable: true }],
    outputs: [{ name: 'result', mount: 'out', required: true }],
    xnat: [{
      name: `${name}-session`, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{
        name: 'src', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'SRC'",
        'provides-files-for-command-mount': 'in', ...(opts.setup ? { 'via-setup-command': opts.setup } : {}),
      }],
      'output-handlers': [{
        name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource',
        label: `${name.toUpperCase()}-RESULT`, ...(opts.wrapup ? { 'via-wrapup-command': opts.wrapup } : {}),
      }],
    }],
  };
}

interface Container {
  status: string;
  'container-id': string;
  'log-paths': string[];
  history: { status: string; message: string | null }[];
  outputs: { name: string; created: string | null }[];
}

async function launchAndWait(wrapperId: number, sessionId: string): Promise<{ id: number; c: Container }> {
  const r = await api<{ status: string; id: number }>('POST', `/xapi/wrappers/${wrapperId}/root/session/launch`,
    { session: `/archive/experiments/${sessionId}` });
  assert.equal(r.status, 'success');
  const run = await engine.waitForEnd(r.id);
  // Clean-up (containers and build directories removed) follows the terminal status.
  while (!engine.get(run.id)!.cleanedUp) await new Promise((res) => setImmediate(res));
  return { id: r.id, c: await api<Container>('GET', `/xapi/containers/${r.id}`) };
}

async function newSession(label: string): Promise<string> {
  const a = server.opened.archive;
  const subject = await a.createSubject('P', { label: `S-${label}` }, 'admin');
  const session = await a.createSession(subject.id, { label }, 'admin');
  const r = await a.createResource({ kind: 'session', session: session.id }, { label: 'SRC' }, 'admin');
  await a.putFile(r.id, 'a.txt', Readable.from([Buffer.from('hello setup\n')]), {}, 'admin');
  return session.id;
}

async function sessionResource(sessionId: string, label: string): Promise<{ name: string; absolutePath: string }[] | null> {
  const a = server.opened.archive;
  const r = (await a.listResources({ kind: 'session', session: sessionId })).find((x) => x.label === label);
  return r ? a.listFiles(r.id) : null;
}

async function logOf(id: number, file: string): Promise<string> {
  return (await fetch(`${server.url}/xapi/containers/${id}/logs/${file}`, { headers: auth })).text();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-setup-wrapup-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  engine = server.engine!;
  assert.ok(engine, 'the server runs an engine');
  await server.opened.archive.createProject({ id: 'P' }, 'admin');
  await register(auxCommand('sw-upper', 'docker-setup',
    'echo "setting up"; for f in /input/*; do tr a-z A-Z < "$f" > "/output/$(basename "$f")"; done'));
  await register(auxCommand('sw-fail-setup', 'docker-setup', 'echo "setup cannot cope" >&2; exit 3'));
  await register(auxCommand('sw-wrap', 'docker-wrapup', 'sed "s/^/wrapped: /" /input/result.txt > /output/final.txt'));
  await register(auxCommand('sw-fail-wrap', 'docker-wrapup', 'echo "wrapup broke" >&2; exit 4'));
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('a setup prepares the input the main container reads; the output is uploaded, hard links and build dirs gone', async () => {
  const sessionId = await newSession('E-setup');
  const wrapperId = await registerEnabled(api, mainCommand('sw-reads', 'cat /in/a.txt > /out/result.txt; ls /in > /out/listing.txt',
    { setup: `${IMAGE}:sw-upper` }));
  const { id, c } = await launchAndWait(wrapperId, sessionId);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  const files = await sessionResource(sessionId, 'SW-READS-RESULT');
  assert.ok(files, 'the output resource exists');
  const result = files.find((f) => f.name === 'result.txt')!;
  assert.equal(await readFile(result.absolutePath, 'utf8'), 'HELLO SETUP\n', 'the main container read the setup\'s output');
  // The archive's files share no inode with anything left in the build area, which is gone.
  for (const f of files) assert.equal(statSync(f.absolutePath).nlink, 1, f.name);
  const run = engine.get(id)!;
  assert.ok(run.buildDir && !existsSync(run.buildDir), 'the build directory is removed');
  assert.ok(c.history.some((h) => h.status === 'Setup' && /completed/.test(h.message ?? '')), 'the setup is in the history');
  assert.match(await logOf(id, 'setup'), /setting up/, 'the setup log is kept with the run');
  assert.ok(c['log-paths'].some((p) => p.includes('setup-1')));
  // The setup's container was removed with the run's.
  const backend = await createDockerBackend();
  try {
    assert.equal(await backend.findByName(`${run.containerName}-setup-1`), null);
  } finally {
    await backend.close();
  }
});

test('a failing setup fails the run Failed (Setup) and the main container is never created', async () => {
  const sessionId = await newSession('E-setup-fail');
  const wrapperId = await registerEnabled(api, mainCommand('sw-never', 'touch /out/result.txt',
    { setup: `${IMAGE}:sw-fail-setup`, wrapup: `${IMAGE}:sw-wrap` }));
  const { id, c } = await launchAndWait(wrapperId, sessionId);
  assert.equal(c.status, 'Failed (Setup)');
  const last = c.history[c.history.length - 1];
  assert.match(last.message ?? '', /^Failed Setup container db id \d+, container id [0-9a-f]{12,}$/);
  assert.equal(engine.get(id)!.failureCode, 'setup-failed');
  assert.equal(c['container-id'] ?? '', '', 'no main container was recorded');
  assert.ok(!c.history.some((h) => h.status === 'Created' || h.status === 'Running'), 'the main container was never created');
  assert.equal(await sessionResource(sessionId, 'SW-NEVER-RESULT'), null);
  assert.match(await logOf(id, 'setup.log'), /setup cannot cope/);
  const wrapup = engine.store.auxOf(id, 'wrapup');
  assert.deepEqual(wrapup.map((w) => w.status), ['Failed (Setup)'], 'the wrapup never ran');
});

test('a wrapup post-processes an output before upload: the uploaded files are the wrapup\'s', async () => {
  const sessionId = await newSession('E-wrapup');
  const wrapperId = await registerEnabled(api, mainCommand('sw-wrapped', 'echo "from main" > /out/result.txt',
    { wrapup: `${IMAGE}:sw-wrap` }));
  const { id, c } = await launchAndWait(wrapperId, sessionId);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  const files = await sessionResource(sessionId, 'SW-WRAPPED-RESULT');
  assert.ok(files);
  assert.deepEqual(files.map((f) => f.name), ['final.txt']);
  assert.equal(await readFile(files[0].absolutePath, 'utf8'), 'wrapped: from main\n');
  for (const f of files) assert.equal(statSync(f.absolutePath).nlink, 1, f.name);
  assert.deepEqual(engine.store.auxOf(id, 'wrapup').map((w) => [w.status, w.exitCode]), [['Complete', '0']]);
  const finalizing = c.history.findIndex((h) => h.status === 'Finalizing');
  const wrapup = c.history.findIndex((h) => h.status === 'Wrapup');
  assert.ok(finalizing >= 0 && wrapup > finalizing, 'the wrapup runs during finalization');
});

test('a failing wrapup fails the run Failed (Wrapup) and nothing is uploaded for that output', async () => {
  const sessionId = await newSession('E-wrapup-fail');
  const wrapperId = await registerEnabled(api, mainCommand('sw-broken', 'echo "from main" > /out/result.txt',
    { wrapup: `${IMAGE}:sw-fail-wrap` }));
  const { id, c } = await launchAndWait(wrapperId, sessionId);
  assert.equal(c.status, 'Failed (Wrapup)');
  assert.match(c.history[c.history.length - 1].message ?? '', /^Failed Wrapup container db id \d+, container id [0-9a-f]{12,}$/);
  assert.equal(engine.get(id)!.failureCode, 'wrapup-failed');
  assert.equal(await sessionResource(sessionId, 'SW-BROKEN-RESULT'), null);
  assert.match(await logOf(id, 'wrapup'), /wrapup broke/);
});

test('a failed main container does not run its wrapups: they are recorded Failed (Parent)', async () => {
  const sessionId = await newSession('E-parent-fail');
  const wrapperId = await registerEnabled(api, mainCommand('sw-parent', 'exit 2', { wrapup: `${IMAGE}:sw-wrap` }));
  const { id, c } = await launchAndWait(wrapperId, sessionId);
  assert.equal(c.status, 'Failed');
  const wrapups = engine.store.auxOf(id, 'wrapup');
  assert.deepEqual(wrapups.map((w) => [w.status, w.containerId, w.message]),
    [['Failed (Parent)', null, 'Parent container failed (exit code=2)']]);
});
