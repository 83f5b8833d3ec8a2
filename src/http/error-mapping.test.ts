import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XcsError } from '../core/errors.ts';
import { pathScrubber, toClientError } from './error-mapping.ts';

/** The error a real file-system call throws (they all name the absolute path in their message). */
async function fsError(call: () => Promise<unknown>): Promise<Error> {
  return call().then(() => assert.fail('the call should fail'), (e: Error) => e);
}

test('file-system errors reach clients as clear messages without the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-errmap-'));
  try {
    const scrub = pathScrubber([dir]);
    const cases = [
      { err: await fsError(() => readFile(join(dir, 'missing.txt'))), status: 404, code: 'fs.enoent' },
      { err: await fsError(() => stat(join(dir, 'x'.repeat(300)))), status: 400, code: 'fs.enametoolong', message: /255 bytes per name/ },
    ];
    for (const c of cases) {
      assert.ok(c.err.message.includes(dir), 'the raw error names the path');
      const { error } = toClientError(c.err, scrub);
      assert.equal(error.status, c.status, c.code);
      assert.equal(error.code, c.code);
      if (c.message) assert.match(error.message, c.message);
      assert.equal(toClientError(c.err, scrub).log, false, 'a client fault is not logged as a server error');
      assert.ok(!JSON.stringify(error.toJSON()).includes(dir), `${c.code} shows the path: ${error.message}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('server directories are removed from XcsErrors; URL paths stay; unexpected errors say only "internal error"', () => {
  const scrub = pathScrubber(['/srv/xcs-data', '/tmp']);
  const e = new XcsError('x.y', 'cannot read /srv/xcs-data/staging/upload-1/upload: gone; /data/projects/tmp stays', {
    status: 400, path: '/tmp/abc/def', hint: 'look in /srv/xcs-data',
  });
  const { error } = toClientError(e, scrub);
  assert.equal(error.message, 'cannot read [server path]: gone; /data/projects/tmp stays');
  assert.equal(error.path, '[server path]');
  assert.equal(error.hint, 'look in [server path]');
  assert.equal(error.status, 400);
  assert.equal(error.code, 'x.y');
  const internal = toClientError(new Error('SQLITE_CORRUPT at /srv/xcs-data/xcs.db'), scrub);
  assert.equal(internal.error.status, 500);
  assert.equal(internal.log, true);
  assert.doesNotMatch(internal.error.message, /xcs-data|SQLITE/);
});

test('backend failures, thrown without a status, get theirs here', () => {
  const scrub = pathScrubber([]);
  const statusOf = (code: string) => toClientError(new XcsError(code, 'x'), scrub).error.status;
  assert.equal(statusOf('backend.unavailable'), 503);
  assert.equal(statusOf('backend.image-missing'), 404);
  assert.equal(statusOf('backend.not-found'), 404);
  assert.equal(statusOf('backend.name-conflict'), 409);
  assert.equal(statusOf('backend.invalid-spec'), 400);
  assert.equal(statusOf('backend.mount-forbidden'), 400);
  assert.equal(statusOf('backend.kind-unavailable'), 400);
  assert.equal(statusOf('backend.unsupported'), 501);
  assert.equal(statusOf('backend.request-failed'), 500);
  assert.equal(toClientError(new XcsError('backend.unavailable', 'down'), scrub).log, true);
  // Other codes keep the status their error carries.
  assert.equal(toClientError(new XcsError('x.y', 'x', { status: 422 }), scrub).error.status, 422);
});
