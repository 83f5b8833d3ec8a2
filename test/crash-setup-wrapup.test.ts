// Crash safety of setup and wrapup containers: `xcs serve` is SIGKILLed while a setup (then a wrapup)
// container is in flight and restarted. The run must complete, the setup/wrapup must have been started
// exactly once (the restart attaches to it by name), and its output must be used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { requestJson, jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { sigkill, startServe as startServeOn, type ServeProcess as Server } from './helpers/serve.ts';

const PASSWORD = 'crash-pw';
const IMAGE = 'xcs-test/busybox:latest';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
let dir: string;
let data: string;
let sessionId: string;

function startServe(env: Record<string, string> = {}): Promise<Server> {
  return startServeOn(data, { XCS_ADMIN_PASSWORD: PASSWORD, ...env });
}

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 30));
}

function api<T = unknown>(s: Server, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(s.url, auth, method, path, body);
}

interface Container { status: string; history: { status: string; message: string | null }[] }

const MAIN = {
  name: 'crash-sw', version: '1', image: IMAGE, type: 'docker', 'override-entrypoint': true,
  'command-line': 'cat /in/a.txt > /out/result.txt',
  mounts: [{ name: 'in', path: '/in', writable: false }, { name: 'out', path: '/out', writable: true }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'crash-sw-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'src', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'SRC'",
      'provides-files-for-command-mount': 'in', 'via-setup-command': `${IMAGE}:crash-setup` }],
    'output-handlers': [{ name: 'r', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource',
      label: 'CRASH-SW', 'via-wrapup-command': `${IMAGE}:crash-wrapup` }],
  }],
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-crash-sw-'));
  data = join(dir, 'data');
  const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
  const a = opened.archive;
  await a.createProject({ id: 'P' }, 'admin');
  const subject = await a.createSubject('P', { label: 'S' }, 'admin');
  sessionId = (await a.createSession(subject.id, { label: 'E' }, 'admin')).id;
  const r = await a.createResource({ kind: 'session', session: sessionId }, { label: 'SRC' }, 'admin');
  await a.putFile(r.id, 'a.txt', Readable.from([Buffer.from('abc\n')]), {}, 'admin');
  await opened.close();
});

after(async () => {
  await removeInstanceContainers(data);
  await rm(dir, { recursive: true, force: true });
});

test('a crash with a setup, then a wrapup, in flight: each runs once and the run completes with their output', async () => {
  const s0 = await startServe({ XCS_TEST_PAUSE_AT: 'setup' });
  for (const c of [
    { name: 'crash-setup', type: 'docker-setup', 'command-line': 'sleep 0.3; tr a-z A-Z < /input/a.txt > /output/a.txt' },
    { name: 'crash-wrapup', type: 'docker-wrapup', 'command-line': 'sleep 0.3; sed "s/^/W:/" /input/result.txt > /output/final.txt' },
  ]) await api(s0, 'POST', '/xapi/commands', { version: '1', image: IMAGE, 'override-entrypoint': true, ...c });
  const wrapperId = await registerEnabled(jsonApi(() => s0.url, auth), MAIN);
  const run = await api<{ id: number }>(s0, 'POST', `/xapi/wrappers/${wrapperId}/root/session/launch`,
    { session: `/archive/experiments/${sessionId}` });
  await until(() => s0.output().includes('paused at setup'));
  await sigkill(s0);

  const s1 = await startServe({ XCS_TEST_PAUSE_AT: 'wrapup' });
  await until(() => s1.output().includes('paused at wrapup'));
  await sigkill(s1);

  const s2 = await startServe();
  try {
    let c: Container = { status: '', history: [] };
    await until(async () => {
      c = await api<Container>(s2, 'GET', `/xapi/containers/${run.id}`);
      return /^(Complete|Failed|Killed)/.test(c.status);
    });
    assert.equal(c.status, 'Complete', JSON.stringify(c.history));
    const messages = c.history.map((h) => h.message ?? '');
    assert.equal(messages.filter((m) => /^Setup container .* started$/.test(m)).length, 1, messages.join('\n'));
    assert.equal(messages.filter((m) => /^Setup container .* completed$/.test(m)).length, 1, messages.join('\n'));
    assert.equal(messages.filter((m) => /^Wrapup container .* started$/.test(m)).length, 1, messages.join('\n'));
    assert.equal(messages.filter((m) => /^Wrapup container .* completed$/.test(m)).length, 1, messages.join('\n'));
    const files = await api<{ ResultSet: { Result: { Name: string; URI: string }[] } }>(s2, 'GET',
      `/data/experiments/${sessionId}/resources/CRASH-SW/files?format=json`);
    assert.deepEqual(files.ResultSet.Result.map((f) => f.Name), ['final.txt']);
    const text = await (await fetch(`${s2.url}/data/experiments/${sessionId}/resources/CRASH-SW/files/final.txt`, { headers: auth })).text();
    assert.equal(text, 'W:ABC\n');
  } finally {
    await sigkill(s2);
  }
});
