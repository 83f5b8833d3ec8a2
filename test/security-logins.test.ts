// Password guessing, against a real server (3 failures per login, 5 per address, set through the environment):
// 429 with Retry-After once a login or an address is locked — on any route and on /data/JSESSION, with the right
// password too, and from any address for a locked login; a site administrator lifts locks; every failed sign-in is
// one JSON line on the process's stderr with login, address, time and reason, never the password. An unknown login runs the
// password hash like a known one (counted scrypt calls, not timing), and is counted and locked alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { basic } from './xapi-helpers.ts';

const ADMIN_PW = 'admin-pw-logins';
let dir: string;
let serve: RunningServer;
/** What the process wrote to stderr while the server ran. */
let stderr = '';
const writeStderr = process.stderr.write.bind(process.stderr);

interface Answer { status: number; retryAfter?: string; text: string }

/** One request from a chosen loopback address (127.0.0.x), as a client on another machine would make. */
function send(method: string, path: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<Answer> {
  const url = new URL(path, serve.url);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], text }));
    });
    r.on('error', reject);
    r.end();
  });
}

const admin = () => basic('admin', ADMIN_PW);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-logins-'));
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    stderr += String(chunk);
    return writeStderr(chunk, ...rest);
  }) as typeof process.stderr.write;
  const settings = { XCS_ADMIN_USER: 'admin', XCS_ADMIN_PASSWORD: ADMIN_PW,
    XCS_LOGIN_MAX_FAILURES: '3', XCS_LOGIN_ADDRESS_MAX_FAILURES: '5', XCS_LOGIN_WINDOW_SECONDS: '900' };
  Object.assign(process.env, settings);
  try {
    serve = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  } finally {
    for (const k of Object.keys(settings)) delete process.env[k];
  }
  for (const login of ['alice', 'bob', 'carol']) {
    const r = await fetch(`${serve.url}/xapi/users`, { method: 'POST', headers: { ...admin(), 'content-type': 'application/json' },
      body: JSON.stringify({ username: login, password: `${login}-right-pw` }) });
    assert.equal(r.status, 201);
  }
});

after(async () => {
  process.stderr.write = writeStderr;
  await serve?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a login is locked after 3 failures: 429 + Retry-After everywhere, the right password too, from any address; an admin unlocks it', async () => {
  for (let i = 1; i <= 2; i++) {
    const r = await send('GET', '/data/projects', basic('alice', `alice-guess-${i}`));
    assert.equal(r.status, 401, `guess ${i}`);
  }
  const third = await send('GET', '/data/JSESSION', basic('alice', 'alice-guess-3'));
  assert.equal(third.status, 429);
  assert.ok(Number(third.retryAfter) > 800 && Number(third.retryAfter) <= 900, `Retry-After ${third.retryAfter}`);
  assert.match(third.text, /too many failed sign-ins for login "alice": try again in \d+ seconds/);

  for (const [method, path] of [['GET', '/data/projects'], ['GET', '/data/JSESSION'], ['POST', '/data/JSESSION'], ['GET', '/xapi/commands']]) {
    const r = await send(method, path, basic('alice', 'alice-right-pw'));
    assert.equal(r.status, 429, `the right password is refused while locked: ${method} ${path}`);
    assert.ok(Number(r.retryAfter) >= 1);
  }
  assert.equal((await send('GET', '/data/projects', basic('alice', 'alice-right-pw'), '127.0.0.9')).status, 429, 'from another address too');
  // Others are not affected (the address has 3 failures of 5).
  assert.equal((await send('GET', '/data/projects', basic('bob', 'bob-right-pw'))).status, 200);

  // Only a site administrator sees and lifts the lock.
  assert.equal((await send('DELETE', '/xapi/users/alice/lockout', basic('bob', 'bob-right-pw'))).status, 403);
  const state = await send('GET', '/xapi/users/alice/lockout', admin());
  assert.equal(state.status, 200);
  assert.equal((JSON.parse(state.text) as { locked: boolean }).locked, true);
  const lifted = await send('DELETE', '/xapi/users/alice/lockout', admin());
  assert.deepEqual(JSON.parse(lifted.text), { login: 'alice', unlocked: true });
  assert.equal((await send('GET', '/data/projects', basic('alice', 'alice-right-pw'))).status, 200);
  assert.equal((await send('GET', '/data/JSESSION', basic('alice', 'alice-right-pw'))).status, 200);
});

