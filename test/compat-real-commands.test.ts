// Real commands of the corpus, end to end against a real server (port 0) and the real Docker engine, with
// stand-in images that behave like the real tools (`docker/images/xnat-tools`: batch-launch, the RT-STRUCT
// assessor maker, bet; `xnat/dcm2niix` is the real dcm2niix):
// - NrgXnat's batch-launch chain project → subjects → sessions → scans reaches every scan with dcm2niix
//   (the sessions step reads the subject's item document, `experiments/experiment`);
// - dcm2niix run twice on one scan: the second run replaces the files (as XNAT's catalog service copies
//   over them) and its provenance names the versions it replaced;
// - an assessor whose XML carries its own ID and is an `<icr:RoiCollection>`: stored with that ID as an
//   `icr:roiCollectionData`, which the plastimatch wrapper of that context then sees; a re-run replaces it;
// - bet_derived: a File input feeding a mount mounts that file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi } from './helpers/http.ts';
import { removeInstanceContainers } from './helpers/runs.ts';

let dir: string;
let server: RunningServer;
const auth = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };
const api = jsonApi(() => server.url, auth);
const corpus = (name: string) => readFile(join('test/corpus/commands', name), 'utf8').then((t) => JSON.parse(t) as unknown);

interface Run { id: number; status: string; history: Array<{ status: string; message?: string }>; outputs: Array<{ name: string; created: string | null }> }

/** Registers a command (its image swapped for a stand-in when given) and enables every wrapper for the site and P. */
async function register(command: unknown, image?: string, patch: Record<string, unknown> = {}): Promise<Map<string, number>> {
  const c = { ...(command as Record<string, unknown>), ...(image ? { image } : {}), ...patch };
  const id = await api<number>('POST', '/xapi/commands', c);
  const wrappers = new Map<string, number>();
  for (const w of (await api<{ xnat: Array<{ id: number; name: string }> }>('GET', `/xapi/commands/${id}`)).xnat) {
    await api('PUT', `/xapi/wrappers/${w.id}/enabled`);
    await api('PUT', `/xapi/projects/P/wrappers/${w.id}/enabled`);
    wrappers.set(w.name, w.id);
  }
  return wrappers;
}

async function launch(wrapper: number, root: string, value: string): Promise<number> {
  const r = await api<{ status: string; id: number; message?: string }>('POST', `/xapi/projects/P/wrappers/${wrapper}/root/${root}/launch`,
    { [root]: value });
  assert.equal(r.status, 'success', r.message);
  return r.id;
}

/** A run's history and logs, for failure messages. */
async function explain(run: Run): Promise<string> {
  const logs = await Promise.all(['stdout', 'stderr'].map(async (k) =>
    (await fetch(`${server.url}/xapi/containers/${run.id}/logs/${k}`, { headers: auth })).text()));
  return `${JSON.stringify(run.history.map((h) => `${h.status}: ${h.message ?? ''}`))}\nstdout: ${logs[0]}\nstderr: ${logs[1]}`;
}

