import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { openEmbeddedArchive, type OpenedArchive } from './open.ts';
import type { ArchiveEvent } from './events.ts';
import { isA } from './xsi.ts';
import { isXcsError, type XcsError } from '../core/errors.ts';
import { httpStatusOf } from '../http/error-mapping.ts';

/** The failure is answered with `status` over HTTP (http's error handler chooses it by code) and matches `more`. */
function answered(status: number, more: { code?: string; message?: RegExp } = {}): (e: unknown) => boolean {
  return (e) => isXcsError(e) && httpStatusOf(e) === status && (more.code === undefined || e.code === more.code) &&
    (more.message === undefined || more.message.test(e.message));
}

let dir: string;
let o: OpenedArchive;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-embedded-test-'));
  o = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'pw' } });
});
afterEach(async () => {
  await o.close();
  await rm(dir, { recursive: true, force: true });
});

async function session() {
  const a = o.archive;
  await a.createProject({ id: 'P' }, 'u');
  const s = await a.createSubject('P', { label: 's1' }, 'u');
  const e = await a.createSession(s.id, { label: 'e1', xsiType: 'xnat:ctSessionData' }, 'u');
  await a.createScan(e.id, { id: '7', fields: { type: 'T1w' } }, 'u');
  const r = await a.createResource({ kind: 'scan', session: e.id, scan: '7' }, { label: 'DICOM', format: 'DICOM' }, 'u');
  return { subject: s, session: e, resource: r };
}

/** Builds a zip; `rename` patches entry names afterwards, since yazl refuses to write unsafe ones. */
async function makeZip(entries: Array<[string, string]>, rename: Array<[string, string]> = [], mode?: number): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of entries) zip.addBuffer(Buffer.from(text), name, mode ? { mode } : {});
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  for (const [from, to] of rename) {
    for (let i = buf.indexOf(from); i >= 0; i = buf.indexOf(from, i + 1)) buf.write(to, i, 'latin1');
  }
  const p = join(dir, `z${Math.random()}.zip`);
  await writeFile(p, buf);
  return p;
}

async function leftovers(): Promise<string[]> {
  return readdir(join(dir, 'data', 'staging', '.uploads'));
}

test('accession IDs, XNAT layout, resolveUri by id and label, modality from type', async () => {
  const { subject, session: e, resource } = await session();
  assert.equal(subject.id, 'XNAT_S00001');
  assert.equal(e.id, 'XNAT_E00001');
  assert.equal(e.modality, 'CT');
  assert.equal(await o.archive.directoryOf({ kind: 'resource', resource: resource.id }),
    join(dir, 'data', 'archive', 'P', 'arc001', 'e1', 'SCANS', '7', 'DICOM'));
  for (const uri of ['/archive/experiments/XNAT_E00001/scans/7/resources/DICOM', '/archive/projects/P/subjects/s1/experiments/e1/scans/7/resources/DICOM',
    `/data/experiments/XNAT_E00001/scans/7/resources/${resource.id}`]) {
    assert.deepEqual(await o.archive.resolveUri(uri), { kind: 'resource', resource: resource.id }, uri);
  }
  assert.deepEqual(await o.archive.resolveUri('/experiments/XNAT_E00001'), { kind: 'session', session: 'XNAT_E00001' });
  await assert.rejects(o.archive.resolveUri('/archive/experiments/XNAT_E00009'), answered(404));
  assert.ok(isA('xnat:ctSessionData', 'xnat:experimentData'));
  assert.ok(!isA('xnat:mrScanData', 'xnat:imageSessionData'));
});

test('duplicate labels and unknown types are refused with 4xx', async () => {
  const { subject, session: e } = await session();
  await assert.rejects(o.archive.createSubject('P', { label: 's1' }, 'u'), answered(409));
  await assert.rejects(o.archive.createSession(subject.id, { label: 'e1' }, 'u'), answered(409));
  await assert.rejects(o.archive.createSession(subject.id, { label: 'e2', xsiType: 'xnat:nopeSessionData' }, 'u'),
    (err: XcsError) => httpStatusOf(err) === 400 && /xnat:mrSessionData/.test(err.hint ?? ''));
  await assert.rejects(o.archive.createScan(e.id, { id: '7' }, 'u'), answered(409));
  await assert.rejects(o.archive.createSubject('P', { label: 'a/b' }, 'u'), answered(400));
  const a = await o.archive.createAssessor(e.id, { label: 'qc1', xsiType: 'myns:customData' }, 'u');
  assert.equal(a.xsiType, 'myns:customData');
});

