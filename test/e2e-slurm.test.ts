// dcm2niix end to end on the Slurm backend: the backend chosen with POST /xapi/docker/server {"backend": "slurm"},
// taking effect at the next start; each run a batch job on the one-machine cluster (scripts/slurm-harness.sh) that
// runs the container with the node's Docker; outputs back in the archive (one run reading a copy of
// its input, archive-staging copy), logs saved, the job id and node known;
// last, the same server talking to slurmrestd with a JWT instead of running the Slurm tools.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { ensureSlurmHarness, SLURM_REST_URL, slurmHarnessAbsent, slurmRestAbsent } from './helpers/slurm.ts';

const absent = slurmHarnessAbsent();
const restAbsent = absent ?? slurmRestAbsent();
const run = promisify(execFile);
let wrapperId = 0;
let scanUri = '';
let dir: string;
let server: RunningServer;
const auth = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method, headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

before(async () => {
  if (absent !== null) return;
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness()]);
  dir = await mkdtemp(join(tmpdir(), 'xcs-e2e-slurm-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
});

after(async () => {
  if (absent !== null) return;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the Slurm backend is chosen through the server settings; a bad choice is refused with the reason', { skip: absent ?? false }, async () => {
  const missingRoot = await api<{ message: string }>('POST', '/xapi/docker/server', { backend: 'slurm', host: 'unix:///var/run/docker.sock' });
  assert.equal(missingRoot.status, 400);
  assert.match(JSON.stringify(missingRoot.json), /slurm-job-root/);
  const hostile = await api<{ message: string }>('POST', '/xapi/docker/server', { backend: 'slurm', host: 'unix:///var/run/docker.sock',
    'slurm-job-root': join(dir, 'jobs'), 'slurm-partition': 'xcs; rm -rf /' });
  assert.equal(hostile.status, 400);
  assert.match(JSON.stringify(hostile.json), /slurm-partition/);
  const jobRoot = join(dir, 'jobs');
  await mkdir(jobRoot);
  const ok = await api<Record<string, unknown>>('POST', '/xapi/docker/server', { backend: 'slurm', host: 'unix:///var/run/docker.sock',
    'auto-cleanup': true, 'slurm-job-root': jobRoot, 'slurm-partition': 'xcs', 'slurm-runner-local': true });
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
  assert.equal(ok.json.backend, 'slurm');
  assert.equal(ok.json['slurm-job-root'], jobRoot);
  // The chosen backend takes effect at the next start.
  await server.close();
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  assert.equal((await api<{ backend: string }>('GET', '/xapi/docker/server')).json.backend, 'slurm');
});

