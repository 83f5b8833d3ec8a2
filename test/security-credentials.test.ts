// Credentials that die (security issue, items 5 and 8), on a real server over loopback:
// - PUT /xapi/users/{login}: who may change what, validation errors naming the field;
// - a password change or disabling ends the user's sessions and tokens at once (also from `xcs admin` in
//   another process on the same data directory);
// - what is minted with a token (sessions, tokens) dies with it, down the chain;
// - the database holds neither session cookies nor token secrets; the upgrade drops stored sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { applyMigrations, archiveMigrations, openDatabase } from '../src/archive/db.ts';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { CredentialStore } from '../src/archive/credentials.ts';
import { basic, call } from './xapi-helpers.ts';

let dir: string;
let server: RunningServer;
const ADMIN = basic('admin', 'admin-pw');

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (t: { alias: string; secret: string }) => basic(t.alias, t.secret);
const cookie = (c: string) => ({ cookie: `JSESSIONID=${c}` });

async function issue(headers: Record<string, string>): Promise<{ alias: string; secret: string; estimatedExpirationTime: number }> {
  const r = await call(server.url, 'GET', '/data/services/tokens/issue', { headers });
  assert.equal(r.status, 200, r.text);
  return r.body as { alias: string; secret: string; estimatedExpirationTime: number };
}

