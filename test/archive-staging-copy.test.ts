// The site setting `archive-staging` on a real server and the real Docker engine. `copy`: the container's read-only
// input is a copy in the run's build directory (the engine's mount source is there, never under the archive), the
// tool reads the right files, and the copy goes with the run's clean-up; a setup's input is copied too, and path
// translation applies to the copies. `bind` (the default): the archive's directory is mounted as before. A copy is
// refused when the input holds a link leading out of it, and the retry of that run starts from a clean copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { startServer, type RunningServer } from '../src/app/server.ts';
import type { RunEngine } from '../src/runtime/engine.ts';
import type { RunRecord } from '../src/runtime/store/run-store.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { dockerInspect } from './helpers/settings-server.ts';

const IMAGE = TEST_IMAGES.busybox;
let dir: string;
let dataDir: string;
let server: RunningServer;
let engine: RunEngine;
const auth = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };
const api = jsonApi(() => server.url, auth);

/** A session command: mount `in` gets the session's SRC resource (through `setup` when given), `out` is uploaded. */
function command(name: string, commandLine: string, extra: { setup?: string; retry?: Record<string, unknown> } = {}): unknown {
  return {
    name, version: '1', image: IMAGE, type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
    mounts: [{ name: 'in', path: '/in', writable: false }, { name: 'out', path: '/out', writable: true }],
    outputs: [{ name: 'result', mount: 'out', required: true }],
    ...(extra.retry ? { retry: extra.retry } : {}),
    xnat: [{
      name: `${name}-session`, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{
        name: 'src', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'SRC'",
        'provides-files-for-command-mount': 'in', ...(extra.setup ? { 'via-setup-command': extra.setup } : {}),
      }],
      'output-handlers': [{
        name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource',
        label: `${name.toUpperCase()}-RESULT`,
      }],
    }],
  };
}

/** A session whose SRC resource holds `a.txt` and `sub/b.txt`; returns its id and the resource's directory in the archive. */
async function newSession(label: string): Promise<{ id: string; src: string }> {
  const a = server.opened.archive;
  const subject = await a.createSubject('P', { label: `S-${label}` }, 'admin');
  const session = await a.createSession(subject.id, { label }, 'admin');
  const r = await a.createResource({ kind: 'session', session: session.id }, { label: 'SRC' }, 'admin');
  await a.putFile(r.id, 'a.txt', Readable.from([Buffer.from('hello copy\n')]), {}, 'admin');
  await a.putFile(r.id, 'sub/b.txt', Readable.from([Buffer.from('b\n')]), {}, 'admin');
  const files = await a.listFiles(r.id);
  return { id: session.id, src: dirname(files.find((f) => f.name === 'a.txt')!.absolutePath) };
}

async function setServer(keys: Record<string, unknown>): Promise<void> {
  await api('POST', '/xapi/docker/server', { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'auto-cleanup': true, ...keys });
}

async function launch(wrapperId: number, sessionId: string): Promise<number> {
  const r = await api<{ status: string; id: number }>('POST', `/xapi/wrappers/${wrapperId}/root/session/launch`,
    { session: `/archive/experiments/${sessionId}` });
  assert.equal(r.status, 'success');
  return r.id;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The run once it ended and was cleaned up. */
async function ended(id: number): Promise<RunRecord> {
  await engine.waitForEnd(id);
  await waitFor(() => engine.get(id)!.cleanedUp, `the clean-up of run ${id}`);
  return engine.get(id)!;
}

async function outputOf(sessionId: string, command: string, file: string): Promise<string> {
  const a = server.opened.archive;
  const r = (await a.listResources({ kind: 'session', session: sessionId })).find((x) => x.label === `${command.toUpperCase()}-RESULT`);
  assert.ok(r, `${command}: the output resource exists`);
  const f = (await a.listFiles(r.id)).find((x) => x.name === file);
  assert.ok(f, `${command}: ${file} was uploaded`);
  return readFile(f.absolutePath, 'utf8');
}

type Mount = { Source: string; Target: string; ReadOnly?: boolean };

async function mountsOf(container: string): Promise<Mount[]> {
  const i = await dockerInspect(container);
  assert.ok(i, `container ${container} exists`);
  return i.HostConfig.Mounts as Mount[];
}

function hostPathOf(run: RunRecord, mount: string): string {
  return run.spec.mounts.find((m) => m.name === mount)!['xnat-host-path'];
}

/** Reads its input, then waits for the test to look at the container (file `go` in its output). */
const READ_AND_WAIT = 'cat /in/a.txt > /out/result.txt; (cd /in && find . | sort) > /out/listing.txt; ' +
  'while [ ! -e /out/go ]; do sleep 0.05; done; rm /out/go';
const LISTING = '.\n./a.txt\n./sub\n./sub/b.txt\n';

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-archive-staging-'));
  dataDir = join(dir, 'data');
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir });
  engine = server.engine!;
  assert.ok(engine, 'the server runs an engine');
  await server.opened.archive.createProject({ id: 'P' }, 'admin');
  await api('POST', '/xapi/commands', {
    name: 'as-upper', version: '1', image: IMAGE, type: 'docker-setup', 'override-entrypoint': true,
    'command-line': 'for f in /input/*.txt; do tr a-z A-Z < "$f" > "/output/$(basename "$f")"; done',
  });
});