test('file upload streams with MD5; traversal, duplicates and size limits leave nothing behind', async () => {
  const { resource } = await session();
  const f = await o.archive.putFile(resource.id, 'dir/a.dcm', Readable.from([Buffer.from('hello')]), { tags: ['x'] }, 'u');
  assert.equal(f.checksum, '5d41402abc4b2a76b9719d911017c592');
  assert.equal(await readFile(f.absolutePath, 'utf8'), 'hello');
  for (const bad of ['../x', '/etc/passwd', 'a/../../x', 'a\\b', '']) {
    await assert.rejects(o.archive.putFile(resource.id, bad, Readable.from([Buffer.from('x')]), {}, 'u'), answered(400), bad);
  }
  await assert.rejects(o.archive.putFile(resource.id, 'dir/a.dcm', Readable.from([Buffer.from('y')]), {}, 'u'), answered(409));
  await assert.rejects(o.archive.putFile(resource.id, 'big', Readable.from([Buffer.alloc(100)]), { maxBytes: 10 }, 'u'), answered(413));
  const failing = new Readable({ read() { this.push(Buffer.from('abc')); this.destroy(new Error('connection reset')); } });
  await assert.rejects(o.archive.putFile(resource.id, 'cut', failing, {}, 'u'), answered(400));
  assert.deepEqual((await o.archive.listFiles(resource.id)).map((x) => x.name), ['dir/a.dcm']);
  assert.deepEqual(await leftovers(), []);
  await o.archive.putFile(resource.id, 'dir/a.dcm', Readable.from([Buffer.from('new')]), { overwrite: true }, 'u');
  assert.equal(await readFile(f.absolutePath, 'utf8'), 'new');
});

test('zip extraction: all entries or none; unsafe entries refused', async () => {
  const { resource } = await session();
  const good = await makeZip([['a.txt', 'A'], ['sub/b.txt', 'B']]);
  const files = await o.archive.putZip(resource.id, good, {}, 'u');
  assert.deepEqual(files.map((x) => x.name).sort(), ['a.txt', 'sub/b.txt']);
  for (const [placeholder, name] of [['QQ/evil.txt', '../evil.txt'], ['Qabs.txt', '/abs.txt'], ['x/QQ/QQ/e.txt', 'x/../../e.txt']]) {
    const z = await makeZip([['ok.txt', 'ok'], [placeholder, 'evil']], [[placeholder, name]]);
    await assert.rejects(o.archive.putZip(resource.id, z, {}, 'u'), answered(400), name);
  }
  const link = await makeZip([['link', '/etc/passwd']], [], 0o120777);
  await assert.rejects(o.archive.putZip(resource.id, link, {}, 'u'), /symbolic link/);
  // A zip that collides with an existing file changes nothing, not even its other entries.
  await assert.rejects(o.archive.putZip(resource.id, await makeZip([['c.txt', 'C'], ['a.txt', 'A2']]), {}, 'u'), answered(409));
  assert.deepEqual((await o.archive.listFiles(resource.id)).map((x) => x.name), ['a.txt', 'sub/b.txt']);
  const notZip = join(dir, 'nz.zip');
  await writeFile(notZip, 'not a zip');
  await assert.rejects(o.archive.putZip(resource.id, notZip, {}, 'u'), answered(400));
  assert.deepEqual(await leftovers(), []);
});