async function openSession(headers: Record<string, string>): Promise<string> {
  const r = await call(server.url, 'POST', '/data/JSESSION', { headers });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

/** The status a credential gets on a plain read. */
async function works(headers: Record<string, string>): Promise<number> {
  return (await call(server.url, 'GET', '/data/projects', { headers })).status;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-sec-creds-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  for (const login of ['bob', 'carol', 'dave', 'erin']) {
    const r = await call(server.url, 'POST', '/xapi/users', { headers: ADMIN, json: { username: login, password: `${login}-pw` } });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('PUT /xapi/users/{login}: bad bodies are refused naming the field, and nothing changes', async () => {
  const before = (await call(server.url, 'GET', '/xapi/users/bob', { headers: ADMIN })).body;
  const cases: Array<[unknown, string]> = [
    [{ email: 'not-an-address' }, 'email'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ admin: 1 }, 'admin'],
    [{ firstName: 42 }, 'firstName'],
    [{ lastName: 'x'.repeat(300) }, 'lastName'],
    [{ firstName: 'a\nb' }, 'firstName'],
    [{ password: '' }, 'password'],
    [{ username: 'mallory' }, 'username'],
    [{ roles: ['Administrator'] }, 'roles'],
    [['not', 'an', 'object'], '/'],
  ];
  for (const [json, field] of cases) {
    const r = await call(server.url, 'PUT', '/xapi/users/bob', { headers: ADMIN, json });
    assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
    const body = r.body as { path?: string; message: string };
    assert.equal(body.path, field, r.text);
    if (field !== '/') assert.match(body.message, new RegExp(`"${field}"`));
  }
  assert.deepEqual((await call(server.url, 'GET', '/xapi/users/bob', { headers: ADMIN })).body, before);
  assert.equal(await works(basic('bob', 'bob-pw')), 200, 'the password did not change');
});

test('PUT /xapi/users/{login}: admins change anyone; users only their own names, email and password', async () => {
  const bob = basic('bob', 'bob-pw');
  // Another user's account: refused.
  const other = await call(server.url, 'PUT', '/xapi/users/carol', { headers: bob, json: { firstName: 'Mallory' } });
  assert.equal(other.status, 403);
  assert.equal(((await call(server.url, 'GET', '/xapi/users/carol', { headers: ADMIN })).body as { firstName: string }).firstName, '');
  // Their own flags: refused, naming the flag; sending back the value they have is not a change.
  for (const field of ['admin', 'enabled', 'verified']) {
    const value = field === 'admin';
    const r = await call(server.url, 'PUT', '/xapi/users/bob', { headers: bob, json: { [field]: value } });
    assert.equal(r.status, 403, `${field}: ${r.text}`);
    assert.equal((r.body as { path: string }).path, field);
  }
  const own = (await call(server.url, 'GET', '/xapi/users/bob', { headers: bob })).body as Record<string, unknown>;
  const same = await call(server.url, 'PUT', '/xapi/users/bob', { headers: bob, json: { ...own, firstName: 'Bob', email: 'bob@example.org' } });
  assert.equal(same.status, 200, same.text);
  assert.deepEqual(same.body, { ...own, firstName: 'Bob', email: 'bob@example.org' });
  // The site administrator changes anyone's flags.
  const made = await call(server.url, 'PUT', '/xapi/users/carol', { headers: ADMIN, json: { admin: true, lastName: 'Admin' } });
  assert.equal(made.status, 200, made.text);
  assert.equal((made.body as { admin: boolean }).admin, true);
  assert.equal((await call(server.url, 'GET', '/xapi/users', { headers: basic('carol', 'carol-pw') })).status, 200);
  assert.equal((await call(server.url, 'PUT', '/xapi/users/carol', { headers: ADMIN, json: { admin: false } })).status, 200);
  assert.equal((await call(server.url, 'GET', '/xapi/users', { headers: basic('carol', 'carol-pw') })).status, 403);
  // The only enabled administrator cannot lock the site out.
  const last = await call(server.url, 'PUT', '/xapi/users/admin', { headers: ADMIN, json: { enabled: false } });
  assert.equal(last.status, 409, last.text);
  assert.equal((last.body as { path: string }).path, 'enabled');
});

test('changing one\'s own password needs the current one, and ends every session and token of the user at once', async () => {
  const bob = basic('bob', 'bob-pw');
  const session = await openSession(bob);
  const token = await issue(bob);
  assert.equal(await works(cookie(session)), 200);
  assert.equal(await works(bearer(token)), 200);
  // A stolen cookie or token cannot change the password (the cookie sent as the console sends it, past the CSRF check).
  for (const headers of [{ ...cookie(session), 'x-requested-with': 'XMLHttpRequest' }, bearer(token)]) {
    const r = await call(server.url, 'PUT', '/xapi/users/bob', { headers, json: { password: 'stolen' } });
    assert.equal(r.status, 403, r.text);
    assert.equal((r.body as { code: string }).code, 'auth.password-required');
  }
  const changed = await call(server.url, 'PUT', '/xapi/users/bob', { headers: bob, json: { password: 'bob-pw-2' } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(await works(bob), 401, 'the old password');
  assert.equal(await works(cookie(session)), 401, 'the session opened before');
  assert.equal(await works(bearer(token)), 401, 'the token issued before');
  assert.equal(await works(basic('bob', 'bob-pw-2')), 200);
});

test('disabling a user (PUT /xapi/users) ends their sessions and tokens at once', async () => {
  const dave = basic('dave', 'dave-pw');
  const session = await openSession(dave);
  const token = await issue(dave);
  const r = await call(server.url, 'PUT', '/xapi/users/dave', { headers: ADMIN, json: { enabled: false } });
  assert.equal(r.status, 200, r.text);
  // Enabling again does not bring them back.
  assert.equal((await call(server.url, 'PUT', '/xapi/users/dave', { headers: ADMIN, json: { enabled: true } })).status, 200);
  assert.equal(await works(cookie(session)), 401);
  assert.equal(await works(bearer(token)), 401);
  assert.equal(await works(dave), 200);
});

test('xcs admin user passwd and set, run in another process on the data directory, revoke the user\'s credentials', async () => {
  const erin = basic('erin', 'erin-pw');
  const xcs = (args: string[]) => new Promise<{ status: number | null; out: string }>((resolve) => {
    const child = spawn('bin/xcs', [...args, '--data', join(dir, 'data')], { env: { ...process.env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('close', (status) => resolve({ status, out }));
  });
  let session = await openSession(erin);
  let token = await issue(erin);
  const p = await xcs(['admin', 'user', 'passwd', 'erin', '--password', 'erin-pw-2']);
  assert.equal(p.status, 0, p.out);
  assert.equal(await works(cookie(session)), 401);
  assert.equal(await works(bearer(token)), 401);
  const erin2 = basic('erin', 'erin-pw-2');
  session = await openSession(erin2);
  token = await issue(erin2);
  const s = await xcs(['admin', 'user', 'set', 'erin', '--enabled', 'false']);
  assert.equal(s.status, 0, s.out);
  assert.equal(await works(cookie(session)), 401);
  assert.equal(await works(bearer(token)), 401);
});

test('what a token mints dies with it: sessions and tokens opened with it, and theirs, down the chain', async () => {
  const carol = basic('carol', 'carol-pw');
  const parent = await issue(carol);
  const childSession = await openSession(bearer(parent));
  const child = await issue(bearer(parent));
  const grandchild = await issue(cookie(await openSession(bearer(child))));
  const grandSession = await openSession(bearer(grandchild));
  // A child never outlives its parent.
  assert.ok(child.estimatedExpirationTime <= parent.estimatedExpirationTime);
  assert.ok(grandchild.estimatedExpirationTime <= child.estimatedExpirationTime);
  const unrelated = await issue(carol);
  for (const h of [cookie(childSession), bearer(child), bearer(grandchild), cookie(grandSession)]) assert.equal(await works(h), 200);
  const r = await call(server.url, 'GET', `/data/services/tokens/invalidate/${parent.alias}/${parent.secret}`, { headers: carol });
  assert.equal(r.status, 200, r.text);
  for (const h of [bearer(parent), cookie(childSession), bearer(child), bearer(grandchild), cookie(grandSession)]) {
    assert.equal(await works(h), 401);
  }
  assert.equal(await works(bearer(unrelated)), 200, 'a token issued with the password is not part of the chain');
});

test('a child credential ends when its parent token expires (store clock)', async () => {
  const opened = server.opened;
  let now = Date.now();
  const store = new CredentialStore(opened.db, () => now);
  const parent = (await store.issueAliasToken('carol', 60))!;
  const child = (await store.issueAliasToken('carol', 3600, { parent: parent.alias }))!;
  const session = (await store.createSession('carol', 3600, { parent: parent.alias }))!;
  assert.equal(child.expires, parent.expires);
  now += 61_000;
  assert.equal(await store.aliasHolder(child.alias, child.secret), undefined);
  assert.equal(await store.sessionHolder(session), undefined);
  assert.equal(await store.issueAliasToken('carol', 60, { parent: parent.alias }), undefined, 'an expired parent mints nothing');
});

test('the database holds no usable session cookie or token secret', async () => {
  const carol = basic('carol', 'carol-pw');
  const session = await openSession(carol);
  const token = await issue(carol);
  const sessions = await sql<{ token_hash: string }>`SELECT token_hash FROM http_sessions`.execute(server.opened.db);
  assert.ok(sessions.rows.some((r) => r.token_hash === sha256(session)), 'stored as its sha256');
  const tokens = await sql<{ secret_hash: string }>`SELECT secret_hash FROM alias_tokens WHERE alias = ${token.alias}`.execute(server.opened.db);
  assert.equal(tokens.rows[0].secret_hash, sha256(token.secret));
  // Nowhere in the database files (main file and write-ahead log); on PostgreSQL the rows above are all there is.
  if (server.opened.databaseKind !== 'sqlite') return;
  const checkpoint = new Database(join(dir, 'data', 'xcs.db'));
  checkpoint.pragma('wal_checkpoint(TRUNCATE)');
  checkpoint.close();
  const files = (await readdir(join(dir, 'data'))).filter((f) => f.startsWith('xcs.db'));
  for (const f of files) {
    const bytes = await readFile(join(dir, 'data', f));
    assert.equal(bytes.includes(session), false, `${f} holds the cookie`);
    assert.equal(bytes.includes(token.secret), false, `${f} holds the secret`);
  }
});

test('upgrading a database drops the sessions stored by cookie value and keeps alias tokens working', async () => {
  const data = join(dir, 'old');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(data, { recursive: true });
  const old = await openDatabase(join(data, 'xcs.db'));
  await applyMigrations(old.db, 'archive', { '0001-archive': archiveMigrations['0001-archive'] });
  await sql`INSERT INTO users VALUES ('ann', 'x', '', '', '', 1, 1, 0, '')`.execute(old.db);
  await sql`INSERT INTO http_sessions VALUES ('COOKIE-IN-CLEAR', 'ann', ${Date.now() + 3600_000})`.execute(old.db);
  await sql`INSERT INTO alias_tokens VALUES ('xcs-alias-old', ${sha256('old-secret')}, 'ann', ${Date.now() + 3600_000})`.execute(old.db);
  await old.db.destroy();
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  const opened = await openEmbeddedArchive(data);
  delete process.env.XCS_ADMIN_PASSWORD;
  try {
    assert.equal(await opened.users.sessionUser('COOKIE-IN-CLEAR'), undefined);
    const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM http_sessions`.execute(opened.db);
    assert.equal(Number(rows.rows[0].n), 0);
    assert.equal((await opened.users.authenticate('xcs-alias-old', 'old-secret'))?.login, 'ann');
  } finally {
    await opened.close();
  }
});
