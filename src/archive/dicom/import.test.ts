import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import yazl from 'yazl';
import { openEmbeddedArchive, type OpenedArchive } from '../open.ts';
import { generateDicomSet, type DicomSetManifest } from './generate.ts';
import { importDicom, type ImportProgress } from './import.ts';
import type { XcsError } from '../../core/errors.ts';
import { httpStatusOf } from '../../http/error-mapping.ts';

interface Fixture {
  dir: string;
  src: string;
  opened: OpenedArchive;
  manifest: DicomSetManifest;
}

async function withFixture(fn: (f: Fixture) => Promise<void>, spec = { patients: 2, studiesPerPatient: 2, seriesPerStudy: 3, slices: 4 }): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-dicom-import-'));
  const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'secret' } });
  try {
    await opened.archive.createProject({ id: 'P1' }, 'admin');
    const src = join(dir, 'src');
    const manifest = await generateDicomSet(src, { ...spec, seed: 'import-test' });
    await fn({ dir, src, opened, manifest });
  } finally {
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file under `dir`, relative, sorted: the on-disk state to compare before and after. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

async function zipOf(files: Array<{ name: string; data: Buffer; mode?: number }>, out: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(f.data, f.name, f.mode === undefined ? {} : { mode: f.mode });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(out));
}

async function tarOf(entries: Array<{ header: Partial<tar.Header> & { name: string }; data?: Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.data === undefined) pack.entry(e.header);
    else pack.entry(e.header, e.data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a multi-patient, multi-study, multi-series directory becomes subjects, sessions, scans and DICOM resources', () => withFixture(async ({ src, opened, manifest }) => {
  const { archive } = opened;
  const first = manifest.files[0];
  await writeFile(join(src, 'README.txt'), 'not an image');
  await writeFile(join(src, 'SUBJ001', '.DS_Store'), Buffer.alloc(10));
  const whole = await readFile(join(src, first));
  await writeFile(join(src, 'broken.dcm'), whole.subarray(0, whole.length - 50));
  const phases = new Set<string>();
  let lastStore: ImportProgress | undefined;
  const report = await importDicom(archive, {
    project: 'P1', source: src, user: 'admin',
    onProgress: (p) => { phases.add(p.phase); if (p.phase === 'store') lastStore = p; },
  });

  assert.deepEqual([report.subjects, report.sessions, report.scans, report.files], [2, 4, 12, 48]);
  assert.deepEqual(report.created, { subjects: 2, sessions: 4, scans: 12 });
  assert.deepEqual(report.skipped.map((s) => s.name), ['README.txt', 'SUBJ001/.DS_Store', 'broken.dcm']);
  assert.match(report.skipped[2].reason, /truncated/);
  assert.match(report.skipped[0].reason, /not DICOM/);
  assert.deepEqual([...phases], ['unpack', 'read', 'store']);
  assert.deepEqual(lastStore, { phase: 'store', done: 48, total: 48 });

  const subjects = await archive.listSubjects('P1');
  assert.deepEqual(subjects.map((s) => s.label).sort(), ['SUBJ001', 'SUBJ002']);
  const sessions = await archive.listSessions({ project: 'P1' });
  assert.deepEqual(sessions.map((s) => s.label).sort(), ['SUBJ001_ACC00101', 'SUBJ001_ACC00102', 'SUBJ002_ACC00201', 'SUBJ002_ACC00202']);
  const s1 = sessions.find((s) => s.label === 'SUBJ001_ACC00102')!;
  const study = manifest.patients[0].studies[1];
  assert.equal(s1.xsiType, 'xnat:mrSessionData');
  assert.equal(s1.uid, study.studyInstanceUid);
  assert.equal(s1.date, '2024-02-01');
  assert.equal(s1.subjectLabel, 'SUBJ001');
  const scans = await archive.listScans(s1.id);
  assert.deepEqual(scans.map((s) => [s.id, s.type, s.seriesDescription, s.xsiType, s.frames, s.uid]),
    study.series.map((x) => [String(x.seriesNumber), x.description, x.description, 'xnat:mrScanData', '4', x.seriesInstanceUid]));
  const resources = await archive.listResources({ kind: 'scan', session: s1.id, scan: '2' });
  assert.equal(resources.length, 1);
  assert.deepEqual([resources[0].label, resources[0].format, resources[0].content, resources[0].fileCount], ['DICOM', 'DICOM', 'RAW', 4]);
  // XNAT's layout: {project}/arc001/{session}/SCANS/{scan}/DICOM/{SOPInstanceUID}.dcm, bytes unchanged.
  const resDir = await archive.directoryOf({ kind: 'resource', resource: resources[0].id });
  assert.equal(relative(opened.dataDir, resDir), join('archive', 'P1', 'arc001', 'SUBJ001_ACC00102', 'SCANS', '2', 'DICOM'));
  const files = await archive.listFiles(resources[0].id);
  assert.equal(files.length, 4);
  for (const f of files) assert.match(f.name, /^2\.25\.\d+\.dcm$/);
  const onDisk = await tree(resDir);
  assert.deepEqual(onDisk, files.map((f) => f.name).sort());
  const sourceBytes = await Promise.all(study.series[1].files.map((f) => readFile(join(src, f))));
  const archived = await Promise.all(files.map((f) => readFile(f.absolutePath)));
  assert.deepEqual(new Set(archived.map((b) => b.toString('base64'))), new Set(sourceBytes.map((b) => b.toString('base64'))));
  // The source directory is left as it was, and no staging leftovers remain.
  assert.equal((await tree(src)).length, 48 + 3);
  assert.deepEqual((await readdir(archive.stagingDir())).filter((n) => n.startsWith('dicom-import-')), []);

  // Importing the same files again merges into the same objects: nothing is duplicated.
  const before = await tree(join(opened.dataDir, 'archive'));
  const again = await importDicom(archive, { project: 'P1', source: src, user: 'admin' });
  assert.deepEqual(again.created, { subjects: 0, sessions: 0, scans: 0 });
  assert.deepEqual([again.sessions, again.scans, again.files], [4, 12, 48]);
  assert.equal((await archive.listSessions({ project: 'P1' })).length, 4);
  assert.equal((await archive.listScans(s1.id)).length, 3);
  assert.equal((await archive.listFiles(resources[0].id)).length, 4);
  assert.deepEqual(await tree(join(opened.dataDir, 'archive')), before);
}));

