// Mount sources: a file is a valid source (a File input's), a writable one is copied; a missing source
// fails with a message naming the mount and the path, never "the files are gone" for a file that is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyMountSource, sourceKind } from './mount-source.ts';

test('a file is a mount source; a writable copy of it lands at the build path; a missing one is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-mount-source-'));
  try {
    const file = join(dir, 'brain.nii');
    await writeFile(file, 'image');
    assert.equal(await sourceKind(file), 'file');
    assert.equal(await sourceKind(dir), 'directory');
    assert.equal(await sourceKind(join(dir, 'nope')), 'missing');
    await copyMountSource('nifti-in', file, join(dir, 'build', 'brain.nii'));
    assert.equal(await readFile(join(dir, 'build', 'brain.nii'), 'utf8'), 'image');
    await assert.rejects(copyMountSource('nifti-in', join(dir, 'nope'), join(dir, 'b2')),
      { code: 'mount-missing', message: /writable mount "nifti-in" are not there: .*nope does not exist/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
