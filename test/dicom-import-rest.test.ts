// The DICOM import service over real HTTP, against the real embedded archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import yazl from 'yazl';
import type { FastifyInstance } from 'fastify';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import { generateDicomSet, type DicomSetManifest } from '../src/archive/dicom/generate.ts';
import { buildServer } from '../src/http/server.ts';

interface World {
  dir: string;
  opened: OpenedArchive;
  url: string;
  manifest: DicomSetManifest;
  zip: Buffer;
}

const ADMIN = `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`;
const CAROL = `Basic ${Buffer.from('carol:pw-carol').toString('base64')}`;

async function zipBuffer(entries: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

async function withServer(fn: (w: World) => Promise<void>, maxUploadBytes?: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-dicom-rest-'));
  const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'admin-pw' } });
  let app: FastifyInstance | undefined;
  try {
    await opened.archive.createProject({ id: 'P1' }, 'admin');
    await opened.users.addUser({ login: 'carol', password: 'pw-carol' });
    await opened.users.setRole('P1', 'carol', 'collaborator');
    const src = join(dir, 'src');
    const manifest = await generateDicomSet(src, { patients: 2, seriesPerStudy: 2, slices: 3, seed: 'rest' });
    const zip = await zipBuffer(await Promise.all(manifest.files.map(async (f) => ({ name: f, data: await readFile(join(src, f)) }))));
    app = await buildServer({ archive: opened.archive, users: opened.users, embedded: opened, maxUploadBytes });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    await fn({ dir, opened, url: `http://127.0.0.1:${port}`, manifest, zip });
  } finally {
    await app?.close();
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function stagingLeftovers(opened: OpenedArchive): Promise<string[]> {
  return (await readdir(opened.archive.stagingDir())).filter((n) => n.startsWith('dicom-'));
}

test('POST /data/services/import with a zip answers the new session URIs, and the sessions are listed', () => withServer(async ({ url, zip, opened }) => {
  const r = await fetch(`${url}/data/services/import?import-handler=DICOM-zip&PROJECT_ID=P1&dest=/archive`, {
    method: 'POST', headers: { authorization: ADMIN, 'content-type': 'application/zip' }, body: zip,
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  assert.deepEqual((await r.text()).trim().split('\n'), [
    '/data/archive/projects/P1/subjects/SUBJ001/experiments/SUBJ001_ACC00101',
    '/data/archive/projects/P1/subjects/SUBJ002/experiments/SUBJ002_ACC00201',
  ]);
  const list = await fetch(`${url}/data/projects/P1/subjects/SUBJ002/experiments/SUBJ002_ACC00201/scans?format=json`, {
    headers: { authorization: ADMIN },
  });
  assert.equal(list.status, 200);
  const rows = ((await list.json()) as { ResultSet: { Result: Array<Record<string, string>> } }).ResultSet.Result;
  assert.deepEqual(rows.map((x) => [x.ID, x.type]), [['1', 'T1w_MPRAGE'], ['2', 'T2w_SPACE']]);
  assert.deepEqual(await stagingLeftovers(opened), []);
}));

test('multipart upload to /data/projects/{p}/import with format=json returns the report', () => withServer(async ({ url, zip }) => {
  const form = new FormData();
  form.append('file', new Blob([zip], { type: 'application/zip' }), 'set.zip');
  const r = await fetch(`${url}/data/projects/P1/import?format=json`, { method: 'POST', headers: { authorization: ADMIN }, body: form });
  assert.equal(r.status, 200, await r.clone().text());
  const report = (await r.json()) as { subjects: number; sessions: number; scans: number; files: number; skipped: unknown[] };
  assert.deepEqual([report.subjects, report.sessions, report.scans, report.files, report.skipped], [2, 2, 4, 12, []]);
}));

test('refusals: unsafe zip 400, collaborator 403, unknown project 404, handler 400, oversized 413 — archive unchanged', () => withServer(async ({ url, zip, opened }) => {
  const before = await tree(join(opened.dataDir, 'archive'));
  const post = (path: string, body: Buffer, auth = ADMIN) => fetch(`${url}${path}`, {
    method: 'POST', headers: { authorization: auth, 'content-type': 'application/zip' }, body,
  });
  // yazl refuses "..", so patch a same-length placeholder name in the finished zip.
  const evil = await zipBuffer([{ name: 'xx/evil.dcm', data: Buffer.from('DICM') }]);
  for (let at = evil.indexOf('xx/evil'); at >= 0; at = evil.indexOf('xx/evil', at + 1)) evil.write('../evil', at, 'latin1');
  const bad = await post('/data/services/import?PROJECT_ID=P1', evil);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /entry "\.\.\/evil\.dcm" climbs out of the upload/);
  assert.equal((await post('/data/services/import?PROJECT_ID=P1', zip, CAROL)).status, 403);
  assert.equal((await post('/data/services/import?PROJECT_ID=NOPE', zip)).status, 404);
  assert.equal((await post('/data/services/import?PROJECT_ID=P1&import-handler=XAR', zip)).status, 400);
  assert.equal((await post('/data/services/import', zip)).status, 400);
  const truncated = await post('/data/services/import?PROJECT_ID=P1', zip.subarray(0, zip.length - 40));
  assert.equal(truncated.status, 400);
  assert.match(await truncated.text(), /damaged or truncated/);
  assert.deepEqual(await tree(join(opened.dataDir, 'archive')), before);
  assert.deepEqual(await opened.archive.listSubjects('P1'), []);
  assert.deepEqual(await stagingLeftovers(opened), []);
}));

test('an upload over the size limit is a 413 and leaves nothing', () => withServer(async ({ url, zip, opened }) => {
  const r = await fetch(`${url}/data/services/import?PROJECT_ID=P1`, {
    method: 'POST', headers: { authorization: ADMIN, 'content-type': 'application/zip' }, body: zip,
  });
  assert.equal(r.status, 413);
  assert.match(await r.text(), /larger than 2000 bytes/);
  assert.deepEqual(await opened.archive.listSubjects('P1'), []);
  assert.deepEqual(await stagingLeftovers(opened), []);
}, 2000));

test('a client that disconnects mid-upload leaves no partial file', () => withServer(async ({ url, zip, opened }) => {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`POST /data/services/import?PROJECT_ID=P1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${ADMIN}\r\n`
    + `Content-Type: application/zip\r\nContent-Length: ${zip.length * 10}\r\n\r\n`);
  socket.write(zip);
  // Wait until the server has started saving the body, then hang up.
  for (let i = 0; i < 500 && (await stagingLeftovers(opened)).length === 0; i++) await sleep(10);
  assert.equal((await stagingLeftovers(opened)).length, 1, 'the upload was being saved to a temporary file');
  socket.destroy();
  for (let i = 0; i < 500 && (await stagingLeftovers(opened)).length > 0; i++) await sleep(10);
  assert.deepEqual(await stagingLeftovers(opened), []);
  assert.deepEqual(await opened.archive.listSubjects('P1'), []);
}));