test('a new series of a known study is appended to the existing session', () => withFixture(async ({ dir, src, opened, manifest }) => {
  const { archive } = opened;
  const study = manifest.patients[0].studies[0];
  // Import only series 1 first, then everything.
  const partial = join(dir, 'partial');
  await generateDicomSet(partial, { patients: 1, seriesPerStudy: 1, slices: 4, seed: 'import-test' });
  const r1 = await importDicom(archive, { project: 'P1', source: partial, user: 'admin' });
  assert.deepEqual([r1.sessions, r1.scans], [1, 1]);
  const r2 = await importDicom(archive, { project: 'P1', source: src, user: 'admin' });
  assert.deepEqual(r2.created, { subjects: 1, sessions: 3, scans: 11 });
  const session = r2.imported.find((s) => s.label === 'SUBJ001_ACC00101')!;
  assert.equal(session.created, false);
  assert.deepEqual(session.scans.map((s) => [s.id, s.created]), [['1', false], ['2', true], ['3', true]]);
  const scans = await archive.listScans(session.id);
  assert.deepEqual(scans.map((s) => s.uid), study.series.map((s) => s.seriesInstanceUid));
}));

test('zip and tar.gz uploads import like a directory', () => withFixture(async ({ dir, src, opened, manifest }) => {
  const { archive } = opened;
  const entries = await Promise.all(manifest.files.map(async (f) => ({ name: `upload/${f}`, data: await readFile(join(src, f)) })));
  const zipPath = join(dir, 'set.zip');
  await zipOf([...entries, { name: 'upload/notes.txt', data: Buffer.from('hello') }], zipPath);
  const fromZip = await importDicom(archive, { project: 'P1', source: zipPath, user: 'admin' });
  assert.equal(fromZip.format, 'zip');
  assert.deepEqual([fromZip.subjects, fromZip.sessions, fromZip.scans, fromZip.files], [1, 1, 2, 6]);
  assert.deepEqual(fromZip.skipped, [{ name: 'upload/notes.txt', reason: 'not DICOM: too short for a DICOM Part 10 file' }]);

  await opened.archive.createProject({ id: 'P2' }, 'admin');
  const tgz = join(dir, 'set.tgz');
  await writeFile(tgz, gzipSync(await tarOf([{ header: { name: 'x', type: 'directory' } },
    ...entries.map((e) => ({ header: { name: `./${e.name}`, size: e.data.length }, data: e.data }))])));
  const fromTar = await importDicom(archive, { project: 'P2', source: tgz, user: 'admin' });
  assert.equal(fromTar.format, 'tar.gz');
  assert.deepEqual([fromTar.subjects, fromTar.sessions, fromTar.scans, fromTar.files, fromTar.skipped.length], [1, 1, 2, 6, 0]);
  const sessions = await archive.listSessions({ project: 'P2' });
  assert.deepEqual(sessions.map((s) => s.label), ['SUBJ001_ACC00101']);
}, { patients: 1, studiesPerPatient: 1, seriesPerStudy: 2, slices: 3 }));

