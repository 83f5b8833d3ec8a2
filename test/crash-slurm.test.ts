// Crash safety on the Slurm backend (as test/crash-engine.test.ts for Docker, fewer trials): `xcs serve` with
// `"backend": "slurm"` is killed with SIGKILL while runs are queued, staging, running (their jobs go on in Slurm)
// or finalizing, then restarted. Every run must end in exactly one terminal state, its output must be in the
// archive exactly once, and no job or container of this installation may be left behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createSlurmBackend } from '../src/backends/slurm/index.ts';
import { XCS_LABELS, type ContainerBackend } from '../src/backends/types.ts';
import { requestJson, jsonApi } from './helpers/http.ts';
import { instanceOf, registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { ensureSlurmHarness, slurmHarnessAbsent } from './helpers/slurm.ts';
import { sigkill, startServe as startServeOn, type ServeProcess as Server } from './helpers/serve.ts';

const absent = slurmHarnessAbsent();
const run = promisify(execFile);
const PASSWORD = 'crash-pw';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
let dir: string;
let data: string;
let backend: ContainerBackend;
let sessionId: string;
let wrapperId: number;
let nextScan = 1;

const COMMAND = {
  name: 'crash-writer-slurm', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'sleep 0.4; echo payload > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'crash-writer-slurm-scan', contexts: ['xnat:imageScanData'],
    'external-inputs': [{ name: 'scan', type: 'Scan', required: true }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'scan', type: 'Resource', label: 'CRASH' }],
  }],
};

function startServe(env: Record<string, string> = {}): Promise<Server> {
  return startServeOn(data, { XCS_ADMIN_PASSWORD: PASSWORD, XCS_MAX_RUNNING: '1', ...env });
}

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

let jobRoot: string;

before(async () => {
  if (absent !== null) return;
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness()]);
  dir = await mkdtemp(join(tmpdir(), 'xcs-crash-slurm-'));
  jobRoot = join(dir, 'jobs');
  await mkdir(jobRoot);
  data = join(dir, 'data');
  process.env.XCS_ADMIN_PASSWORD = PASSWORD;
  const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
  await opened.archive.createProject({ id: 'P' }, 'admin');
  const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
  const session = await opened.archive.createSession(subject.id, { label: 'E' }, 'admin');
  sessionId = session.id;
  for (let i = 1; i <= 48; i++) await opened.archive.createScan(session.id, { id: String(i) }, 'admin');
  await opened.close();
  backend = await createSlurmBackend({ jobRoot, runnerReachable: true });
  const s = await startServe();
  wrapperId = await registerEnabled(jsonApi(() => s.url, auth), COMMAND);
  // The Slurm backend, from the next start on.
  await api(s, 'POST', '/xapi/docker/server', { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'auto-cleanup': true,
    'slurm-job-root': jobRoot, 'slurm-runner-local': true });
  await sigkill(s);
});

after(async () => {
  if (absent !== null) return;
  await removeInstanceContainers(data, backend);
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

type Phase = 'staging' | 'running' | 'finalizing' | 'random';

async function trial(phase: Phase, seed: number): Promise<void> {
  const s1 = await startServe(phase === 'random' ? {} : { XCS_TEST_PAUSE_AT: phase });
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

  const s2 = await startServe();
  try {
    const ended: Record_[] = [];
    await waitUntil(s2, async () => {
      ended.length = 0;
      for (const id of ids) ended.push(await api<Record_>(s2, 'GET', `/xapi/containers/${id}`));
      return ended.every((c) => /^(Complete|Failed|Killed)/.test(c.status));
    }, `runs ${ids} to end after restart (${phase})`, 90_000);
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
      'no job left');
    // Nothing of this installation still queued or running in Slurm, nor a container on the node.
    const { stdout: jobs } = await run('squeue', ['-h', '-t', 'pending,running,completing', '-o', '%j']);
    assert.deepEqual(jobs.split('\n').filter((n) => n.startsWith(`xcs-${instance}-`)), []);
    const { stdout: containers } = await run('docker', ['ps', '-a', '--filter', `label=${XCS_LABELS.instance}=${instance}`, '--format', '{{.Names}}']);
    assert.equal(containers.trim(), '');
  } finally {
    await sigkill(s2);
  }
}

// The random phase of the Docker test is left out here: each Slurm trial costs seconds of scheduling and two restarts.
const PLAN: Phase[] = ['staging', 'running', 'finalizing'];
test('Slurm: SIGKILL while staging, running and finalizing: one terminal state per run, outputs once, no stray job or container',
  { skip: absent ?? false }, async () => {
    for (let i = 0; i < PLAN.length; i++) await trial(PLAN[i], i + 3);
  });