test('an address is locked after 5 failures whatever the logins (unknown ones count alike); others addresses are not; an admin unlocks it', async () => {
  const from = '127.0.0.3';
  const answers = [];
  for (const login of ['ghost1', 'ghost2', 'carol', 'ghost3']) answers.push((await send('GET', '/data/projects', basic(login, 'nope'), from)).status);
  assert.deepEqual(answers, [401, 401, 401, 401], 'an unknown login fails like a known one');
  const fifth = await send('GET', '/data/projects', basic('ghost4', 'nope'), from);
  assert.equal(fifth.status, 429);
  assert.match(fifth.text, /too many failed sign-ins for your address/);
  const right = await send('GET', '/data/projects', basic('carol', 'carol-right-pw'), from);
  assert.equal(right.status, 429, 'a correct sign-in from the locked address is refused');
  assert.ok(Number(right.retryAfter) > 800);
  assert.equal((await send('GET', '/data/projects', basic('carol', 'carol-right-pw'), '127.0.0.4')).status, 200, 'carol from elsewhere');
  const lifted = await send('DELETE', `/xapi/lockouts/addresses/${from}`, admin());
  assert.deepEqual(JSON.parse(lifted.text), { address: from, unlocked: true });
  assert.equal((await send('GET', '/data/projects', basic('carol', 'carol-right-pw'), from)).status, 200);
});

test('every failed sign-in is one JSON line on stderr: login, address, time, reason — never the password', async () => {
  const lines = stderr.split('\n').filter((l) => l.includes('sign-in.failed')).map((l) => JSON.parse(l) as Record<string, string>);
  const alice = lines.filter((l) => l.login === 'alice');
  assert.deepEqual(alice.map((l) => l.reason), ['wrong-credentials', 'wrong-credentials', 'wrong-credentials',
    'locked-login', 'locked-login', 'locked-login', 'locked-login', 'locked-login']);
  for (const l of alice) {
    assert.ok(l.address === '127.0.0.1' || l.address === '127.0.0.9', l.address);
    assert.ok(!Number.isNaN(Date.parse(l.time)) && l.time.endsWith('Z'), l.time);
  }
  assert.ok(lines.some((l) => l.login === 'ghost4' && l.address === '127.0.0.3' && l.reason === 'wrong-credentials'));
  assert.ok(lines.some((l) => l.login === 'carol' && l.address === '127.0.0.3' && l.reason === 'locked-address'));
  assert.doesNotMatch(stderr, /alice-guess|right-pw|nope/, 'no password in the output');
});

test('an unknown login runs scrypt like a wrong password (no timing oracle)', async () => {
  const opened = await openEmbeddedArchive(join(dir, 'oracle'), { admin: { login: 'admin', password: 'pw' } });
  const original = crypto.scrypt;
  let calls = 0;
  crypto.scrypt = ((...args: Parameters<typeof crypto.scrypt>) => {
    calls++;
    return (original as (...a: unknown[]) => void)(...args);
  }) as typeof crypto.scrypt;
  syncBuiltinESMExports();
  try {
    assert.equal(await opened.users.authenticate('admin', 'wrong'), undefined);
    assert.equal(calls, 1, 'a wrong password: one scrypt run');
    assert.equal(await opened.users.authenticate('no-such-login', 'wrong'), undefined);
    assert.equal(calls, 2, 'an unknown login: one scrypt run too');
    assert.ok(await opened.users.authenticate('admin', 'pw'));
  } finally {
    crypto.scrypt = original;
    syncBuiltinESMExports();
    await opened.close();
  }
});
