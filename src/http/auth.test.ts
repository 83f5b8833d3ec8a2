// The credential cache in front of the real user store: what it remembers, when it checks again, and its bounds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive, type OpenedArchive } from '../archive/open.ts';
import { UserStore, type User } from '../archive/users.ts';
import { CredentialCache, type CredentialSource } from './auth.ts';

let dir: string;
let opened: OpenedArchive;
let users: UserStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-auth-'));
  opened = await openEmbeddedArchive(dir, { admin: { login: 'admin', password: 'admin-pw' } });
  users = opened.users;
  for (const login of ['alice', 'bob', 'carol', 'dave']) await users.addUser({ login, password: `${login}-pw` });
});

after(async () => {
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real store, counting password/alias checks, the most that ran at once, and row reads. */
function counting(): CredentialSource & { checks: number; maxAtOnce: number; reads: number } {
  let running = 0;
  const source = {
    checks: 0,
    maxAtOnce: 0,
    reads: 0,
    async authenticate(login: string, password: string): Promise<User | undefined> {
      source.checks++;
      source.maxAtOnce = Math.max(source.maxAtOnce, ++running);
      try {
        return await users.authenticate(login, password);
      } finally {
        running--;
      }
    },
    passwordStamp(login: string) {
      source.reads++;
      return users.passwordStamp(login);
    },
    onCredentialsChange: (listener: (login: string) => void) => users.onCredentialsChange(listener),
  };
  return source;
}

test('a remembered login is answered without checking the password again', async () => {
  const source = counting();
  const cache = new CredentialCache(source);
  assert.equal((await cache.authenticate('alice', 'alice-pw'))?.login, 'alice');
  assert.equal((await cache.authenticate('alice', 'alice-pw'))?.login, 'alice');
  assert.equal(source.checks, 1);
  assert.equal(cache.size, 1);
});

test('wrong passwords are checked every time and never remembered', async () => {
  const source = counting();
  const cache = new CredentialCache(source);
  await cache.authenticate('alice', 'alice-pw');
  assert.equal(await cache.authenticate('alice', 'wrong'), undefined);
  assert.equal(await cache.authenticate('alice', 'wrong'), undefined);
  assert.equal(await cache.authenticate('nobody', 'x'), undefined);
  assert.equal(source.checks, 4);
  assert.equal(cache.size, 1);
});

test('a password change announced by the store invalidates the remembered login at once', async () => {
  const source = counting();
  const cache = new CredentialCache(source);
  assert.ok(await cache.authenticate('bob', 'bob-pw'));
  await users.setPassword('bob', 'bob-pw-2');
  assert.equal(await cache.authenticate('bob', 'bob-pw'), undefined);
  assert.equal((await cache.authenticate('bob', 'bob-pw-2'))?.login, 'bob');
  // Setting the same password again gives a new salt, hence a new stamp.
  await users.setPassword('bob', 'bob-pw-2');
  const checks = source.checks;
  assert.ok(await cache.authenticate('bob', 'bob-pw-2'));
  assert.equal(source.checks, checks + 1);
});

test('a disabled user is refused at once, and a changed role shows on the next request', async () => {
  const source = counting();
  const cache = new CredentialCache(source);
  assert.equal((await cache.authenticate('carol', 'carol-pw'))?.siteAdmin, false);
  await users.updateUser('carol', { siteAdmin: true });
  assert.equal((await cache.authenticate('carol', 'carol-pw'))?.siteAdmin, true);
  await users.updateUser('carol', { enabled: false });
  assert.equal(await cache.authenticate('carol', 'carol-pw'), undefined);
  await users.updateUser('carol', { enabled: true, siteAdmin: false });
  assert.equal((await cache.authenticate('carol', 'carol-pw'))?.login, 'carol');
});

test('changes made by another process are seen once recheckMs has passed', async () => {
  let now = 1_000_000;
  const source = counting();
  const cache = new CredentialCache(source, { recheckMs: 1000, now: () => now });
  // Another process: a second store on the same database, whose changes this one never hears of.
  const elsewhere = new UserStore(opened.db);
  await users.addUser({ login: 'erin', password: 'erin-pw' });
  await users.addUser({ login: 'frank', password: 'frank-pw' });
  assert.ok(await cache.authenticate('erin', 'erin-pw'));
  assert.ok(await cache.authenticate('frank', 'frank-pw'));
  const reads = source.reads;
  now += 999;
  assert.ok(await cache.authenticate('erin', 'erin-pw'));
  assert.equal(source.reads, reads, 'no row read within recheckMs');
  await elsewhere.setPassword('erin', 'erin-pw-2');
  await elsewhere.updateUser('frank', { enabled: false });
  now += 1;
  assert.equal(await cache.authenticate('erin', 'erin-pw'), undefined);
  assert.equal(await cache.authenticate('frank', 'frank-pw'), undefined);
  assert.equal((await cache.authenticate('erin', 'erin-pw-2'))?.login, 'erin');
  // Still valid rows are read again, and the entry lives on.
  const checks = source.checks;
  now += 1000;
  assert.ok(await cache.authenticate('erin', 'erin-pw-2'));
  assert.equal(source.checks, checks);
});

test('a change announced while a row is being read is not overwritten by that read', async () => {
  let now = 1_000_000;
  let meanwhile: (() => Promise<unknown>) | undefined;
  const source: CredentialSource = {
    authenticate: (login, password) => users.authenticate(login, password),
    // The row is read, then the account changes before the reader resumes.
    async passwordStamp(login) {
      const row = await users.passwordStamp(login);
      await meanwhile?.();
      return row;
    },
    onCredentialsChange: (listener) => users.onCredentialsChange(listener),
  };
  const cache = new CredentialCache(source, { recheckMs: 1000, now: () => now });
  assert.ok(await cache.authenticate('dave', 'dave-pw'));
  now += 1000;
  meanwhile = () => users.updateUser('dave', { enabled: false });
  assert.ok(await cache.authenticate('dave', 'dave-pw'), 'read before the change');
  meanwhile = undefined;
  assert.equal(await cache.authenticate('dave', 'dave-pw'), undefined);
  await users.updateUser('dave', { enabled: true });
  assert.ok(await cache.authenticate('dave', 'dave-pw'));
});

test('the cache keeps at most maxEntries logins, dropping the least recently used', async () => {
  const source = counting();
  const cache = new CredentialCache(source, { maxEntries: 2 });
  await cache.authenticate('alice', 'alice-pw');
  await cache.authenticate('dave', 'dave-pw');
  await cache.authenticate('alice', 'alice-pw'); // alice is now the most recently used
  await cache.authenticate('admin', 'admin-pw'); // drops dave
  assert.equal(cache.size, 2);
  assert.equal(source.checks, 3);
  await cache.authenticate('alice', 'alice-pw');
  assert.equal(source.checks, 3);
  await cache.authenticate('dave', 'dave-pw');
  assert.equal(source.checks, 4);
});

test('a remembered login expires after ttlMs', async () => {
  let now = 1_000_000;
  const source = counting();
  const cache = new CredentialCache(source, { ttlMs: 1000, now: () => now });
  await cache.authenticate('dave', 'dave-pw');
  now += 999;
  await cache.authenticate('dave', 'dave-pw');
  assert.equal(source.checks, 1);
  now += 1;
  assert.ok(await cache.authenticate('dave', 'dave-pw'));
  assert.equal(source.checks, 2);
});

test('concurrent requests with the same credentials share one check; distinct ones are limited', async () => {
  const source = counting();
  const cache = new CredentialCache(source, { maxConcurrentChecks: 1 });
  const same = await Promise.all(Array.from({ length: 20 }, () => cache.authenticate('alice', 'alice-pw')));
  assert.ok(same.every((u) => u?.login === 'alice'));
  assert.equal(source.checks, 1);
  const logins = ['carol', 'dave', 'admin'];
  const distinct = await Promise.all(logins.map((l) => cache.authenticate(l, `${l}-pw`)));
  assert.deepEqual(distinct.map((u) => u?.login), logins);
  assert.equal(source.maxAtOnce, 1);
});

test('alias tokens are checked on every use, so an invalidated one is refused at once', async () => {
  const source = counting();
  const cache = new CredentialCache(source);
  const t = await users.issueAliasToken('alice', 60);
  assert.equal((await cache.authenticate(t.alias, t.secret))?.login, 'alice');
  assert.equal((await cache.authenticate(t.alias, t.secret))?.login, 'alice');
  assert.equal(source.checks, 2);
  assert.equal(cache.size, 0);
  await users.invalidateAliasToken(t.alias);
  assert.equal(await cache.authenticate(t.alias, t.secret), undefined);
});