after(async () => {
  await server.close();
  await removeInstanceContainers(dataDir);
  await rm(dir, { recursive: true, force: true });
});

test('archive-staging copy: the container mounts a copy in the build directory, reads the right files, and the copy goes with the clean-up', async () => {
  await setServer({ 'archive-staging': 'copy' });
  const session = await newSession('E-copy');
  const wrapperId = await registerEnabled(api, command('as-copy', READ_AND_WAIT));
  const id = await launch(wrapperId, session.id);
  await waitFor(() => engine.get(id)!.status === 'Running' || /^(Failed|Killed|Complete)/.test(engine.get(id)!.status), 'Running');
  const run = engine.get(id)!;
  assert.equal(run.status, 'Running', JSON.stringify(engine.history(id)));
  assert.equal(run.settings?.archiveStaging, 'copy', 'the run keeps the mode it was launched with');
  const input = (await mountsOf(run.containerName)).find((m) => m.Target === '/in');
  assert.ok(input, 'the input is mounted');
  const copy = join(run.buildDir!, 'archive-copies', '1-in');
  assert.equal(input.Source, copy, 'the engine mounts the copy in the run\'s build directory');
  assert.ok(!input.Source.startsWith(join(dataDir, 'archive')), 'never the archive');
  assert.equal(input.ReadOnly, true);
  assert.deepEqual((await readdir(copy)).sort(), ['a.txt', 'sub']);
  await writeFile(join(hostPathOf(run, 'out'), 'go'), '');

  const end = await ended(id);
  assert.equal(end.status, 'Complete', JSON.stringify(engine.history(id)));
  assert.equal(await outputOf(session.id, 'as-copy', 'result.txt'), 'hello copy\n');
  assert.equal(await outputOf(session.id, 'as-copy', 'listing.txt'), LISTING);
  assert.equal(existsSync(copy), false, 'the copy is removed with the build directory');
  assert.equal(await readFile(join(session.src, 'a.txt'), 'utf8'), 'hello copy\n', 'the archive keeps its files');
  const record = await api<{ 'run-settings': { archiveStaging: string } }>('GET', `/xapi/containers/${id}`);
  assert.equal(record['run-settings'].archiveStaging, 'copy');
});

test('archive-staging bind (the default): the archive\'s directory is mounted, nothing is copied', async () => {
  await setServer({});
  assert.equal((await api<Record<string, unknown>>('GET', '/xapi/docker/server'))['archive-staging'], 'bind');
  const session = await newSession('E-bind');
  const wrapperId = await registerEnabled(api, command('as-bind', READ_AND_WAIT));
  const id = await launch(wrapperId, session.id);
  await waitFor(() => engine.get(id)!.status === 'Running' || /^(Failed|Killed|Complete)/.test(engine.get(id)!.status), 'Running');
  const run = engine.get(id)!;
  const input = (await mountsOf(run.containerName)).find((m) => m.Target === '/in');
  assert.equal(input?.Source, session.src, 'the archive\'s directory itself');
  assert.equal(existsSync(join(run.buildDir!, 'archive-copies')), false);
  await writeFile(join(hostPathOf(run, 'out'), 'go'), '');
  const end = await ended(id);
  assert.equal(end.status, 'Complete', JSON.stringify(engine.history(id)));
  assert.equal(await outputOf(session.id, 'as-bind', 'listing.txt'), LISTING);
});

