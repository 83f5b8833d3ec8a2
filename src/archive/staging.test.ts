// The archive's staging strategies. Bind: read-only inputs are mounted where the engine sees them (refused when
// gone). Copy: they are copied afresh into the run's place in the build area, whatever an earlier attempt left there,
// and nothing half-copied stays when the copy is refused. Both give writable mounts a fresh copy of their source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyStaging, localStaging, stagingFor } from './staging.ts';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-staging-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('local staging: bind mounts (translated when asked), refusals for gone sources, fresh copies for writable mounts', () => withDir(async (dir) => {
  const source = join(dir, 'archive', 'scan');
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'a.dcm'), 'A');
  const copyTo = { hostPath: join(dir, 'build', 'archive-copies', '1-in'), enginePath: '/engine/1-in' };
  const staging = localStaging();
  assert.equal(staging.kind, 'local-bind');
  assert.equal(stagingFor('bind').kind, 'local-bind');
  assert.equal(await staging.readOnly({ name: 'in', archivePath: source, enginePath: null, copyTo }), source);
  assert.equal(await staging.readOnly({ name: 'in', archivePath: source, enginePath: '/shared/scan', copyTo }), '/shared/scan');
  assert.equal(existsSync(copyTo.hostPath), false, 'bind copies nothing');
  await assert.rejects(staging.readOnly({ name: 'in', archivePath: join(dir, 'gone'), enginePath: null, copyTo }),
    (e: Error & { code?: string }) => e.code === 'mount-missing' && /"in"/.test(e.message));
  const build = join(dir, 'build', 'in');
  await mkdir(build, { recursive: true });
  await writeFile(join(build, 'left-over'), 'x');
  await staging.writable({ name: 'in', source, buildPath: build });
  assert.deepEqual(await readdir(build), ['a.dcm'], 'a previous attempt\'s files are gone');
  assert.equal(await readFile(join(build, 'a.dcm'), 'utf8'), 'A');
  const out = join(dir, 'build', 'out');
  await staging.writable({ name: 'out', source: null, buildPath: out });
  assert.deepEqual(await readdir(out), []);
}));

test('copy staging: a fresh copy in the build area is what the engine mounts; a file is copied under its name', () => withDir(async (dir) => {
  const source = join(dir, 'archive', 'scan');
  await mkdir(join(source, 'DICOM'), { recursive: true });
  await writeFile(join(source, 'DICOM', '1.dcm'), 'one');
  await writeFile(join(source, 'notes.txt'), 'n');
  // A link inside the source stays a link, to the same file of the copy.
  await symlink(join(source, 'DICOM', '1.dcm'), join(source, 'first.dcm'));
  const staging = stagingFor('copy');
  assert.equal(staging.kind, 'copy');
  const copyTo = { hostPath: join(dir, 'build', 'archive-copies', '1-in'), enginePath: '/engine/archive-copies/1-in' };
  // What a crashed attempt left: half a copy and a stray file.
  await mkdir(join(copyTo.hostPath, 'DICOM'), { recursive: true });
  await writeFile(join(copyTo.hostPath, 'DICOM', '1.dcm'), 'o');
  await writeFile(join(copyTo.hostPath, 'stray'), 'x');
  assert.equal(await staging.readOnly({ name: 'in', archivePath: source, enginePath: '/shared/scan', copyTo }), copyTo.enginePath);
  assert.deepEqual((await readdir(copyTo.hostPath)).sort(), ['DICOM', 'first.dcm', 'notes.txt']);
  assert.equal(await readFile(join(copyTo.hostPath, 'DICOM', '1.dcm'), 'utf8'), 'one');
  assert.equal(await readlink(join(copyTo.hostPath, 'first.dcm')), join('DICOM', '1.dcm'), 'relative, into the copy');
  assert.equal(await readFile(join(copyTo.hostPath, 'first.dcm'), 'utf8'), 'one');
  assert.equal(await readFile(join(source, 'DICOM', '1.dcm'), 'utf8'), 'one', 'the archive is untouched');

  const file = join(source, 'notes.txt');
  const fileTo = { hostPath: join(dir, 'build', 'archive-copies', '2-file'), enginePath: '/engine/archive-copies/2-file' };
  assert.equal(await staging.readOnly({ name: 'file', archivePath: file, enginePath: null, copyTo: fileTo }), '/engine/archive-copies/2-file/notes.txt');
  assert.equal(await readFile(join(fileTo.hostPath, 'notes.txt'), 'utf8'), 'n');
  await assert.rejects(staging.readOnly({ name: 'in', archivePath: join(dir, 'gone'), enginePath: null, copyTo }),
    { code: 'mount-missing', message: /The files for mount "in" are not there: .*gone does not exist/ });
}));

test('copy staging refuses a link leading out of the input, leaving no half copy', () => withDir(async (dir) => {
  const source = join(dir, 'archive', 'scan');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'a.dcm'), 'A');
  await writeFile(join(dir, 'secret'), 'S');
  await symlink('../../secret', join(source, 'sub', 'evil'));
  const copyTo = { hostPath: join(dir, 'build', 'archive-copies', '1-in'), enginePath: '/e' };
  await mkdir(copyTo.hostPath, { recursive: true });
  await writeFile(join(copyTo.hostPath, 'stale'), 'x');
  await assert.rejects(copyStaging().readOnly({ name: 'in', archivePath: source, enginePath: null, copyTo }),
    { code: 'staging.unsafe-link', message: 'The files for mount "in" hold a link that points outside them: sub/evil -> ../../secret' });
  assert.equal(existsSync(copyTo.hostPath), false, 'nothing of the copy (or of an earlier one) stays');
}));
