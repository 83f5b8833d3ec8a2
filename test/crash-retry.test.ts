// Retries and the max-runtime watchdog across crashes: `xcs serve` is killed with SIGKILL between a run's failure and
// its retry (inside the retry job, and during the backoff delay), and while a run with a time limit is running; the
// restarted server retries exactly once, after the delay, and stops the hung run at its deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS, type ContainerBackend } from '../src/backends/types.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi, requestJson } from './helpers/http.ts';
import { instanceOf, registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { sigkill, startServe, type ServeProcess } from './helpers/serve.ts';

const PASSWORD = 'crash-retry-pw';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
let dir: string;
let data: string;
let backend: ContainerBackend;
let sessionId: string;
const wrappers: Record<string, number> = {};

function command(name: string, commandLine: string, keys: Record<string, unknown>): Record<string, unknown> {
  return {
    name, version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
    mounts: [{ name: 'out', writable: true, path: '/output' }],
    outputs: [{ name: 'result', mount: 'out', required: true }],
    xnat: [{
      name: `${name}-session`, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: name.toUpperCase() }],
    }],
    ...keys,
  };
}

const FLAKY = 'echo attempt $XCS_ATTEMPT > /output/out.txt; [ "$XCS_ATTEMPT" -ge 2 ] || exit 75';

interface Container {
  id: number; status: string; 'status-time': string; attempt: number; 'retry-of': number | null; 'retried-by': number | null;
  history: Array<{ status: string; message: string | null; 'time-recorded': string }>;
}

const serve = (env: Record<string, string> = {}): Promise<ServeProcess> => startServe(data, { XCS_ADMIN_PASSWORD: PASSWORD, ...env });
const get = (s: ServeProcess, id: number): Promise<Container> => requestJson<Container>(s.url, auth, 'GET', `/xapi/containers/${id}`);

async function until<T>(s: ServeProcess, what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function launch(s: ServeProcess, name: string): Promise<number> {
  const r = await requestJson<{ id: number }>(s.url, auth, 'POST', `/xapi/projects/P/wrappers/${wrappers[name]}/root/session/launch`,
    { session: `/archive/experiments/${sessionId}` });
  return r.id;
}

/** The runs that are retries of `first`, whatever their number. */
async function retriesOf(s: ServeProcess, first: number): Promise<Container[]> {
  const all = await requestJson<Container[]>(s.url, auth, 'GET', '/xapi/containers?all=true');
  return all.filter((c) => c['retry-of'] === first);
}

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-crash-retry-'));
  data = join(dir, 'data');
  const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
  await opened.archive.createProject({ id: 'P' }, 'admin');
  const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
  sessionId = (await opened.archive.createSession(subject.id, { label: 'E', xsiType: 'xnat:mrSessionData' }, 'admin')).id;
  await opened.close();
  backend = await createDockerBackend();
  const s = await serve();
  const api = jsonApi(() => s.url, auth);
  wrappers.paused = await registerEnabled(api, command('paused', FLAKY, { retry: { 'maximum-attempts': 3, 'initial-interval': '0s' } }));
  wrappers.delayed = await registerEnabled(api, command('delayed', FLAKY, { retry: { 'maximum-attempts': 3, 'initial-interval': '3s' } }));
  wrappers.hung = await registerEnabled(api, command('hung', 'sleep 60', { 'max-runtime': '3s' }));
  await sigkill(s);
});

after(async () => {
  await removeInstanceContainers(data, backend);
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

async function noContainerLeft(s: ServeProcess): Promise<void> {
  const instance = await instanceOf(data);
  await until(s, 'no container left', async () =>
    (await backend.list({ labels: { [XCS_LABELS.instance]: instance } })).length === 0 ? true : undefined);
}

test('SIGKILL inside the retry job: after the restart the failed run is retried exactly once', async () => {
  const s1 = await serve({ XCS_TEST_PAUSE_AT: 'retry' });
  const first = await launch(s1, 'paused');
  await until(s1, 'the pause in the retry job', async () => (s1.output().includes('paused at retry') ? true : undefined));
  assert.equal((await get(s1, first)).status, 'Failed');
  await sigkill(s1);
  const s2 = await serve();
  try {
    const a1 = await until(s2, 'the retry', async () => {
      const c = await get(s2, first);
      return c['retried-by'] !== null ? c : undefined;
    });
    const a2 = await until(s2, 'attempt 2 to end', async () => {
      const c = await get(s2, a1['retried-by'] as number);
      return /^(Complete|Failed|Killed)/.test(c.status) ? c : undefined;
    });
    assert.equal(a2.status, 'Complete', JSON.stringify(a2.history));
    assert.equal(a2.attempt, 2);
    // Give a duplicate every chance to show up: the reconciler and the queue have run by now.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await retriesOf(s2, first)).map((c) => c.id), [a2.id], 'exactly one retry');
    assert.equal(a1.history.filter((h) => h.status === 'Retrying').length, 1);
    await noContainerLeft(s2);
  } finally {
    await sigkill(s2);
  }
});

test('SIGKILL during the backoff delay: the restarted server waits out the delay, then retries exactly once', async () => {
  const s1 = await serve();
  const first = await launch(s1, 'delayed');
  const failed = await until(s1, 'attempt 1 to fail', async () => {
    const c = await get(s1, first);
    return c.status === 'Failed' ? c : undefined;
  });
  assert.ok(failed.history.some((h) => h.status === 'Retry scheduled'), JSON.stringify(failed.history));
  await sigkill(s1);
  const s2 = await serve();
  try {
    const a1 = await until(s2, 'the retry', async () => {
      const c = await get(s2, first);
      return c['retried-by'] !== null ? c : undefined;
    });
    const retrying = a1.history.find((h) => h.status === 'Retrying');
    const failedAt = Date.parse(failed['status-time'].replace(/(\d\d)(\d\d)$/, '$1:$2'));
    const retriedAt = Date.parse((retrying?.['time-recorded'] ?? '').replace(/(\d\d)(\d\d)$/, '$1:$2'));
    // The delay is 3 s less a jitter of at most 20%.
    assert.ok(retriedAt - failedAt >= 2400, `retried ${retriedAt - failedAt} ms after the failure`);
    const a2 = await until(s2, 'attempt 2 to end', async () => {
      const c = await get(s2, a1['retried-by'] as number);
      return /^(Complete|Failed|Killed)/.test(c.status) ? c : undefined;
    });
    assert.equal(a2.status, 'Complete', JSON.stringify(a2.history));
    assert.deepEqual((await retriesOf(s2, first)).map((c) => c.id), [a2.id], 'exactly one retry');
    await noContainerLeft(s2);
  } finally {
    await sigkill(s2);
  }
});

test('SIGKILL while a run with max-runtime runs: the restarted server re-arms the watchdog and the run ends Failed (Timeout)', async () => {
  const s1 = await serve();
  const id = await launch(s1, 'hung');
  await until(s1, 'Running', async () => ((await get(s1, id)).status === 'Running' ? true : undefined));
  await sigkill(s1);
  const s2 = await serve();
  try {
    const end = await until(s2, 'the timeout', async () => {
      const c = await get(s2, id);
      return /^(Complete|Failed|Killed)/.test(c.status) ? c : undefined;
    }, 30_000);
    assert.equal(end.status, 'Failed (Timeout)', JSON.stringify(end.history));
    assert.ok(end.history.some((h) => h.status === 'Timeout' && h.message === 'Ran longer than max-runtime 3s; killing the container'));
    await noContainerLeft(s2);
  } finally {
    await sigkill(s2);
  }
});