/** Writes a zip whose entry name is patched after yazl (which refuses unsafe names) wrote it. */
async function patchedZip(path: string, placeholder: string, name: string, data: Buffer): Promise<void> {
  assert.equal(placeholder.length, name.length);
  await zipOf([{ name: placeholder, data }], path);
  const bytes = await readFile(path);
  let at = bytes.indexOf(placeholder);
  while (at >= 0) {
    bytes.write(name, at, 'latin1');
    at = bytes.indexOf(placeholder, at + 1);
  }
  await writeFile(path, bytes);
}

test('unsafe, damaged and oversized uploads are refused with a 4xx and change nothing', () => withFixture(async ({ dir, src, opened, manifest }) => {
  const { archive } = opened;
  const dcm = await readFile(join(src, manifest.files[0]));
  const good = { name: 'ok/1.dcm', data: dcm };
  const cases: Array<{ what: string; make: (p: string) => Promise<void>; status: number; message: RegExp; limits?: object }> = [
    { what: 'zip ../ entry', status: 400, message: /climbs out/, make: (p) => patchedZip(p, 'xx/evil.dcm', '../evil.dcm', dcm) },
    { what: 'zip absolute entry', status: 400, message: /absolute path/, make: (p) => patchedZip(p, 'xtmp/evil.dcm', '/tmp/evil.dcm', dcm) },
    { what: 'zip control character', status: 400, message: /control characters/, make: (p) => patchedZip(p, 'a_b.dcm', 'a\nb.dcm', dcm) },
    { what: 'zip symlink', status: 400, message: /symbolic link/, make: (p) => zipOf([good, { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }], p) },
    { what: 'truncated zip', status: 400, message: /damaged or truncated/, make: async (p) => {
      await zipOf([good, good].map((g, i) => ({ ...g, name: `${i}.dcm` })), p);
      const b = await readFile(p);
      await writeFile(p, b.subarray(0, b.length - 30));
    } },
    { what: 'tar ../ entry', status: 400, message: /climbs out/, make: async (p) => writeFile(p, await tarOf([
      { header: { name: 'ok.dcm', size: dcm.length }, data: dcm }, { header: { name: 'a/../../evil.dcm', size: dcm.length }, data: dcm }])) },
    { what: 'tar symlink', status: 400, message: /symbolic link/, make: async (p) => writeFile(p, await tarOf([
      { header: { name: 'ok.dcm', size: dcm.length }, data: dcm }, { header: { name: 'l', type: 'symlink', linkname: '/etc/passwd' } }])) },
    { what: 'tar hard link', status: 400, message: /hard link/, make: async (p) => writeFile(p, await tarOf([
      { header: { name: 'h', type: 'link', linkname: 'ok.dcm' } }])) },
    { what: 'truncated tar.gz', status: 400, message: /damaged or truncated/, make: async (p) => {
      const gz = gzipSync(await tarOf([{ header: { name: 'ok.dcm', size: dcm.length }, data: dcm }]));
      await writeFile(p, gz.subarray(0, gz.length - 20));
    } },
    { what: 'not an archive', status: 415, message: /not a directory, zip, tar/, make: (p) => writeFile(p, 'plain text') },
    { what: 'too large', status: 413, message: /larger than 1000 bytes/, limits: { maxBytes: 1000 }, make: (p) => zipOf([good], p) },
    { what: 'too many files', status: 413, message: /more than 1 files/, limits: { maxFiles: 1 }, make: (p) => zipOf([good, { ...good, name: 'b.dcm' }], p) },
  ];
  const before = await tree(opened.dataDir);
  for (const c of cases) {
    const p = join(dir, `case-${cases.indexOf(c)}`);
    await c.make(p);
    await assert.rejects(importDicom(archive, { project: 'P1', source: p, user: 'admin', limits: c.limits }), (e: any) => {
      assert.equal(httpStatusOf(e), c.status, `${c.what}: ${e.message}`); // http's choice, by code
      assert.match(e.message, c.message, c.what);
      return true;
    }, c.what);
    assert.deepEqual(await tree(opened.dataDir), before, `${c.what} left files behind`);
    assert.deepEqual(await archive.listSubjects('P1'), [], c.what);
  }
  await assert.rejects(importDicom(archive, { project: 'NOPE', source: src, user: 'admin' }), (e: XcsError) => httpStatusOf(e) === 404);
}, { patients: 1, studiesPerPatient: 1, seriesPerStudy: 1, slices: 1 }));