test('commitResource moves staged files atomically and is idempotent per key', async () => {
  const { session: e } = await session();
  const stage = join(o.archive.stagingDir(), 'run1');
  await mkdir(join(stage, 'nested'), { recursive: true });
  await writeFile(join(stage, 'out.nii'), 'nifti');
  await writeFile(join(stage, 'nested', 'x.json'), '{}');
  const parent = { kind: 'session', session: e.id } as const;
  const first = await o.archive.commitResource(parent, { label: 'NIFTI', format: 'NIFTI' }, stage, { idempotencyKey: 'k1' }, 'u');
  assert.equal(first.created, true);
  assert.equal(first.uri, `/archive/experiments/${e.id}/resources/NIFTI`);
  const again = await o.archive.commitResource(parent, { label: 'NIFTI' }, stage, { idempotencyKey: 'k1' }, 'u');
  assert.deepEqual(again, { ...first, created: false });
  assert.deepEqual((await o.archive.listFiles(first.resource)).map((f) => f.name), ['nested/x.json', 'out.nii']);
  // A symlink in a staged directory is refused before anything moves.
  const stage2 = join(o.archive.stagingDir(), 'run2');
  await mkdir(stage2);
  await symlink('/etc/passwd', join(stage2, 'link'));
  await assert.rejects(o.archive.commitResource(parent, { label: 'L' }, stage2, { idempotencyKey: 'k2' }, 'u'), answered(400));
  await assert.rejects(o.archive.commitResource(parent, { label: 'L' }, dir, { idempotencyKey: 'k3' }, 'u'), answered(400));
});

test('assessors and scans from XNAT XML keep their document', async () => {
  const { session: e } = await session();
  const xml = `<?xml version="1.0"?><xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" ID="qc_1" label="qc_1" project="P">
    <xnat:date>2024-02-02</xnat:date><xnat:imageSession_ID>${e.id}</xnat:imageSession_ID></xnat:QCAssessment>`;
  const a = await o.archive.createAssessorFromXml(e.id, xml, 'u');
  assert.equal(a.xsiType, 'xnat:qcAssessmentData');
  assert.equal(a.label, 'qc_1');
  assert.equal(a.date, '2024-02-02');
  assert.equal(a.document?.text, xml);
  const s = await o.archive.createScanFromXml(e.id, '<xnat:MRScan ID="9" type="DWI"><xnat:frames>60</xnat:frames></xnat:MRScan>', 'u');
  assert.deepEqual([s.xsiType, s.id, s.type, s.frames], ['xnat:mrScanData', '9', 'DWI', '60']);
  await assert.rejects(o.archive.createAssessorFromXml(e.id, 'not xml', 'u'), answered(400));
});

test('events: session and scan created/archived, resource created', async () => {
  const seen: Array<[string, ArchiveEvent]> = [];
  for (const n of ['session.created', 'session.archived', 'scan.created', 'scan.archived', 'resource.created'] as const) {
    o.archive.events.on(n, (e) => seen.push([n, e]));
  }
  await session();
  assert.deepEqual(seen.map(([n]) => n), ['session.created', 'session.archived', 'scan.created', 'scan.archived', 'resource.created']);
  assert.deepEqual(seen[2][1], { project: 'P', subject: 'XNAT_S00001', session: 'XNAT_E00001', scan: '7',
    uri: '/archive/experiments/XNAT_E00001/scans/7', xsiType: 'xnat:mrScanData', user: 'u' });
});

test('relabelling a session moves its files; deleting removes rows and files', async () => {
  const { session: e, resource } = await session();
  await o.archive.putFile(resource.id, 'a', Readable.from([Buffer.from('a')]), {}, 'u');
  await o.archive.update({ kind: 'session', session: e.id }, { 'xnat:ctSessionData/label': 'e1b' }, 'u');
  const [f] = await o.archive.listFiles(resource.id);
  assert.ok(f.absolutePath.includes(join('arc001', 'e1b', 'SCANS')));
  assert.equal(await readFile(f.absolutePath, 'utf8'), 'a');
  await o.archive.delete({ kind: 'session', session: e.id }, {}, 'u');
  assert.equal(await o.archive.get({ kind: 'resource', resource: resource.id }), undefined);
  await assert.rejects(readFile(f.absolutePath));
});

