// The archive database on PostgreSQL shared by replicas (two `openEmbeddedArchive` on one data directory and one
// schema, as two XCS processes would be), and what both databases must do alike: refuse a newer schema by name,
// list in the same order, never show the database password.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { useDatabaseUrl } from '../src/core/database/target.ts';
import { XcsError } from '../src/core/errors.ts';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import { freshSchema, postgresAbsent, postgresUrl } from './helpers/postgres-schema.ts';

// Each test chooses its database itself: the suite-wide settings would give every data directory its own schema.
delete process.env.XCS_DATABASE_URL;
delete process.env.XCS_DATABASE_SCHEMA_PER_DATA_DIR;
const skipPg = postgresAbsent() ?? false;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  useDatabaseUrl(undefined);
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-replicas-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Uses a fresh PostgreSQL schema (dropped at the end) for what the test opens next. */
async function onPostgres(): Promise<void> {
  const s = await freshSchema();
  cleanups.push(s.drop);
  useDatabaseUrl(s.url);
}

async function open(dir: string): Promise<OpenedArchive> {
  const o = await openEmbeddedArchive(dir, { admin: { login: 'admin', password: 'admin-pw' } });
  cleanups.push(() => o.close());
  return o;
}

test('two replicas starting together on an empty database both come up, with one administrator', { skip: skipPg }, async () => {
  await onPostgres();
  const dir = await dataDir();
  const [a, b] = await Promise.all([open(dir), open(dir)]);
  assert.equal(a.databaseKind, 'postgres');
  assert.equal(await a.users.countUsers(), 1);
  assert.equal((await b.users.listUsers()).map((u) => u.login).join(), 'admin');
});

test('two replicas allocating accession IDs at once never hand out one twice', { skip: skipPg }, async () => {
  await onPostgres();
  const dir = await dataDir();
  const a = await open(dir);
  const b = await open(dir);
  await a.archive.createProject({ id: 'P' }, 'admin');
  const subjects = await Promise.all(Array.from({ length: 30 }, (_v, i) =>
    (i % 2 ? a : b).archive.createSubject('P', { label: `S${i}` }, 'admin')));
  const ids = subjects.map((s) => s.id);
  assert.equal(new Set(ids).size, 30, `distinct subject IDs: ${ids.join(' ')}`);
  const sessions = await Promise.all(subjects.map((s, i) => (i % 2 ? b : a).archive.createSession(s.id, { label: `E${i}` }, 'admin')));
  assert.equal(new Set(sessions.map((s) => s.id)).size, 30);
  // Numbered 1..30 without a gap: each allocation took exactly one number.
  assert.deepEqual(ids.map((id) => Number(id.slice(-5))).sort((x, y) => x - y), Array.from({ length: 30 }, (_v, i) => i + 1));
  assert.equal((await b.archive.listSubjects('P')).length, 30);
});

test('two replicas creating the same label at once: one wins, the other gets a conflict', { skip: skipPg }, async () => {
  await onPostgres();
  const dir = await dataDir();
  const a = await open(dir);
  const b = await open(dir);
  await a.archive.createProject({ id: 'P' }, 'admin');
  const results = await Promise.allSettled([a, b, a, b].map((r) => r.archive.createSubject('P', { label: 'same' }, 'admin')));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) {
    if (r.status === 'rejected') assert.equal((r.reason as XcsError).code, 'archive.conflict');
  }
  assert.equal((await b.archive.listSubjects('P')).length, 1);
});

test('a token or session ended on one replica is refused at once by the other', { skip: skipPg }, async () => {
  await onPostgres();
  const dir = await dataDir();
  const a = await open(dir);
  const b = await open(dir);
  await a.users.addUser({ login: 'carol', password: 'carol-pw' });
  const token = await a.users.issueAliasToken('carol', 3600);
  const cookie = await a.users.createSession('carol');
  assert.equal((await b.users.authenticate(token.alias, token.secret))?.login, 'carol', 'the other replica accepts it');
  assert.equal((await b.users.sessionUser(cookie))?.login, 'carol');
  await a.users.invalidateAliasToken(token.alias);
  assert.equal(await b.users.authenticate(token.alias, token.secret), undefined, 'revoked on A, refused by B');
  const second = await b.users.issueAliasToken('carol', 3600);
  await b.users.revokeCredentials('carol');
  assert.equal(await a.users.authenticate(second.alias, second.secret), undefined);
  assert.equal(await a.users.sessionUser(cookie), undefined);
});

