import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectOutput } from './collect.ts';
import { stageFilesWithDigests } from './stage.ts';
import { withTempDir } from '../../../test/helpers/temp.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir('xcs-stage-', fn);
}

test('copy staging returns every staged file\'s size and MD5, spread over several workers, in the given order', () =>
  withTmp(async (dir) => {
    const src = join(dir, 'out');
    // 48 files of 1 MB: enough bytes for more than one worker.
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 48; i++) {
      const rel = `d${i % 3}/f${i}.bin`;
      const body = Buffer.alloc(1024 * 1024 + i, i);
      bodies.set(rel, body);
      await mkdir(join(src, `d${i % 3}`), { recursive: true });
      await writeFile(join(src, rel), body);
    }
    await writeFile(join(src, 'empty.txt'), '');
    const { files } = await collectOutput({ output: 'o', sourceDir: src });
    const dest = join(dir, 'stage');
    const staged = await stageFilesWithDigests('o', files, dest, 'copy', true);
    assert.deepEqual(staged.map((s) => s.path), files.map((f) => f.rel));
    for (const s of staged) {
      const body = bodies.get(s.path) ?? Buffer.alloc(0);
      assert.equal(s.size, body.length, s.path);
      assert.equal(s.md5, md5(body), s.path);
      assert.deepEqual(await readFile(join(dest, s.path)), body);
    }
    // A copy, not the same inode.
    const f0 = files[0];
    assert.notEqual((await stat(join(dest, f0.rel))).ino, (await stat(f0.source)).ino);
  }));

test('link staging hard-links and still digests; without digests only sizes are checked', () =>
  withTmp(async (dir) => {
    const src = join(dir, 'out');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'hello');
    const { files } = await collectOutput({ output: 'o', sourceDir: src });
    const linked = await stageFilesWithDigests('o', files, join(dir, 's1'), 'link', true);
    assert.deepEqual(linked, [{ path: 'a.txt', size: 5, md5: md5('hello') }]);
    assert.equal((await stat(join(dir, 's1', 'a.txt'))).ino, (await stat(join(src, 'a.txt'))).ino);
    const plain = await stageFilesWithDigests('o', files, join(dir, 's2'), 'copy', false);
    assert.deepEqual(plain, [{ path: 'a.txt', size: 5, md5: '' }]);
  }));

test('a file that changed after it was collected fails staging with the size it was staged at', () =>
  withTmp(async (dir) => {
    const src = join(dir, 'out');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'short');
    const { files } = await collectOutput({ output: 'o', sourceDir: src });
    await writeFile(join(src, 'a.txt'), 'much longer now');
    await assert.rejects(stageFilesWithDigests('o', files, join(dir, 'stage'), 'copy', true), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'upload-failed');
      assert.match(e.message, /"a\.txt" changed while it was staged \(expected 5 bytes, staged 15 bytes\)/);
      return true;
    });
  }));

test('a vanished source fails with its errno once every worker has stopped, so the tree can be removed', () =>
  withTmp(async (dir) => {
    const src = join(dir, 'out');
    await mkdir(src);
    for (let i = 0; i < 200; i++) await writeFile(join(src, `f${String(i).padStart(3, '0')}.txt`), String(i));
    const { files } = await collectOutput({ output: 'o', sourceDir: src });
    await rm(join(src, 'f100.txt'));
    const dest = join(dir, 'stage');
    await assert.rejects(stageFilesWithDigests('o', files, dest, 'copy', true), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /f100\.txt/);
      return true;
    });
    await rm(dest, { recursive: true, force: true });
    // Nothing still running re-creates files in the removed tree.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(dest), false);
  }));

test('a FIFO swapped in after collection is refused, not read (which would hang)', () =>
  withTmp(async (dir) => {
    const src = join(dir, 'out');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'data');
    const { files } = await collectOutput({ output: 'o', sourceDir: src });
    await rm(join(src, 'a.txt'));
    assert.equal(spawnSync('mkfifo', [join(src, 'a.txt')]).status, 0);
    await assert.rejects(stageFilesWithDigests('o', files, join(dir, 'stage'), 'copy', true),
      { code: 'upload-failed', message: /"a\.txt" changed while it was staged \(expected 4 bytes, staged a non-file\)/ });
  }));
