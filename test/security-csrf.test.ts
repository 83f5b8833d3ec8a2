// Cross-site request forgery, in a real chromium against a real server: while the admin is signed in to the console,
// pages of two other origins — 127.0.0.1 on another port (same site: the browser sends the SameSite cookie) and
// 127.0.0.2 (another site) — auto-submit a form POST and fetch with credentials:'include' (a POST and the
// credential-issuing GETs). Every such request reaches the server and is refused (403), and nothing changes. The
// console itself still signs in, registers a command and signs out; Basic clients, alias tokens and cookie
// scripts that send X-Requested-With are unaffected; the cookie is HttpOnly and SameSite=Strict.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyPluginAsync } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { type ServerDeps } from '../src/http/server.ts';
import { basic, call } from './xapi-helpers.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_PW = 'admin-pw-csrf';

interface Seen { method: string; path: string; status: number; cookie: boolean; origin?: string; fetchSite?: string }
const seen: Seen[] = [];

/** Records every request the server answers (with or without a session cookie) — proof the forgeries arrived. */
const recorder: FastifyPluginAsync<ServerDeps> = async (app) => {
  app.addHook('onResponse', async (request, reply) => {
    seen.push({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode,
      cookie: /JSESSIONID=\w/.test(request.headers.cookie ?? ''), origin: request.headers.origin,
      fetchSite: request.headers['sec-fetch-site'] as string | undefined });
  });
};
(recorder as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

let dir: string;
let s: RunningServer;
let browser: Browser;
const attackers: Array<{ server: Server; url: string }> = [];
const admin = () => basic('admin', ADMIN_PW);

/** The hostile page: a form that posts itself, and fetches with the visitor's credentials. */
function hostilePage(target: string, tag: string): string {
  return `<!doctype html><html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="${target}/data/projects/CSRF/subjects/FORM_${tag}" target="sink">
  <input type="hidden" name="label" value="FORM_${tag}">
</form>
<script>
  window.results = {};
  const go = async (name, path, init) => {
    try { const r = await fetch('${target}' + path, { credentials: 'include', ...init }); window.results[name] = r.type + ' ' + r.status; }
    catch (e) { window.results[name] = 'error ' + e.message; }
  };
  document.getElementById('f').submit();
  Promise.all([
    go('post', '/data/projects/CSRF/subjects/FETCH_${tag}', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x', mode: 'no-cors' }),
    go('token', '/data/services/tokens/issue', { mode: 'no-cors' }),
    go('session', '/data/JSESSION', { mode: 'no-cors' }),
    go('cors', '/data/projects/CSRF/subjects/CORS_${tag}', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' }),
  ]).then(() => { window.done = true; });
</script></body></html>`;
}

async function startAttacker(host: string, tag: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(hostilePage(s.url, tag));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const addr = server.address() as { port: number };
  const url = `http://${host}:${addr.port}`;
  attackers.push({ server, url });
  return url;
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${s.url}/`);
  await page.getByLabel('Login').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PW);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
}

async function aliasTokenCount(): Promise<number> {
  const r = await s.opened.db.selectFrom('alias_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(r?.n ?? 0);
}

async function sessionCount(): Promise<number> {
  const r = await s.opened.db.selectFrom('http_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(r?.n ?? 0);
}

before(async () => {
  await promisify(execFile)('bash', ['scripts/build.sh'], { cwd: repoRoot });
  dir = await mkdtemp(join(tmpdir(), 'xcs-csrf-'));
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = ADMIN_PW;
  s = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), plugins: [recorder] });
  delete process.env.XCS_ADMIN_PASSWORD;
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF', { headers: admin() })).status < 300, true);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  for (const a of attackers) await new Promise((r) => a.server.close(r));
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('pages of other origins cannot act for the signed-in admin: form POST and credentialed fetches are refused, nothing changes', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  const cookie = (await context.cookies(s.url)).find((c) => c.name === 'JSESSIONID');
  assert.ok(cookie, 'the console signed in with a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.secure, false, 'not Secure over plain http');

  const tokensBefore = await aliasTokenCount();
  const sessionsBefore = await sessionCount();
  for (const [host, tag] of [['127.0.0.1', 'SAMESITE'], ['127.0.0.2', 'CROSSSITE']] as const) {
    const url = await startAttacker(host, tag);
    const hostile = await context.newPage();
    seen.length = 0;
    await hostile.goto(`${url}/`);
    await hostile.waitForFunction('window.done === true');
    // The form's navigation lands in the hidden frame; wait until the server answered it.
    for (let i = 0; i < 200 && !seen.some((r) => r.path.endsWith(`/FORM_${tag}`)); i++) await new Promise((r) => setTimeout(r, 25));
    const forged = seen.filter((r) => r.path.startsWith('/data/projects/CSRF/') || r.path === '/data/services/tokens/issue' || r.path === '/data/JSESSION');
    const paths = forged.map((r) => `${r.method} ${r.path}`).sort();
    assert.deepEqual(paths, [
      'GET /data/JSESSION', 'GET /data/services/tokens/issue',
      `POST /data/projects/CSRF/subjects/CORS_${tag}`, `POST /data/projects/CSRF/subjects/FETCH_${tag}`,
      `POST /data/projects/CSRF/subjects/FORM_${tag}`,
    ], `${tag}: every forged request reached the server`);
    for (const r of forged) assert.equal(r.status, 403, `${tag}: ${r.method} ${r.path} refused (${JSON.stringify(r)})`);
    if (tag === 'SAMESITE') {
      // Same site, other origin: the browser sends the SameSite=Strict cookie, so only the origin check stands.
      assert.ok(forged.every((r) => r.cookie), 'the same-site forgeries carried the session cookie');
    } else {
      assert.ok(forged.every((r) => !r.cookie), 'the cross-site forgeries carried no cookie (SameSite=Strict)');
    }
    await hostile.close();
  }
  // Nothing changed: no subject, no token, no session.
  const subjects = await call(s.url, 'GET', '/data/projects/CSRF/subjects?format=json', { headers: admin() });
  assert.deepEqual((subjects.body as { ResultSet: { Result: unknown[] } }).ResultSet.Result, []);
  assert.equal(await aliasTokenCount(), tokensBefore);
  assert.equal(await sessionCount(), sessionsBefore);

  // The refusal says why and what to send.
  const refusal = await call(s.url, 'POST', '/data/projects/CSRF/subjects/X', { headers: { cookie: `JSESSIONID=${cookie.value}`, origin: 'http://evil.example' } });
  assert.equal(refusal.status, 403);
  assert.match(refusal.text, /another origin \(http:\/\/evil\.example\)/);
  await context.close();
});

test('the console still works: sign in, register a command (a POST), sign out (a DELETE)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Commands' }).click();
  await page.getByRole('button', { name: 'Insert an example' }).click();
  await page.getByRole('button', { name: 'Check and register' }).click();
  await page.getByText(/Registered as command \d+/).waitFor();
  const commands = await call(s.url, 'GET', '/xapi/commands', { headers: admin() });
  assert.ok((commands.body as Array<{ name: string }>).some((c) => c.name === 'hello'), 'the command was registered');
  const token = (await context.cookies(s.url)).find((c) => c.name === 'JSESSIONID')!.value;
  assert.equal((await call(s.url, 'GET', '/xapi/users/admin', { headers: { cookie: `JSESSIONID=${token}` } })).status, 200);
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.getByLabel('Login').waitFor();
  assert.equal((await call(s.url, 'GET', '/xapi/users/admin', { headers: { cookie: `JSESSIONID=${token}` } })).status, 401, 'signing out ended the session');
  assert.deepEqual(errors, []);
  await context.close();
});

test('scripts are unaffected: Basic and alias tokens need no header; cookie scripts send X-Requested-With; markers are checked', async () => {
  // Basic, with no browser marker, as curl and pyxnat send it.
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/BASIC', { headers: admin() })).status, 201);
  const token = await call(s.url, 'GET', '/data/services/tokens/issue', { headers: admin() });
  const { alias, secret } = token.body as { alias: string; secret: string };
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/ALIAS', { headers: basic(alias, secret) })).status, 201);
  // pyxnat's way: Basic on every call plus the session cookie it got first.
  const session = await call(s.url, 'GET', '/data/JSESSION', { headers: admin() });
  const cookie = { cookie: `JSESSIONID=${session.text}` };
  // The cookie is Secure when the request came over https (here: through a TLS-terminating proxy).
  const viaHttps = await fetch(`${s.url}/data/JSESSION`, { headers: { ...admin(), 'x-forwarded-proto': 'https' } });
  assert.match(viaHttps.headers.get('set-cookie') ?? '', /^JSESSIONID=\w+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/PYX', { headers: { ...admin(), ...cookie } })).status, 201);

  // The cookie alone: a change needs X-Requested-With (or a same-origin marker); reads do not.
  const bare = await call(s.url, 'PUT', '/data/projects/CSRF/subjects/BARE', { headers: cookie });
  assert.equal(bare.status, 403);
  assert.match(bare.text, /X-Requested-With: XMLHttpRequest/);
  assert.equal((await call(s.url, 'GET', '/data/projects/CSRF/subjects?format=json', { headers: cookie })).status, 200);
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/XRW', { headers: { ...cookie, 'x-requested-with': 'XMLHttpRequest' } })).status, 201);
  const own = s.url;
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/ORIGIN', { headers: { ...cookie, origin: own } })).status, 201);
  assert.equal((await call(s.url, 'PUT', '/data/projects/CSRF/subjects/SFS', { headers: { ...cookie, 'sec-fetch-site': 'same-origin' } })).status, 201);
  // Refused whatever the credentials once a browser says the page is elsewhere; `none` (typed URL) only for reads.
  const markers: Array<Record<string, string>> = [{ origin: 'null' }, { origin: own.replace('127.0.0.1', 'localhost') }, { 'sec-fetch-site': 'same-site' },
    { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'none' }];
  for (const marker of markers) {
    const r = await call(s.url, 'PUT', '/data/projects/CSRF/subjects/MARKED', { headers: { ...admin(), ...marker } });
    assert.equal(r.status, 403, JSON.stringify(marker));
  }
  assert.equal((await call(s.url, 'GET', '/data/JSESSION', { headers: { ...cookie, 'sec-fetch-site': 'none' } })).status, 200, 'typed into the address bar');
  assert.equal((await call(s.url, 'GET', '/data/services/tokens/issue', { headers: { ...cookie, 'sec-fetch-site': 'cross-site' } })).status, 403);
  // Reads from elsewhere are not refused (the browser keeps their answers from the other page anyway).
  assert.equal((await call(s.url, 'GET', '/data/projects/CSRF/subjects?format=json', { headers: { ...cookie, 'sec-fetch-site': 'cross-site' } })).status, 200);
  const labels = ((await call(s.url, 'GET', '/data/projects/CSRF/subjects?format=json', { headers: admin() })).body as
    { ResultSet: { Result: Array<{ label: string }> } }).ResultSet.Result.map((r) => r.label).sort();
  assert.deepEqual(labels, ['ALIAS', 'BASIC', 'ORIGIN', 'PYX', 'SFS', 'XRW']);
});
