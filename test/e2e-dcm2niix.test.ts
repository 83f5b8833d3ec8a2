// The main job end to end, over REST against a real server (port 0), the real Docker engine and the real
// dcm2niix image: generated DICOM in, a NIFTI resource on every scan out, logs saved with each run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import { removeInstanceContainers } from './helpers/runs.ts';

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
  dir = await mkdtemp(join(tmpdir(), 'xcs-e2e-dcm2niix-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('dcm2niix on every scan of a generated session creates a NIFTI resource on each, logs saved', async () => {
  const archive = server.opened.archive;
  await archive.createProject({ id: 'DEMO' }, 'admin');
  const dicom = join(dir, 'dicom');
  await generateDicomSet(dicom, { patients: 1, seriesPerStudy: 2, slices: 4, seed: 'e2e' });
  const report = await importDicom(archive, { project: 'DEMO', source: dicom, user: 'admin' });
  const session = report.imported[0];
  const scans = await archive.listScans(session.id);
  assert.equal(scans.length, 2);

  const text = await readFile('examples/commands/dcm2niix.json', 'utf8');
  const reg = await api<number>('POST', '/xapi/commands', JSON.parse(text));
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const cmd = (await api<{ id: number; xnat: { id: number; name: string }[] }>('GET', `/xapi/commands/${reg.json}`)).json;
  const wrapper = cmd.xnat.find((w) => w.name === 'dcm2niix-scan')!;

  // Disabled wrappers are refused (our deviation from XNAT).
  const refused = await api<{ status: string; message: string }>('POST', `/xapi/wrappers/${wrapper.id}/root/scan/launch`, { scan: scans[0].archiveUri });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.status, 'failure');
  assert.match(refused.json.message, /not enabled/);

  assert.equal((await api('PUT', `/xapi/wrappers/${wrapper.id}/enabled`)).status, 200);
  assert.equal((await api('PUT', `/xapi/projects/DEMO/wrappers/${wrapper.id}/enabled`)).status, 200);

  const ids: number[] = [];
  for (const scan of scans) {
    const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/wrappers/${wrapper.id}/root/scan/launch`, { scan: scan.archiveUri });
    assert.equal(r.json.status, 'success', r.json.message);
    ids.push(r.json.id);
  }
  for (const id of ids) {
    let c: { status: string; outputs: { created: string | null }[]; 'log-paths': string[]; history: { status: string }[] };
    const t0 = Date.now();
    do {
      await new Promise((r) => setTimeout(r, 200));
      c = (await api<typeof c>('GET', `/xapi/containers/${id}`)).json;
      assert.ok(Date.now() - t0 < 60_000, `run ${id} did not end: ${c.status}`);
    } while (!/^(Complete|Failed|Killed)/.test(c.status));
    assert.equal(c.status, 'Complete', JSON.stringify(c.history));
    assert.match(c.outputs[0].created ?? '', /resources\/NIFTI$/);
    assert.ok(c['log-paths'].some((p) => p.endsWith('stdout.log')));
    const stdout = await fetch(`${server.url}/xapi/containers/${id}/logs/stdout`, { headers: auth });
    assert.match(await stdout.text(), /Chris Rorden|dcm2niix|Convert/i);
  }
  for (const scan of scans) {
    const resources = await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id });
    const nifti = resources.find((r) => r.label === 'NIFTI');
    assert.ok(nifti, `scan ${scan.id} has a NIFTI resource`);
    const files = await archive.listFiles(nifti.id);
    assert.ok(files.some((f) => f.name.endsWith('.nii') || f.name.endsWith('.nii.gz')), files.map((f) => f.name).join(','));
  }
  const list = (await api<{ id: number }[]>('GET', '/xapi/containers')).json;
  assert.deepEqual(list.map((c) => c.id).sort(), [...ids].sort());
});