test('a NUL character, which PostgreSQL text cannot hold, is refused as bad input before the driver', { skip: skipPg }, async () => {
  await onPostgres();
  const a = await open(await dataDir());
  for (const attempt of [() => a.users.getUser('a\u0000b'), () => a.archive.createProject({ id: 'P' , name: 'x\u0000' }, 'admin'),
    () => a.archive.listSessions({ project: 'P\u0000' })]) {
    await assert.rejects(attempt(), (e: unknown) => e instanceof XcsError && e.code === 'database.nul-character');
  }
  assert.deepEqual(await a.archive.listProjects(), [], 'nothing was stored');
});

test('the database password is never in an error, whatever fails', { skip: skipPg }, async () => {
  const base = new URL(await postgresUrl());
  const secret = 'Pa55-never-shown';
  const wrongPassword = new URL(base);
  wrongPassword.password = secret;
  const noServer = new URL(wrongPassword);
  noServer.port = '1';
  for (const url of [wrongPassword, noServer]) {
    useDatabaseUrl(url.toString());
    const err = await openEmbeddedArchive(await dataDir()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof XcsError, `an XcsError for ${url.port}: ${String(err)}`);
    assert.match(err.code, /^database\./);
    const shown = JSON.stringify({ ...err.toJSON(), message: err.message, stack: err.stack, hint: err.hint });
    assert.equal(shown.includes(secret), false, shown);
    assert.match(err.path ?? '', /\*\*\*/, 'the URL is named with its password hidden');
  }
});

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? skipPg : false;

  test(`${kind}: a database migrated by a newer XCS is refused, naming the migrations it does not know`, { skip }, async () => {
    if (kind === 'postgres') await onPostgres(); else useDatabaseUrl(undefined);
    const dir = await dataDir();
    const first = await openEmbeddedArchive(dir, { admin: { password: 'admin-pw' } });
    assert.equal(first.databaseKind, kind);
    await sql`INSERT INTO xcs_migrations_archive (name, timestamp) VALUES ('9001-from-the-future', '2030-01-01')`.execute(first.db);
    await first.close();
    const err = await openEmbeddedArchive(dir).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof XcsError, String(err));
    assert.equal(err.code, 'database.schema-newer');
    assert.match(err.message, /9001-from-the-future/);
    assert.match(err.hint ?? '', /newer/);
  });

  test(`${kind}: files list byte by byte, numbers come back as numbers, and a restart finds everything`, { skip }, async () => {
    if (kind === 'postgres') await onPostgres(); else useDatabaseUrl(undefined);
    const dir = await dataDir();
    let o = await openEmbeddedArchive(dir, { admin: { password: 'admin-pw' } });
    await o.archive.createProject({ id: 'P' }, 'admin');
    const res = await o.archive.createResource({ kind: 'project', project: 'P' }, { label: 'R' }, 'admin');
    for (const name of ['b.txt', 'B.txt', 'a.txt', '_x', 'a/z.txt', 'a.b']) {
      await o.archive.putFile(res.id, name, Readable.from([Buffer.from(name)]), {}, 'admin');
    }
    await o.close();
    o = await openEmbeddedArchive(dir);
    try {
      const files = await o.archive.listFiles(res.id);
      assert.deepEqual(files.map((f) => f.name), ['B.txt', '_x', 'a.b', 'a.txt', 'a/z.txt', 'b.txt']);
      assert.equal(typeof files[0].size, 'number');
      assert.equal(files[0].size, 5);
      assert.ok(files[0].modified.getTime() > Date.now() - 600_000, 'modified is a real time');
      const rec = await o.archive.require({ kind: 'resource', resource: res.id });
      assert.equal(rec.fileCount, 6);
      assert.equal(rec.fileSize, 5 + 5 + 5 + 2 + 7 + 3);
      assert.equal(typeof rec.id, 'number');
      assert.equal(await o.users.countUsers(), 1);
    } finally {
      await o.close();
    }
  });
}
