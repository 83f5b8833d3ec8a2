/**
 * The crash trials of `test/crash-engine.test.ts` (Docker), `test/crash-swarm.test.ts` (Swarm) and
 * `test/crash-slurm.test.ts` (Slurm): `xcs serve` is killed with SIGKILL while runs are queued, staging, running or
 * finalizing, then restarted. Every run must end in exactly one terminal state, its output must be in the archive
 * exactly once, and no container (or service, or job) of this installation may be left behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive } from '../../src/archive/open.ts';
import { XCS_LABELS, type ContainerBackend } from '../../src/backends/types.ts';
import { requestJson, jsonApi } from './http.ts';
import { instanceOf, registerEnabled, removeInstanceContainers } from './runs.ts';
import { sigkill, startServe as startServeOn, type ServeProcess as Server } from './serve.ts';
import { dropDataDirSchemas } from './postgres.ts';

export interface CrashTrialOptions {
  /** The backend the test checks for stray containers with (the one the server runs on). */
  newBackend: () => Promise<ContainerBackend>;
  /** Server settings posted once before the trials (e.g. `{"backend": "swarm"}`); none = the defaults. */
  serverSettings?: Record<string, unknown>;
  /** How long the runs may take to end after the restart (default 30 s; a scheduler may need longer). */
  endTimeoutMs?: number;
  /** More checks once a trial's runs ended and the backend lists none of them (`instance`: the installation's id). */
  afterTrial?: (instance: string) => Promise<void>;
}

const PASSWORD = 'crash-pw';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

const COMMAND = {
  name: 'crash-writer', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'sleep 0.4; echo payload > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'crash-writer-scan', contexts: ['xnat:imageScanData'],
    'external-inputs': [{ name: 'scan', type: 'Scan', required: true }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'scan', type: 'Resource', label: 'CRASH' }],
  }],
};

const startServe = (data: string, env: Record<string, string> = {}): Promise<Server> =>
  startServeOn(data, { XCS_ADMIN_PASSWORD: PASSWORD, XCS_MAX_RUNNING: '1', ...env });

function api<T = unknown>(s: Server, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(s.url, auth, method, path, body);
}

interface Record_ { id: number; status: string; history: { status: string }[]; outputs: { created: string | null }[] }

async function waitUntil(s: Server, cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Sets up a data directory and returns the trial runner and the clean-up. */
export async function crashTrials(options: CrashTrialOptions): Promise<{ trial: (phase: Phase, seed: number) => Promise<void>; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-crash-'));
  const data = join(dir, 'data');
  let nextScan = 1;
  process.env.XCS_ADMIN_PASSWORD = PASSWORD;
  const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
  await opened.archive.createProject({ id: 'P' }, 'admin');
  const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
  const session = await opened.archive.createSession(subject.id, { label: 'E' }, 'admin');
  const sessionId = session.id;
  for (let i = 1; i <= 48; i++) await opened.archive.createScan(session.id, { id: String(i) }, 'admin');
  await opened.close();
  const backend = await options.newBackend();
  const s = await startServe(data);
  const wrapperId = await registerEnabled(jsonApi(() => s.url, auth), COMMAND);
  if (options.serverSettings !== undefined) await api(s, 'POST', '/xapi/docker/server', options.serverSettings);
  await sigkill(s);

  const trial = async (phase: Phase, seed: number): Promise<void> => {
    const s1 = await startServe(data, phase === 'random' ? {} : { XCS_TEST_PAUSE_AT: phase });
    const scans = [nextScan++, nextScan++];
    const ids: number[] = [];
    for (const scan of scans) {
      const r = await api<{ status: string; id: number }>(s1, 'POST', `/xapi/wrappers/${wrapperId}/root/scan/launch`,
        { scan: `/archive/experiments/${sessionId}/scans/${scan}` });
      ids.push(r.id);
    }
    if (phase === 'random') {
      await new Promise((r) => setTimeout(r, (seed * 137) % 1600));
    } else {
      await waitUntil(s1, async () => s1.output().includes(`paused at ${phase}`), `pause at ${phase}`);
      if (phase === 'staging') {
        // One run paused in staging, the other still queued behind it (XCS_MAX_RUNNING=1).
        const statuses = await Promise.all(ids.map(async (id) => (await api<Record_>(s1, 'GET', `/xapi/containers/${id}`)).status));
        assert.ok(statuses.includes('Staging') && statuses.includes('Queued'), statuses.join());
      }
    }
    await sigkill(s1);

    const s2 = await startServe(data);
    try {
      const ended: Record_[] = [];
      await waitUntil(s2, async () => {
        ended.length = 0;
        for (const id of ids) ended.push(await api<Record_>(s2, 'GET', `/xapi/containers/${id}`));
        return ended.every((c) => /^(Complete|Failed|Killed)/.test(c.status));
      }, `runs ${ids} to end after restart (${phase})`, options.endTimeoutMs);
      for (const c of ended) {
        assert.equal(c.status, 'Complete', `${phase}: run ${c.id}: ${JSON.stringify(c.history)}`);
        const terminal = c.history.filter((h) => /^(Complete|Failed|Killed)/.test(h.status));
        assert.equal(terminal.length, 1, `${phase}: exactly one terminal state for run ${c.id}`);
      }
      for (const scan of scans) {
        const listing = await api<{ ResultSet: { Result: { label: string }[] } }>(s2, 'GET',
          `/data/experiments/${sessionId}/scans/${scan}/resources?format=json`);
        const crash = listing.ResultSet.Result.filter((r) => r.label === 'CRASH');
        assert.equal(crash.length, 1, `${phase}: one CRASH resource on scan ${scan}`);
        const files = await api<{ ResultSet: { Result: { Name: string }[] } }>(s2, 'GET',
          `/data/experiments/${sessionId}/scans/${scan}/resources/CRASH/files?format=json`);
        assert.deepEqual(files.ResultSet.Result.map((f) => f.Name), ['out.txt']);
      }
      // Clean-up happens after the terminal status: wait for the containers to go.
      const instance = await instanceOf(data);
      await waitUntil(s2, async () => (await backend.list({ labels: { [XCS_LABELS.instance]: instance } })).length === 0,
        'no container left');
      await options.afterTrial?.(instance);
    } finally {
      await sigkill(s2);
    }
  };

  const done = async (): Promise<void> => {
    await removeInstanceContainers(data, backend);
    await backend.close();
    dropDataDirSchemas(data);
    await rm(dir, { recursive: true, force: true });
  };
  return { trial, done };
}

export type Phase = 'staging' | 'running' | 'finalizing' | 'random';
export const PLAN: Phase[] = ['staging', 'running', 'finalizing', 'random'];