test('commitResource takes precomputed digests, hashes staged files they miss, and skips empty directories', async () => {
  const { session: e } = await session();
  const parent = { kind: 'session', session: e.id } as const;
  const stage = join(o.archive.stagingDir(), 'run-digests');
  await mkdir(join(stage, 'sub'), { recursive: true });
  await mkdir(join(stage, 'empty'));
  await writeFile(join(stage, 'a.txt'), 'aaa');
  await writeFile(join(stage, 'sub', 'b.txt'), 'bb');
  // The given digest is stored as is (the archive does not read a.txt again); b.txt has none and is hashed.
  const r = await o.archive.commitResource(parent, { label: 'OUT' }, stage, {
    idempotencyKey: 'd1', files: [{ path: 'a.txt', size: 3, md5: 'given-md5' }, { path: 'gone.txt', size: 1, md5: 'x' }],
  }, 'u');
  const files = await o.archive.listFiles(r.resource);
  assert.deepEqual(files.map((f) => [f.name, f.size, f.checksum]), [
    ['a.txt', 3, 'given-md5'], ['sub/b.txt', 2, '21ad0bd836b90d08f4cf640b4c298e7c'],
  ]);
  const resDir = await o.archive.directoryOf({ kind: 'resource', resource: r.resource });
  assert.deepEqual((await readdir(resDir)).sort(), ['a.txt', 'sub']);
  assert.equal(await readFile(join(resDir, 'sub', 'b.txt'), 'utf8'), 'bb');
  await assert.rejects(readdir(stage), { code: 'ENOENT' });
});

test('commitResource into a resource that already holds files moves file by file, refusing taken names', async () => {
  const { session: e } = await session();
  const parent = { kind: 'session', session: e.id } as const;
  const stage1 = join(o.archive.stagingDir(), 'r1');
  await mkdir(join(stage1, 'd'), { recursive: true });
  await writeFile(join(stage1, 'd', 'one.txt'), '1');
  const first = await o.archive.commitResource(parent, { label: 'OUT' }, stage1, { idempotencyKey: 'm1' }, 'u');

  const stage2 = join(o.archive.stagingDir(), 'r2');
  await mkdir(join(stage2, 'd', 'deeper'), { recursive: true });
  await writeFile(join(stage2, 'd', 'two.txt'), '22');
  await writeFile(join(stage2, 'd', 'deeper', 'three.txt'), '333');
  const second = await o.archive.commitResource(parent, { label: 'OUT' }, stage2, { idempotencyKey: 'm2' }, 'u');
  assert.equal(second.resource, first.resource);
  assert.deepEqual((await o.archive.listFiles(first.resource)).map((f) => [f.name, f.size]),
    [['d/deeper/three.txt', 3], ['d/one.txt', 1], ['d/two.txt', 2]]);
  const resDir = await o.archive.directoryOf({ kind: 'resource', resource: first.resource });
  assert.equal(await readFile(join(resDir, 'd', 'deeper', 'three.txt'), 'utf8'), '333');
  assert.equal(await readFile(join(resDir, 'd', 'one.txt'), 'utf8'), '1');

  const stage3 = join(o.archive.stagingDir(), 'r3');
  await mkdir(join(stage3, 'd'), { recursive: true });
  await writeFile(join(stage3, 'd', 'one.txt'), 'other');
  await assert.rejects(o.archive.commitResource(parent, { label: 'OUT' }, stage3, { idempotencyKey: 'm3' }, 'u'), answered(409));
  assert.equal(await readFile(join(resDir, 'd', 'one.txt'), 'utf8'), '1');
  const overwritten = await o.archive.commitResource(parent, { label: 'OUT' }, stage3, { idempotencyKey: 'm4', overwrite: true }, 'u');
  assert.equal(overwritten.created, true);
  assert.equal(await readFile(join(resDir, 'd', 'one.txt'), 'utf8'), 'other');
  assert.deepEqual((await o.archive.listFiles(first.resource)).find((f) => f.name === 'd/one.txt')?.size, 5);
});

test('a big commit is written in batches: every row of 1,200 files is listed, in order, with its URI', async () => {
  const { session: e } = await session();
  const parent = { kind: 'session', session: e.id } as const;
  const stage = join(o.archive.stagingDir(), 'many');
  await mkdir(stage);
  const names = Array.from({ length: 1200 }, (_, i) => `f ${String(i).padStart(4, '0')}.txt`);
  for (const n of names) await writeFile(join(stage, n), n);
  const r = await o.archive.commitResource(parent, { label: 'MANY' }, stage, { idempotencyKey: 'b1' }, 'u');
  const files = await o.archive.listFiles(r.resource);
  assert.deepEqual(files.map((f) => f.name), names);
  assert.ok(files.every((f) => f.size === 10));
  assert.equal(files[5].uri, `/data/experiments/${e.id}/resources/${r.resource}/files/f%200005.txt`);
  assert.equal(await readFile(files[1199].absolutePath, 'utf8'), 'f 1199.txt');
});