async function waitEnd(id: number, seconds = 120): Promise<Run> {
  const t0 = Date.now();
  for (;;) {
    const c = await api<Run>('GET', `/xapi/containers/${id}`);
    if (/^(Complete|Failed|Killed)/.test(c.status)) return c;
    assert.ok(Date.now() - t0 < seconds * 1000, `run ${id} did not end: ${c.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-compat-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  // batch-launch calls the server back on 127.0.0.1, as the real image does on XNAT_HOST.
  process.env.XCS_CONTAINER_NETWORK = 'host';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_CONTAINER_NETWORK;
  await server.opened.archive.createProject({ id: 'P' }, 'admin');
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('batch-launch chain project → subjects → sessions → scans reaches every scan with dcm2niix', async () => {
  const archive = server.opened.archive;
  const dicom = join(dir, 'dicom');
  await generateDicomSet(dicom, { patients: 2, seriesPerStudy: 2, slices: 3, seed: 'compat' });
  await importDicom(archive, { project: 'P', source: dicom, user: 'admin' });
  const sessions = await archive.listSessions({ project: 'P' });
  const scans = (await Promise.all(sessions.map((s) => archive.listScans(s.id)))).flat();
  assert.equal(scans.length, 4);

  for (const c of await corpus('NrgXnat__docker-images__dcm2niix__Dockerfile.label.json') as unknown[]) await register(c);
  let projectWrapper = 0;
  for (const c of await corpus('NrgXnat__docker-images__batch-launch__Dockerfile.label.json') as unknown[]) {
    const w = await register(c, TEST_IMAGES.xnatTools);
    projectWrapper ||= w.get('dcm2niix-subjects-batch-project') ?? 0;
  }
  const first = await waitEnd(await launch(projectWrapper, 'project', '/archive/projects/P'));
  assert.equal(first.status, 'Complete', await explain(first));

  // Every level launched the next: 1 project run, 2 subject runs, 2 session runs, 4 dcm2niix runs.
  const t0 = Date.now();
  let runs: Run[];
  for (;;) {
    runs = await api<Run[]>('GET', '/xapi/containers');
    if (runs.length === 9 && runs.every((r) => /^(Complete|Failed|Killed)/.test(r.status))) break;
    assert.ok(Date.now() - t0 < 240_000, `chain did not finish: ${runs.map((r) => `${r.id}:${r.status}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(runs.filter((r) => r.status !== 'Complete').map((r) => r.history), []);
  for (const s of scans) {
    const nifti = (await archive.listResources({ kind: 'scan', session: s.sessionId, scan: s.id })).find((r) => r.label === 'NIFTI');
    assert.ok(nifti && (await archive.listFiles(nifti.id)).some((f) => f.name.endsWith('.nii')), `scan ${s.sessionId}/${s.id} got NIFTI`);
  }
});

test('dcm2niix twice on one scan: the second run replaces the files and its provenance names what it replaced', async () => {
  const archive = server.opened.archive;
  const session = (await archive.listSessions({ project: 'P' }))[0];
  const scan = (await archive.listScans(session.id))[0];
  const available = await api<Array<{ 'wrapper-id': number; 'wrapper-name': string }>>('GET', '/xapi/commands/available?project=P&xsiType=xnat:mrScanData');
  const wrapper = available.find((w) => w['wrapper-name'] === 'dcm2niix-scan')!['wrapper-id'];
  const nifti = (await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id })).find((r) => r.label === 'NIFTI')!;
  const before = await archive.listFiles(nifti.id);

  const again = await waitEnd(await launch(wrapper, 'scan', scan.archiveUri));
  assert.equal(again.status, 'Complete', await explain(again));
  const after = await archive.listFiles(nifti.id);
  assert.deepEqual(after.map((f) => f.name).sort(), before.map((f) => f.name).sort());
  const note = again.history.find((h) => h.status === 'Output note');
  assert.match(note?.message ?? '', /replaced \d+ file\(s\) an earlier run had stored/);
  const prov = await api<{ outputs: Array<{ 'replaced-files'?: Array<{ path: string; md5: string }> }> }>('GET', `/xapi/containers/${again.id}/provenance`);
  const replaced = prov.outputs[0]['replaced-files'] ?? [];
  assert.deepEqual(replaced.map((f) => f.path).sort(), before.map((f) => f.name).sort());
  assert.deepEqual(replaced.map((f) => f.md5).sort(), before.map((f) => f.checksum).sort());
  assert.doesNotMatch(JSON.stringify(again.history), /disk full/);
});

test('an assessor XML with its own ID and an <icr:RoiCollection> root is stored as written and seen by icr:roiCollectionData wrappers', async () => {
  const archive = server.opened.archive;
  const session = (await archive.listSessions({ project: 'P' }))[0];
  await archive.createScan(session.id, { id: '99', fields: { type: 'RTSTRUCT' } }, 'admin');
  const dicomRes = await archive.createResource({ kind: 'scan', session: session.id, scan: '99' }, { label: 'DICOM' }, 'admin');
  await archive.putFile(dicomRes.id, 'rtss.dcm', Readable.from([Buffer.from('RT-STRUCT stand-in')]), {}, 'admin');
  const expectedId = `RoiCollection_${createHash('sha1').update('RT-STRUCT stand-in').digest('hex').slice(0, 10)}`;

  const w = await register(await corpus('NrgXnat__docker-images__rt-struct-assessor__command.json'), TEST_IMAGES.xnatTools);
  const plastimatch = (await corpus('NrgXnat__docker-images__plastimatch__Dockerfile.label.json') as unknown[])[1];
  await register(plastimatch, TEST_IMAGES.busybox);
  const scanUri = `/archive/experiments/${session.id}/scans/99`;
  const run = await waitEnd(await launch(w.get('make-rt-struct-assessor-from-rt-struct-scan')!, 'scan', scanUri));
  assert.equal(run.status, 'Complete', await explain(run));
  assert.ok(run.outputs.some((o) => o.created === `/archive/experiments/${session.id}/assessors/${expectedId}`), JSON.stringify(run.outputs));

  const a = await archive.require({ kind: 'assessor', assessor: expectedId });
  assert.equal(a.xsiType, 'icr:roiCollectionData');
  const doc = await api<{ items: Array<{ children: Array<{ field: string; items: Array<{ meta: Record<string, string>; data_fields: { ID: string } }> }> }> }>(
    'GET', `/data/experiments/${session.id}?format=json`);
  const assessors = doc.items[0].children.find((c) => c.field === 'assessors/assessor')!.items;
  assert.deepEqual(assessors.map((i) => [i.data_fields.ID, i.meta['xsi:type']]), [[expectedId, 'icr:roiCollectionData']]);
  const rtstruct = (await archive.listResources({ kind: 'assessor', assessor: expectedId })).find((r) => r.label === 'RTSTRUCT');
  assert.ok(rtstruct, 'the RTSTRUCT resource went under the assessor');
  const available = await api<Array<{ 'wrapper-name': string }>>('GET', '/xapi/commands/available?project=P&xsiType=icr:roiCollectionData');
  assert.ok(available.some((x) => x['wrapper-name'] === 'dicomtonrrd-rtstruct-roi-collection'), JSON.stringify(available));

  // A re-run writes the same ID: the assessor is replaced (XNAT updates the item an inserted document names).
  const rerun = await waitEnd(await launch(w.get('make-rt-struct-assessor-from-rt-struct-scan')!, 'scan', scanUri));
  assert.equal(rerun.status, 'Complete', await explain(rerun));
  assert.deepEqual((await archive.listAssessors(session.id)).map((x) => x.id), [expectedId]);
});

test("bet_derived: the File input that provides files for the mount is mounted as that file", async () => {
  const archive = server.opened.archive;
  const session = (await archive.listSessions({ project: 'P' }))[1];
  const scan = (await archive.listScans(session.id))[0];
  const niftiRes = (await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id })).find((r) => r.label === 'NIFTI')!;
  const files = await archive.listFiles(niftiRes.id);
  // The File input takes one file: leave the NIFTI resource with the image only.
  for (const f of files.filter((x) => !x.name.endsWith('.nii'))) {
    await archive.delete({ kind: 'file', resource: niftiRes.id, path: f.name }, { removeFiles: true }, 'admin');
  }
  const image = (await archive.listFiles(niftiRes.id))[0];
  // XNAT mounts the file itself at /input, so the corpus line's `/input/#file-input#` (blank here) cannot
  // name it there either; the stand-in bet is given the mount path itself.
  const w = await register(await corpus('MIND-NYSPI__xnat-cs-tutorial__bet_derived.JSON.json'), TEST_IMAGES.xnatTools,
    { 'command-line': 'bet /input /output/happybrain.nii.gz [OPTIONS]', ports: {} });
  const run = await waitEnd(await launch(w.get('bet-nifti')!, 'scan', scan.archiveUri));
  assert.equal(run.status, 'Complete', await explain(run));
  const out = (await archive.listResources({ kind: 'scan', session: session.id, scan: scan.id })).find((r) => r.label === 'NIFTIEXTRACTED');
  assert.ok(out, 'NIFTIEXTRACTED created');
  const extracted = await archive.listFiles(out.id);
  assert.deepEqual(extracted.map((f) => [f.name, f.checksum]), [['happybrain.nii.gz', image.checksum]]);
});
