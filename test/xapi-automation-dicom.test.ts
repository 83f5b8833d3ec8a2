// Automation on DICOM upload, end to end over real HTTP with the real engine and the real dcm2niix image: a
// command event mapping "on scan archived in P launch dcm2niix-scan", then a DICOM zip POSTed to
// /data/services/import gets a NIFTI resource on every new scan with no further step. Also checks the event
// order the automation relies on: `scan.created` when the row exists (no files yet), `scan.archived` only once
// the scan's DICOM files are committed, `session.archived` after its scans.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import yazl from 'yazl';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import type { ArchiveEvent } from '../src/archive/events.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

let s: TestServer;
let admin: Record<string, string>;

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
});

after(async () => {
  await stopWithContainers(s);
});

async function zipOf(dir: string, files: string[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(await readFile(join(dir, f)), f);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** DICOM files on disk under a scan's DICOM resource, read synchronously (inside an event listener; P has one session). */
function dicomFilesOf(scan: string): number {
  const root = join(s.dir, 'data', 'archive', 'P', 'arc001');
  let n = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(root, { recursive: true }) as string[];
  } catch {
    return 0; // the session's directory appears with its first committed files
  }
  for (const p of entries) {
    const parts = p.split('/');
    if (parts.length === 5 && parts[1] === 'SCANS' && parts[2] === scan && parts[3] === 'DICOM' && parts[4].endsWith('.dcm')) n++;
  }
  return n;
}

test('a DICOM zip uploaded to a project with a ScanArchived mapping gets NIFTI on every scan, launched after the files exist', async () => {
  const { archive } = s.opened;
  assert.equal((await call(s.url, 'PUT', '/data/projects/P', { headers: admin })).status, 201);

  const command = JSON.parse(await readFile('examples/commands/dcm2niix.json', 'utf8')) as Record<string, unknown>;
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: command });
  assert.equal(reg.status, 201, reg.text);
  const commandId = Number(reg.body);
  const cmd = (await call(s.url, 'GET', `/xapi/commands/${commandId}`, { headers: admin })).body as { xnat: Array<{ id: number; name: string }> };
  const wrapper = cmd.xnat.find((w) => w.name === 'dcm2niix-scan');
  assert.ok(wrapper);
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wrapper.id}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/P/wrappers/${wrapper.id}/enabled`, { headers: admin })).status, 200);
  const mapping = await call(s.url, 'POST', '/xapi/commandeventmapping', { headers: admin,
    json: { 'event-type': 'ScanArchived', 'command-id': commandId, 'xnat-command-wrapper': 'dcm2niix-scan', project: 'P' } });
  assert.equal(mapping.status, 201, mapping.text);

  // What each event saw on disk at the moment it was emitted.
  const seen: Array<{ name: string; scan?: string; files: number }> = [];
  const watch = (name: string) => (e: ArchiveEvent): void => {
    if (e.project === 'P') seen.push({ name, scan: e.scan, files: e.scan ? dicomFilesOf(e.scan) : -1 });
  };
  for (const n of ['scan.created', 'scan.archived', 'session.archived'] as const) archive.events.on(n, watch(n));

  const src = join(s.dir, 'dicom');
  const manifest = await generateDicomSet(src, { patients: 1, seriesPerStudy: 2, slices: 3, seed: 'automation' });
  const zip = await zipOf(src, manifest.files);
  const r = await fetch(`${s.url}/data/services/import?import-handler=DICOM-zip&PROJECT_ID=P`, {
    method: 'POST', headers: { ...admin, 'content-type': 'application/zip' }, body: zip });
  assert.ok(r.status === 200 || r.status === 201, `${r.status} ${await r.clone().text()}`);

  const sessions = await archive.listSessions({ project: 'P' });
  assert.equal(sessions.length, 1);
  const session = sessions[0];
  const scans = await archive.listScans(session.id);
  assert.equal(scans.length, 2);

  // Events: created with no files yet, archived with all of them, the session after its scans.
  for (const scan of scans) {
    const created = seen.find((x) => x.name === 'scan.created' && x.scan === scan.id);
    const archived = seen.find((x) => x.name === 'scan.archived' && x.scan === scan.id);
    assert.equal(created?.files, 0, `scan ${scan.id} had no files when it was created: ${JSON.stringify(seen)}`);
    assert.equal(archived?.files, 3, `scan ${scan.id} had its 3 DICOM files when it was archived`);
  }
  const order = seen.map((x) => x.name);
  assert.equal(order.filter((n) => n === 'session.archived').length, 1);
  assert.ok(order.lastIndexOf('scan.archived') < order.indexOf('session.archived'), order.join(', '));
  assert.ok(order.lastIndexOf('scan.created') < order.indexOf('scan.archived'), 'every scan is created before any is archived');

  // No manual step: every scan gets NIFTI (bounded wait; dcm2niix on 3 slices takes a second or two).
  const niftiOn = async (scan: string): Promise<boolean> => {
    const l = await call(s.url, 'GET', `/data/experiments/${session.id}/scans/${scan}/resources?format=json`, { headers: admin });
    const rows = (l.body as { ResultSet?: { Result?: Array<{ label: string }> } }).ResultSet?.Result ?? [];
    return rows.some((x) => x.label === 'NIFTI');
  };
  const deadline = 600;
  let done: boolean[] = [];
  for (let i = 0; i < deadline; i++) {
    done = await Promise.all(scans.map((x) => niftiOn(x.id)));
    if (done.every(Boolean)) break;
    await sleep(200);
  }
  assert.deepEqual(done, scans.map(() => true), 'every scan has its NIFTI resource');
  const files = await call(s.url, 'GET', `/data/experiments/${session.id}/scans/${scans[0].id}/resources/NIFTI/files?format=json`, { headers: admin });
  const names = ((files.body as { ResultSet: { Result: Array<{ Name: string }> } }).ResultSet.Result).map((f) => f.Name);
  assert.ok(names.some((n) => n.endsWith('.nii') || n.endsWith('.nii.gz')), names.join(', '));

  // Exactly one run per scan, each launched by the mapping's subscriber and complete.
  const runs = (await call(s.url, 'GET', '/xapi/containers', { headers: admin })).body as Array<{ status: string; 'user-id': string; 'wrapper-id': number }>;
  const mine = runs.filter((x) => x['wrapper-id'] === wrapper.id);
  assert.equal(mine.length, 2);
  for (const run of mine) assert.equal(run['user-id'], 'admin');
  for (let i = 0; i < 100 && !mine.every((x) => x.status === 'Complete'); i++) {
    await sleep(200);
    const again = (await call(s.url, 'GET', '/xapi/containers', { headers: admin })).body as typeof runs;
    mine.splice(0, mine.length, ...again.filter((x) => x['wrapper-id'] === wrapper.id));
  }
  assert.deepEqual(mine.map((x) => x.status), ['Complete', 'Complete']);
});