test('archive-staging copy with path translation and a setup: the setup\'s input is a copy too, both seen under the translated prefix', async () => {
  const alias = join(dir, 'engine-view');
  await symlink(dataDir, alias);
  await setServer({ 'archive-staging': 'copy', 'auto-cleanup': false, 'path-translation-xnat-prefix': dataDir, 'path-translation-docker-prefix': alias });
  const session = await newSession('E-setup');
  const wrapperId = await registerEnabled(api, command('as-setup', 'cat /in/a.txt > /out/result.txt', { setup: `${IMAGE}:as-upper` }));
  const id = await launch(wrapperId, session.id);
  const end = await engine.waitForEnd(id);
  assert.equal(end.status, 'Complete', JSON.stringify(engine.history(id)));
  assert.equal(await outputOf(session.id, 'as-setup', 'result.txt'), 'HELLO COPY\n', 'the main container read what the setup made of the copy');
  const setupInput = (await mountsOf(`${end.containerName}-setup-1`)).find((m) => m.Target === '/input');
  const rel = join(end.buildDir!, 'archive-copies', 'setup-1-input').slice(dataDir.length);
  assert.equal(setupInput?.Source, alias + rel, 'the setup mounts the copy, path-translated');
  const mainInput = (await mountsOf(end.containerName)).find((m) => m.Target === '/in');
  assert.ok(mainInput?.Source.startsWith(`${alias}/build/`), `the main container mounts the setup's output: ${mainInput?.Source}`);
  assert.deepEqual((await readdir(join(dataDir, rel))).sort(), ['a.txt', 'sub'], 'auto-cleanup off: the copy stays with the build directories');
  await setServer({});
});

test('a link leading out of the input refuses the copy; the retry of that run starts from a clean copy of its own', async () => {
  await setServer({ 'archive-staging': 'copy' });
  const session = await newSession('E-link');
  await symlink('/etc/hostname', join(session.src, 'escape'));
  const wrapperId = await registerEnabled(api, command('as-link', '(cd /in && find . | sort) > /out/listing.txt',
    { retry: { 'maximum-attempts': 2, 'initial-interval': '2s', 'retry-on': ['engine-error'] } }));
  const id = await launch(wrapperId, session.id);
  const first = await engine.waitForEnd(id);
  assert.equal(first.status, 'Failed', JSON.stringify(engine.history(id)));
  assert.equal(first.failureCode, 'staging-failed');
  const message = engine.history(id).map((h) => h.message ?? '').join('\n');
  assert.match(message, /The files for mount "in" hold a link that points outside them: escape -> \/etc\/hostname/);
  assert.equal(existsSync(join(first.buildDir!, 'archive-copies', '1-in')), false, 'nothing of the refused copy stays');
  // Before the retry stages (its backoff): the link is removed, and the retry's copy place holds a stale half copy.
  await unlink(join(session.src, 'escape'));
  const stale = join(`${first.buildDir!}.retry-${id}`, 'archive-copies', '1-in');
  await mkdir(stale, { recursive: true });
  await writeFile(join(stale, 'stale.txt'), 'left by a crashed attempt');
  await waitFor(() => engine.get(id)!.retriedBy !== null, 'the retry');
  const retry = await ended(engine.get(id)!.retriedBy!);
  assert.equal(retry.status, 'Complete', JSON.stringify(engine.history(retry.id)));
  assert.equal(retry.buildDir, `${first.buildDir!}.retry-${id}`);
  assert.equal(await outputOf(session.id, 'as-link', 'listing.txt'), LISTING, 'exactly the input\'s files: no stale file, no link');
  assert.equal(existsSync(stale), false, 'the retry\'s copy went with its clean-up');
  await setServer({});
});
