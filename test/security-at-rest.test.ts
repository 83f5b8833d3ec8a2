// At rest: the data directory is private (0700) and every database file 0600, whatever the umask; the
// generated admin password of a first start goes to the terminal only — without one (a service, output
// redirected to a log) into a 0600 file, never into the output. Unpack limits are configurable from the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yazl from 'yazl';
import { startServer } from '../src/app/server.ts';
import { databaseTargetFor } from '../src/core/database/target.ts';
import { startServe } from './helpers/serve.ts';

const run = promisify(execFile);

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

test('the data directory is created 0700 and every database file 0600, even under umask 000', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-at-rest-'));
  const old = process.umask(0o000);
  try {
    const data = join(dir, 'data');
    process.env.XCS_ADMIN_PASSWORD = 'admin-pw-1';
    const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: data });
    delete process.env.XCS_ADMIN_PASSWORD;
    try {
      // A write, so that SQLite has its WAL files.
      const r = await fetch(`${s.url}/data/projects/MODES`, { method: 'PUT', headers: {
        authorization: `Basic ${Buffer.from('admin:admin-pw-1').toString('base64')}` } });
      assert.equal(r.status, 201);
      assert.equal(await mode(data), 0o700);
      // The databases' files, when they are not on PostgreSQL.
      const files = databaseTargetFor(data).kind === 'sqlite'
        ? ['xcs.db', 'xcs.db-wal', 'xcs.db-shm', 'runs.sqlite', 'runs.sqlite-wal', 'runs.sqlite-shm'] : [];
      for (const f of files) {
        assert.equal(await mode(join(data, f)), 0o600, f);
      }
    } finally {
      await s.close();
    }
  } finally {
    process.umask(old);
    delete process.env.XCS_ADMIN_PASSWORD;
    await rm(dir, { recursive: true, force: true });
  }
});

test('an existing data directory and database files left readable by others are tightened on start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-at-rest-'));
  try {
    const data = join(dir, 'data');
    process.env.XCS_ADMIN_PASSWORD = 'admin-pw-1';
    await (await startServer({ port: 0, host: '127.0.0.1', dataDir: data })).close();
    const { chmod } = await import('node:fs/promises');
    // On PostgreSQL the data directory holds no database file: only the directory is checked.
    const dbFile = databaseTargetFor(data).kind === 'sqlite' ? join(data, 'xcs.db') : null;
    await chmod(data, 0o755);
    if (dbFile !== null) await chmod(dbFile, 0o644);
    const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: data });
    await s.close();
    assert.equal(await mode(data), 0o700);
    if (dbFile !== null) assert.equal(await mode(dbFile), 0o600);
  } finally {
    delete process.env.XCS_ADMIN_PASSWORD;
    await rm(dir, { recursive: true, force: true });
  }
});

test('a generated admin password never reaches the output when it is not a terminal: it is in a 0600 file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-at-rest-'));
  const data = join(dir, 'data');
  const serve = await startServe(data, { XCS_ADMIN_PASSWORD: '', XCS_ADMIN_USER: 'root' });
  try {
    const file = join(data, 'initial-admin-password');
    const [login, password] = (await readFile(file, 'utf8')).split('\n');
    assert.equal(login, 'root');
    assert.ok(password.length >= 12);
    assert.equal(await mode(file), 0o600);
    assert.ok(!serve.output().includes(password), 'the password is in the output');
    assert.match(serve.output(), /its generated password is in .*initial-admin-password/);
    const r = await fetch(`${serve.url}/data/JSESSION`, { method: 'POST', headers: {
      authorization: `Basic ${Buffer.from(`root:${password}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  } finally {
    const exited = new Promise((r) => serve.child.once('exit', r));
    serve.child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
});

test('xcs import-dicom refuses an archive bomb (limits from the environment) and xcs serve a bad limit flag', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-at-rest-'));
  try {
    const zip = new yazl.ZipFile();
    zip.addBuffer(randomBytes(100_000), 'a.dcm');
    zip.addBuffer(randomBytes(100_000), 'b.dcm');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    const path = join(dir, 'two.zip');
    await writeFile(path, Buffer.concat(chunks));
    const env = { ...process.env, XCS_ADMIN_PASSWORD: 'admin-pw-1', XCS_UNPACK_MAX_ENTRIES: '1' };
    const failed = await run('bin/xcs', ['import-dicom', 'P', path, '--data', join(dir, 'data')], { env })
      .then(() => assert.fail('the import should fail'), (e: { code: number; stderr: string }) => e);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /more than 1 files/);
    const bad = await run('bin/xcs', ['serve', '--port', '0', '--data', join(dir, 'data'), '--max-unpack-ratio', 'lots'], { env })
      .then(() => assert.fail('serve should refuse the flag'), (e: { code: number; stderr: string }) => e);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--max-unpack-ratio must be a number of at least 1, not "lots"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
