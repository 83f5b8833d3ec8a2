// The container service on the swarm backend, over REST against a real server and the real multi-node swarm of
// scripts/swarm-harness.sh: selected with XNAT's POST /xapi/docker/server {"backend": "swarm"}; dcm2niix on every
// scan, one placed on the worker its user-settable constraint names; the record shows the service, task, node and
// container; auto-cleanup removes finished services; archive-staging copy mounts a copy on the
// worker; an unplaceable run waits with its reason in words and is killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import { createSwarmBackend } from '../src/backends/swarm/swarm-backend.ts';
import { removeInstanceContainers } from './helpers/runs.ts';
import { SWARM_WORKER_PIDFILES, SWARM_WORKERS, swarmHarness } from './helpers/swarm.ts';

const absent = await swarmHarness();
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

interface ContainerRecord {
  status: string; backend: string; swarm: boolean; 'service-id': string | null; 'task-id': string | null; 'node-id': string | null;
  'container-id': string | null; 'swarm-constraints': string[] | null; placement: { node: string | null; state: string | null; 'pending-reason': string | null } | null;
  outputs: { created: string | null }[]; 'log-paths': string[]; history: { status: string; message: string | null }[];
}

async function until(id: number, done: (c: ContainerRecord) => boolean, what: string): Promise<ContainerRecord> {
  const t0 = Date.now();
  for (;;) {
    const c = (await api<ContainerRecord>('GET', `/xapi/containers/${id}`)).json;
    if (done(c)) return c;
    assert.ok(Date.now() - t0 < 90_000, `run ${id}: ${what} did not happen: ${c.status} ${JSON.stringify(c.history)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const server0 = (extra: object): object => ({ host: 'unix:///var/run/docker.sock', backend: 'swarm', 'auto-cleanup': true, ...extra });

before(async () => {
  if (absent !== null) return;
  dir = await mkdtemp(join(tmpdir(), 'xcs-e2e-swarm-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
});

after(async () => {
  if (absent !== null) return;
  await server.close();
  const swarm = await createSwarmBackend();
  await removeInstanceContainers(join(dir, 'data'), swarm);
  await swarm.close();
  await rm(dir, { recursive: true, force: true });
});

test('dcm2niix on the swarm, placed by a user-settable constraint, cleaned up; an unplaceable run waits with its reason and is killed',
  { skip: absent ?? false }, async () => {
    // Swarm keys are refused on the docker backend, accepted with backend swarm.
    const constraint = { attribute: 'node.labels.xcs-node', comparator: '==', values: ['worker-2', 'worker-1'], 'user-settable': true };
    const refused = await api<{ message: string }>('POST', '/xapi/docker/server', { host: 'unix:///var/run/docker.sock', 'swarm-constraints': [constraint] });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.json), /swarm-constraints/);
    const set = await api<{ backend: string }>('POST', '/xapi/docker/server', server0({ 'swarm-constraints': [constraint] }));
    assert.ok(set.status === 200 || set.status === 201, JSON.stringify(set.json));
    assert.equal(set.json.backend, 'swarm');

    const archive = server.opened.archive;
    await archive.createProject({ id: 'DEMO' }, 'admin');
    const dicom = join(dir, 'dicom');
    await generateDicomSet(dicom, { patients: 1, seriesPerStudy: 2, slices: 4, seed: 'e2e-swarm' });
    const session = (await importDicom(archive, { project: 'DEMO', source: dicom, user: 'admin' })).imported[0];
    const scans = await archive.listScans(session.id);
    const reg = await api<number>('POST', '/xapi/commands', JSON.parse(await readFile('examples/commands/dcm2niix.json', 'utf8')));
    assert.equal(reg.status, 201, JSON.stringify(reg.json));
    const cmd = (await api<{ xnat: { id: number; name: string }[] }>('GET', `/xapi/commands/${reg.json}`)).json;
    const wrapper = cmd.xnat.find((w) => w.name === 'dcm2niix-scan')!;
    await api('PUT', `/xapi/wrappers/${wrapper.id}/enabled`);
    await api('PUT', `/xapi/projects/DEMO/wrappers/${wrapper.id}/enabled`);

    // The launch UI shows the constraints a run will get.
    const ui = await api<{ 'container-server-config': { 'swarm-constraints': unknown[] | null } }>('GET',
      `/xapi/projects/DEMO/wrappers/${wrapper.id}/launch?scan=${encodeURIComponent(scans[0].archiveUri)}`);
    assert.equal(ui.status, 200, JSON.stringify(ui.json));
    assert.equal(ui.json['container-server-config']['swarm-constraints']?.length, 1);

    // Availability says which constraints a launch gets, and which a user may choose.
    const avail = await api<{ available: { 'wrapper-id': number; placement?: { constraints: string[]; 'user-settable': { values: string[] }[] } }[] }>(
      'GET', `/xapi/availability?object=${encodeURIComponent(scans[0].archiveUri)}`);
    assert.equal(avail.status, 200, JSON.stringify(avail.json));
    const offered = avail.json.available.find((a) => a['wrapper-id'] === wrapper.id);
    assert.deepEqual(offered?.placement?.constraints, ['node.labels.xcs-node==worker-2']);
    assert.deepEqual(offered?.placement?.['user-settable'][0].values, ['worker-2', 'worker-1']);

    const worker1 = ((await new Docker({ socketPath: SWARM_WORKERS['worker-1'].slice('unix://'.length) }).info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    const ids: number[] = [];
    for (const [i, scan] of scans.entries()) {
      // The second scan's run stages its input as a copy in its build directory; its service is kept to be read.
      if (i === 1) {
        const copying = await api('POST', '/xapi/docker/server', server0({ 'swarm-constraints': [constraint], 'archive-staging': 'copy', 'auto-cleanup': false }));
        assert.ok(copying.status < 300, JSON.stringify(copying.json));
      }
      const params: Record<string, string> = { scan: scan.archiveUri };
      if (i === 0) params['swarm-constraints'] = JSON.stringify([{ attribute: 'node.labels.xcs-node', value: 'worker-1' }]);
      const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${wrapper.id}/root/scan/launch`, params);
      assert.equal(r.json.status, 'success', r.json.message);
      ids.push(r.json.id);
    }
    const docker = new Docker();
    for (const [i, id] of ids.entries()) {
      const c = await until(id, (x) => /^(Complete|Failed|Killed)/.test(x.status), 'the end');
      assert.equal(c.status, 'Complete', JSON.stringify(c.history));
      assert.match(c.outputs[0].created ?? '', /resources\/NIFTI$/);
      assert.equal(c.backend, 'swarm');
      assert.equal(c.swarm, true);
      assert.ok(c['service-id'] && c['task-id'] && c['node-id'] && c['container-id'], JSON.stringify(c));
      assert.deepEqual(c['swarm-constraints'], [`node.labels.xcs-node==${i === 0 ? 'worker-1' : 'worker-2'}`]);
      if (i === 0) assert.equal(c['node-id'], worker1);
      assert.equal(c.placement?.state, 'complete');
      assert.ok(c['log-paths'].some((p) => p.endsWith('stdout.log')));
      const stdout = await fetch(`${server.url}/xapi/containers/${id}/logs/stdout`, { headers: auth });
      assert.match(await stdout.text(), /Chris Rorden|dcm2niix|Convert/i);
      if (i === 1) {
        // Copy staging on the swarm: the task on worker-2 mounted the copy, never the archive; with auto-cleanup
        // off the service and the build directory (the copy with it) stay for whoever looks into the run.
        const service = await docker.getService(c['service-id']!).inspect() as { Spec: { TaskTemplate: { ContainerSpec: { Mounts: { Source: string; Target: string; ReadOnly?: boolean }[] } } } };
        const input = service.Spec.TaskTemplate.ContainerSpec.Mounts.find((m) => m.Target === '/input');
        assert.match(input?.Source ?? '', /\/archive-copies\/\d+-dicom-in$/, JSON.stringify(service.Spec.TaskTemplate.ContainerSpec.Mounts));
        assert.ok(!input!.Source.startsWith(join(dir, 'data', 'archive')), 'never the archive');
        assert.equal(input!.ReadOnly, true);
        const dicoms = (await archive.listResources({ kind: 'scan', session: session.id, scan: scans[1].id })).find((r) => r.label === 'DICOM')!;
        assert.deepEqual((await readdir(input!.Source)).sort(), (await archive.listFiles(dicoms.id)).map((f) => f.name).sort(), 'the scan\'s files, copied');
        await docker.getService(c['service-id']!).remove();
      }
      // auto-cleanup: the finished service is gone from the swarm.
      const t0 = Date.now();
      while ((await docker.listServices({ filters: JSON.stringify({ id: [c['service-id']] }) })).length > 0) {
        assert.ok(Date.now() - t0 < 30_000, `service ${c['service-id']} of run ${id} was not removed`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (const scan of scans) {
      const nifti = (await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id })).find((r) => r.label === 'NIFTI');
      assert.ok(nifti, `scan ${scan.id} has a NIFTI resource`);
    }

    assert.ok((await api('POST', '/xapi/docker/server', server0({ 'swarm-constraints': [constraint] }))).status < 300);

    // No node carries the label: the run waits, and says why.
    const nowhere = { attribute: 'node.labels.xcs-node', comparator: '==', values: ['nowhere'], 'user-settable': false };
    assert.ok((await api('POST', '/xapi/docker/server', server0({ 'swarm-constraints': [nowhere] }))).status < 300);
    const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${wrapper.id}/root/scan/launch`, { scan: scans[0].archiveUri });
    assert.equal(r.json.status, 'success', r.json.message);
    const pending = await until(r.json.id, (x) => x.placement?.['pending-reason'] != null, 'a pending reason');
    assert.equal(pending.status, 'Created');
    assert.match(pending.placement?.['pending-reason'] ?? '', /^no node satisfies the run's placement constraints: no suitable node/);
    assert.ok(pending.history.some((h) => h.status === 'Pending' && /^Not running yet: no node satisfies/.test(h.message ?? '')), JSON.stringify(pending.history));
    // XNAT answers a kill with the backend id: the service.
    const kill = await fetch(`${server.url}/xapi/containers/${r.json.id}/kill`, { method: 'POST', headers: auth });
    assert.equal(kill.status, 200);
    assert.equal(await kill.text(), pending['service-id']);
    const killed = await until(r.json.id, (x) => /^(Complete|Failed|Killed)/.test(x.status), 'the kill');
    assert.equal(killed.status, 'Killed', JSON.stringify(killed.history));
    assert.equal((await docker.listServices({ filters: JSON.stringify({ id: [pending['service-id'] ?? ''] }) })).length, 0);

    // The node running a run goes down (its engine frozen): the run fails naming the node, as a lost run.
    const onWorker1 = { attribute: 'node.labels.xcs-node', comparator: '==', values: ['worker-1'], 'user-settable': false };
    assert.ok((await api('POST', '/xapi/docker/server', server0({ 'swarm-constraints': [onWorker1] }))).status < 300);
    const sleeper = await api<number>('POST', '/xapi/commands', {
      name: 'swarm-sleeper', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': 'echo up; exec sleep 600',
      'override-entrypoint': true, xnat: [{ name: 'swarm-sleeper-scan', contexts: ['xnat:imageScanData'],
        'external-inputs': [{ name: 'scan', type: 'Scan', required: true }] }],
    });
    const sleeperWrapper = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${sleeper.json}`)).json.xnat[0].id;
    await api('PUT', `/xapi/wrappers/${sleeperWrapper}/enabled`);
    await api('PUT', `/xapi/projects/DEMO/wrappers/${sleeperWrapper}/enabled`);
    const l = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${sleeperWrapper}/root/scan/launch`, { scan: scans[0].archiveUri });
    assert.equal(l.json.status, 'success', l.json.message);
    await until(l.json.id, (x) => x.status === 'Running', 'the start');
    const pid = Number(readFileSync(SWARM_WORKER_PIDFILES['worker-1'], 'utf8'));
    process.kill(pid, 'SIGSTOP');
    let lost: ContainerRecord;
    try {
      lost = await until(l.json.id, (x) => /^(Complete|Failed|Killed)/.test(x.status), 'the end of the lost run');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(lost.status, 'Failed (Orphaned)', JSON.stringify(lost.history));
    assert.equal((lost as unknown as { 'failure-code': string })['failure-code'], 'node-lost');
    assert.ok(lost.history.some((h) => /^Swarm node error: node \S+ \(127\.0\.0\.\d, id \w{12}\) went down/.test(h.message ?? '')), JSON.stringify(lost.history));
  });