test('dcm2niix on every scan runs as Slurm jobs and creates a NIFTI resource on each', { skip: absent ?? false }, async () => {
  const archive = server.opened.archive;
  await archive.createProject({ id: 'DEMO' }, 'admin');
  const dicom = join(dir, 'dicom');
  await generateDicomSet(dicom, { patients: 1, seriesPerStudy: 2, slices: 4, seed: 'e2e-slurm' });
  const report = await importDicom(archive, { project: 'DEMO', source: dicom, user: 'admin' });
  const session = report.imported[0];
  const scans = await archive.listScans(session.id);
  const reg = await api<number>('POST', '/xapi/commands', JSON.parse(await readFile('examples/commands/dcm2niix.json', 'utf8')));
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const cmd = (await api<{ xnat: { id: number; name: string }[] }>('GET', `/xapi/commands/${reg.json}`)).json;
  const wrapper = cmd.xnat.find((w) => w.name === 'dcm2niix-scan')!;
  assert.equal((await api('PUT', `/xapi/wrappers/${wrapper.id}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${wrapper.id}/enabled`)).status, 200);
  const ids: number[] = [];
  const settings = (await api<Record<string, unknown>>('GET', '/xapi/docker/server')).json;
  for (const [i, scan] of scans.entries()) {
    // The second scan's job reads a copy of its DICOM staged in the run's build directory.
    if (i === 1) assert.equal((await api('POST', '/xapi/docker/server', { ...settings, 'archive-staging': 'copy' })).status, 201);
    const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${wrapper.id}/root/scan/launch`, { scan: scan.archiveUri });
    assert.equal(r.json.status, 'success', r.json.message);
    ids.push(r.json.id);
  }
  for (const [i, id] of ids.entries()) {
    let c: { status: string; 'container-name': string; outputs: { created: string | null }[]; history: { status: string }[];
      'run-settings': { archiveStaging?: string }; 'service-id': string | null };
    const t0 = Date.now();
    do {
      await new Promise((r) => setTimeout(r, 300));
      c = (await api<typeof c>('GET', `/xapi/containers/${id}`)).json;
      assert.ok(Date.now() - t0 < 120_000, `run ${id} did not end: ${c.status}`);
    } while (!/^(Complete|Failed|Killed)/.test(c.status));
    assert.equal(c.status, 'Complete', JSON.stringify(c.history));
    assert.equal(c['run-settings'].archiveStaging, i === 1 ? 'copy' : 'bind');
    // The job's script (Slurm keeps it) bound the copy in the run's build directory, read-only, or the archive's own.
    const script = (await run('scontrol', ['write', 'batch_script', c['service-id'] ?? '', '-'])).stdout;
    const input = /'type=bind,source=([^,']+),target=\/input(,readonly)?'/.exec(script);
    assert.ok(input, script);
    assert.equal(input[2], ',readonly');
    if (i === 1) assert.match(input[1], /\/archive-copies\/\d+-dicom-in$/);
    else assert.ok(input[1].startsWith(join(dir, 'data', 'archive')), input[1]);
    assert.match(c.outputs[0].created ?? '', /resources\/NIFTI$/);
    const stdout = await fetch(`${server.url}/xapi/containers/${id}/logs/stdout`, { headers: auth });
    assert.match(await stdout.text(), /Chris Rorden|dcm2niix|Convert/i);
  }
  for (const scan of scans) {
    const nifti = (await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id })).find((r) => r.label === 'NIFTI');
    assert.ok(nifti, `scan ${scan.id} has a NIFTI resource`);
    assert.ok((await archive.listFiles(nifti.id)).some((f) => /\.nii(\.gz)?$/.test(f.name)));
  }
  // Clean-up removes the jobs' directories once the runs ended (just after the record turns terminal).
  const t0 = Date.now();
  while ((await readdir(join(dir, 'jobs'))).length > 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await readdir(join(dir, 'jobs')), []);
  wrapperId = wrapper.id;
  scanUri = scans[0].archiveUri;
});

type RunRecordJson = { status: string; 'service-id': string | null; 'node-id': string | null; history: { status: string; message: string | null }[] };

async function waitForRecord(id: number, done: (c: RunRecordJson) => boolean): Promise<RunRecordJson> {
  const t0 = Date.now();
  while (true) {
    const c = (await api<RunRecordJson>('GET', `/xapi/containers/${id}`)).json;
    if (done(c)) return c;
    assert.ok(Date.now() - t0 < 120_000, `run ${id}: ${c.status}, ${JSON.stringify(c.history.map((h) => h.status))}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('while the node is full the run shows Slurm\'s reason; then it runs, with its job id and node in the record', { skip: absent ?? false }, async () => {
  // Another user's job takes every CPU of the one node.
  const { stdout } = await run('sbatch', ['--parsable', '--cpus-per-task=8', '--output=/dev/null', '--wrap', 'sleep 300']);
  const blocker = stdout.trim();
  try {
    const r = await api<{ status: string; id: number }>('POST', `/xapi/wrappers/${wrapperId}/root/scan/launch`, { scan: scanUri });
    const waiting = await waitForRecord(r.json.id, (c) => c.history.some((h) => h.status === 'Waiting for a node'));
    const item = waiting.history.find((h) => h.status === 'Waiting for a node');
    // Resources, or Priority when other jobs wait too (tests sharing the cluster).
    assert.match(item?.message ?? '', /^PENDING \((Resources\): .*free|Priority\): .*ahead)/);
    assert.equal(waiting['service-id'], null);
    await run('scancel', [blocker]);
    const done = await waitForRecord(r.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
    assert.equal(done.status, 'Complete');
    assert.match(done['service-id'] ?? '', /^\d+$/);
    assert.equal(done['node-id'], hostname().split('.')[0]);
  } finally {
    await run('scancel', [blocker]).catch(() => undefined);
  }
});

test('a kill through XCS cancels the job and removes its container on the node', { skip: absent ?? false }, async () => {
  const reg = await api<number>('POST', '/xapi/commands', { name: 'slurm-sleeper', image: 'xcs-test/busybox:latest', type: 'docker',
    'command-line': 'echo up; exec sleep 600', 'override-entrypoint': true, inputs: [], outputs: [],
    xnat: [{ name: 'slurm-sleeper', contexts: ['xnat:projectData'], 'external-inputs': [{ name: 'project', type: 'Project', required: true }] }] });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const cmd = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${reg.json}`)).json;
  const w = cmd.xnat[0].id;
  assert.equal((await api('PUT', `/xapi/wrappers/${w}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${w}/enabled`)).status, 200);
  const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${w}/root/project/launch`, { project: '/archive/projects/DEMO' });
  assert.equal(r.json.status, 'success', r.json.message);
  const placed = await waitForRecord(r.json.id, (c) => c['service-id'] !== null);
  const name = (await api<{ 'container-name': string }>('GET', `/xapi/containers/${r.json.id}`)).json['container-name'];
  const killed = await fetch(`${server.url}/xapi/containers/${r.json.id}/kill`, { method: 'POST', headers: auth });
  assert.equal(killed.status, 200);
  assert.equal(await killed.text(), name);
  const done = await waitForRecord(r.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
  assert.equal(done.status, 'Killed');
  const { stdout } = await run('squeue', ['-h', '-t', 'all', '-j', placed['service-id'] ?? '', '-o', '%T']);
  assert.match(stdout.trim(), /^CANCELLED/);
  await assert.rejects(run('docker', ['inspect', name]));
});

test('a run over its memory limit ends Killed (Out of Memory) with the hint, its container gone from the node', { skip: absent ?? false }, async () => {
  // The node's Docker enforces limit-memory inside the job (the one-machine cluster cannot confine jobs by cgroup);
  // tail keeps the whole 64 MiB line in memory against an 8 MiB limit, as the Docker OOM conformance case does.
  const reg = await api<number>('POST', '/xapi/commands', { name: 'slurm-memory-hog', image: 'xcs-test/busybox:latest', type: 'docker',
    'command-line': 'head -c 64m /dev/zero | tail', 'override-entrypoint': true, 'limit-memory': 8, inputs: [], outputs: [],
    xnat: [{ name: 'slurm-memory-hog', contexts: ['xnat:projectData'], 'external-inputs': [{ name: 'project', type: 'Project', required: true }] }] });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const w = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${reg.json}`)).json.xnat[0].id;
  assert.equal((await api('PUT', `/xapi/wrappers/${w}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${w}/enabled`)).status, 200);
  const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${w}/root/project/launch`, { project: '/archive/projects/DEMO' });
  assert.equal(r.json.status, 'success', r.json.message);
  const done = await waitForRecord(r.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
  assert.equal(done.status, 'Killed (Out of Memory)', JSON.stringify(done.history));
  const record = (await api<{ 'failure-code': string; 'failure-hint': string; 'exit-code': string; 'container-name': string }>('GET', `/xapi/containers/${r.json.id}`)).json;
  assert.equal(record['failure-code'], 'oom');
  assert.match(record['failure-hint'], /limit-memory/);
  assert.notEqual(record['exit-code'], '0');
  assert.match(done['service-id'] ?? '', /^\d+$/);
  // The job asked Slurm for the same memory the container was held to.
  const { stdout } = await run('scontrol', ['show', 'job', '-o', done['service-id'] ?? '']).catch(() => ({ stdout: '' }));
  if (stdout !== '') assert.match(stdout, /MinMemoryNode=8M/);
  await assert.rejects(run('docker', ['inspect', record['container-name']]));
});

test('a user chooses the partition at launch among the ones the site allows; any other choice is refused by name', { skip: absent ?? false }, async () => {
  const base = { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'auto-cleanup': true, 'slurm-job-root': join(dir, 'jobs'),
    'slurm-partition': 'xcs', 'slurm-runner-local': true };
  // Only partition, account and QoS can be user-settable, each with a list of Slurm names.
  for (const hostile of [{ partition: ['xcs; scancel -u root'] }, { nodelist: ['vm'] }, { partition: [] }, { qos: 'normal' }]) {
    const r = await api<{ message: string }>('POST', '/xapi/docker/server', { ...base, 'slurm-user-settable': hostile });
    assert.equal(r.status, 400, JSON.stringify(hostile));
    assert.match(JSON.stringify(r.json), /slurm-user-settable/);
  }
  const ok = await api<Record<string, unknown>>('POST', '/xapi/docker/server', { ...base, 'slurm-user-settable': { partition: ['xcs', 'xcs-other'] } });
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
  assert.deepEqual(ok.json['slurm-user-settable'], { partition: ['xcs', 'xcs-other'] });

  const reg = await api<number>('POST', '/xapi/commands', { name: 'slurm-where', image: 'xcs-test/busybox:latest', type: 'docker',
    'command-line': 'echo placed', 'override-entrypoint': true, inputs: [], outputs: [],
    xnat: [{ name: 'slurm-where', contexts: ['xnat:projectData'], 'external-inputs': [{ name: 'project', type: 'Project', required: true }] }] });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const w = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${reg.json}`)).json.xnat[0].id;
  assert.equal((await api('PUT', `/xapi/wrappers/${w}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${w}/enabled`)).status, 200);
  const launch = (extra: Record<string, string>) => api<{ status: string; id: number; message?: string }>('POST',
    `/xapi/wrappers/${w}/root/project/launch`, { project: '/archive/projects/DEMO', ...extra });
  const partitionOf = async (id: number): Promise<string> => {
    const done = await waitForRecord(id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
    assert.equal(done.status, 'Complete', JSON.stringify(done.history));
    const { stdout } = await run('scontrol', ['show', 'job', '-o', done['service-id'] ?? '']);
    return /\bPartition=(\S+)/.exec(stdout)?.[1] ?? '';
  };

  const chosen = await launch({ 'slurm-partition': 'xcs-other' });
  assert.equal(chosen.json.status, 'success', chosen.json.message);
  assert.equal(await partitionOf(chosen.json.id), 'xcs-other');
  const byDefault = await launch({});
  assert.equal(byDefault.json.status, 'success', byDefault.json.message);
  assert.equal(await partitionOf(byDefault.json.id), 'xcs');

  const before = (await api<unknown[]>('GET', '/xapi/containers')).json.length;
  const notAllowed = await launch({ 'slurm-partition': 'debug' });
  assert.notEqual(notAllowed.json.status, 'success');
  assert.match(notAllowed.json.message ?? '', /slurm-partition/);
  assert.match(notAllowed.json.message ?? '', /"xcs", "xcs-other"/);
  const notSettable = await launch({ 'slurm-account': 'physics' });
  assert.notEqual(notSettable.json.status, 'success');
  assert.match(notSettable.json.message ?? '', /slurm-account/);
  // A refused launch creates no run (and so no job).
  assert.equal((await api<unknown[]>('GET', '/xapi/containers')).json.length, before);
});

test('with slurm-rest-url the server submits through slurmrestd, reading the JWT from the token file each time it changes', { skip: restAbsent ?? false }, async () => {
  const tokenFile = join(dir, 'slurm-token');
  const fresh = async (): Promise<void> => {
    const { stdout } = await run('scontrol', ['token', 'username=root', 'lifespan=3600']);
    await writeFile(tokenFile, stdout, { mode: 0o600 });
  };
  await fresh();
  const settings = { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'auto-cleanup': true, 'slurm-job-root': join(dir, 'jobs'),
    'slurm-partition': 'xcs', 'slurm-runner-local': true, 'slurm-rest-url': SLURM_REST_URL, 'slurm-rest-user': 'root', 'slurm-rest-token-file': tokenFile };
  const ok = await api<Record<string, unknown>>('POST', '/xapi/docker/server', settings);
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
  assert.equal(ok.json['slurm-rest-url'], SLURM_REST_URL);
  assert.ok(!JSON.stringify(ok.json).includes(await readFile(tokenFile, 'utf8')), 'the token is never a setting');
  await server.close();
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });

  const reg = await api<number>('POST', '/xapi/commands', { name: 'slurm-rest-echo', image: 'xcs-test/busybox:latest', type: 'docker',
    'command-line': 'echo through rest', 'override-entrypoint': true, inputs: [], outputs: [],
    xnat: [{ name: 'slurm-rest-echo', contexts: ['xnat:projectData'], 'external-inputs': [{ name: 'project', type: 'Project', required: true }] }] });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const w = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${reg.json}`)).json.xnat[0].id;
  assert.equal((await api('PUT', `/xapi/wrappers/${w}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${w}/enabled`)).status, 200);
  const launch = () => api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${w}/root/project/launch`,
    { project: '/archive/projects/DEMO' });
  const good = await launch();
  assert.equal(good.json.status, 'success', good.json.message);
  const done = await waitForRecord(good.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
  assert.equal(done.status, 'Complete', JSON.stringify(done.history));
  assert.match(done['service-id'] ?? '', /^\d+$/);
  const stdout = await fetch(`${server.url}/xapi/containers/${good.json.id}/logs/stdout`, { headers: auth });
  assert.equal(await stdout.text(), 'through rest\n');

  // A token the controller refuses (signed with another key): the run fails saying why it may be (the submission
  // went through slurmrestd).
  const [head, body] = (await readFile(tokenFile, 'utf8')).trim().replace(/^SLURM_JWT=/, '').split('.');
  await writeFile(tokenFile, `SLURM_JWT=${head}.${body}.c2lnbmVkLWVsc2V3aGVyZQ\n`, { mode: 0o600 });
  const refused = await launch();
  assert.equal(refused.json.status, 'success', refused.json.message);
  const failed = await waitForRecord(refused.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
  assert.match(failed.status, /^Failed/);
  assert.match(JSON.stringify(failed.history), /slurmrestd could not talk to the Slurm controller as root; an expired or wrong token/);
  // A file that holds no token is never sent: the run fails naming the file.
  await writeFile(tokenFile, 'root:not-a-token:19000\n', { mode: 0o600 });
  const notToken = await launch();
  const noToken = await waitForRecord(notToken.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status));
  assert.match(JSON.stringify(noToken.history), /slurm-token holds no JSON web token/);
  assert.doesNotMatch(JSON.stringify(noToken.history), /not-a-token/);
  await fresh();
  const again = await launch();
  assert.equal(again.json.status, 'success', again.json.message);
  assert.equal((await waitForRecord(again.json.id, (c) => /^(Complete|Failed|Killed)/.test(c.status))).status, 'Complete');
});
