// Mount sources: a file is a valid source (a File input's), a writable one is copied; a missing source
// fails with a message naming the mount and the path, never "the files are gone" for a file that is there.
// Copies keep what the source holds and nothing it only links to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

test('a copy keeps links that stay inside the source (made relative) and refuses links out and special files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-mount-source-'));
  try {
    const src = join(dir, 'src');
    await mkdir(join(src, 'a', 'b'), { recursive: true });
    await writeFile(join(src, 'a', 'b', 'f.txt'), 'F');
    await symlink('b/f.txt', join(src, 'a', 'rel'));
    await symlink(join(src, 'a', 'b'), join(src, 'abs-dir'));
    await symlink('missing-inside', join(src, 'dangling'));
    await copyMountSource('in', src, join(dir, 'copy'));
    assert.equal(await readlink(join(dir, 'copy', 'a', 'rel')), join('b', 'f.txt'));
    assert.equal(await readlink(join(dir, 'copy', 'abs-dir')), join('a', 'b'), 'an absolute link into the source becomes relative');
    assert.equal(await readlink(join(dir, 'copy', 'dangling')), 'missing-inside');
    assert.equal(await readFile(join(dir, 'copy', 'abs-dir', 'f.txt'), 'utf8'), 'F');

    // `here` points inside, but `here/../x` leads out once `here` is followed: judged where the kernel would go.
    const tricky = join(dir, 'tricky');
    await mkdir(tricky);
    await writeFile(join(dir, 'outside.txt'), 'O');
    await symlink('.', join(tricky, 'here'));
    await symlink('here/../outside.txt', join(tricky, 'out'));
    await assert.rejects(copyMountSource('in', join(dir, 'tricky'), join(dir, 'copy2')),
      { code: 'staging.unsafe-link', message: /writable mount "in" hold a link that points outside them: out -> here\/\.\.\/outside\.txt/ });
    assert.equal(existsSync(join(dir, 'copy2')), false, 'checked before anything is written');
    await symlink('/etc/passwd', join(src, 'a', 'passwd'));
    await assert.rejects(copyMountSource('in', src, join(dir, 'copy4'), false),
      { code: 'staging.unsafe-link', message: /^The files for mount "in" hold a link that points outside them: a\/passwd -> \/etc\/passwd$/ });
    await rm(join(src, 'a', 'passwd'));
    await promisify(execFile)('mkfifo', [join(src, 'pipe')]);
    await assert.rejects(copyMountSource('in', src, join(dir, 'copy5')),
      { code: 'staging.unsafe-entry', message: /hold pipe, which is neither a file, a directory nor a link/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
