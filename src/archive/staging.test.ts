// The embedded archive's staging strategy: read-only inputs are bind-mounted where the engine sees them (refused
// when gone), writable ones get a fresh copy of their source in the build directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localStaging } from './staging.ts';

test('local staging: bind mounts (translated when asked), refusals for gone sources, fresh copies for writable mounts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-staging-'));
  try {
    const source = join(dir, 'archive', 'scan');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'a.dcm'), 'A');
    const staging = localStaging();
    assert.equal(staging.kind, 'local-bind');
    assert.equal(await staging.readOnly({ name: 'in', archivePath: source, enginePath: null }), source);
    assert.equal(await staging.readOnly({ name: 'in', archivePath: source, enginePath: '/shared/scan' }), '/shared/scan');
    await assert.rejects(staging.readOnly({ name: 'in', archivePath: join(dir, 'gone'), enginePath: null }),
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
