// Archive files never act as pages of the site: a project member's uploaded HTML, SVG or XML, opened by a
// signed-in site admin in a real browser (Debian's chromium), runs no script on the server's origin. The
// attack the issue describes: the script uses the admin's session to create a new site admin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import yazl from 'yazl';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const P = 'XSSP';
const RES = `/data/projects/${P}/resources/FILES/files`;
let s: TestServer;
let browser: Browser;
let admin: Record<string, string>;
let mallory: Record<string, string>;

/** What the attacker's script does when it runs: make itself a site admin, and leave a marker file in the archive. */
const ATTACK = `
fetch('/xapi/users', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'pwned', password: 'pwned-pw-1', admin: true }) });
fetch('${RES}/marker.txt', { method: 'PUT', credentials: 'include', body: 'ran' });
document.title = 'XSS RAN';`;

const FILES: Record<string, string> = {
  'evil.html': `<!doctype html><html><head><title>report</title></head><body><script>${ATTACK}</script></body></html>`,
  'evil.svg': `<svg xmlns="http://www.w3.org/2000/svg" onload="${ATTACK.replace(/"/g, '&quot;').replace(/\n/g, ' ')}"><script>${ATTACK}</script></svg>`,
  'evil.xml': `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>${ATTACK}</script></html>`,
  'evil.js': ATTACK,
  // A text file holding HTML: inline, but as text, never sniffed into a page.
  'evil.txt': `<html><body><script>${ATTACK}</script></body></html>`,
  // No extension at all: sniffing would take it for HTML.
  'report': `<html><body><script>${ATTACK}</script></body></html>`,
};
/** A file named to break out of an HTML listing. */
const NASTY_NAME = '<img src=x onerror="document.title=\'XSS RAN\'">.png';

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  await s.opened.users.addUser({ login: 'mallory', password: 'mallory-pw-1' });
  mallory = basic('mallory', 'mallory-pw-1');
  assert.equal((await fetch(`${s.url}/data/projects/${P}`, { method: 'PUT', headers: admin })).status, 201);
  await s.opened.users.setRole(P, 'mallory', 'member');
  assert.equal((await fetch(`${s.url}/data/projects/${P}/resources/FILES`, { method: 'PUT', headers: mallory })).status, 201);
  for (const [name, body] of Object.entries({ ...FILES, [NASTY_NAME]: 'not really a png' })) {
    const r = await fetch(`${s.url}${RES}/${encodeURIComponent(name)}`, { method: 'PUT', headers: mallory, body });
    assert.equal(r.status, 200, `${name}: ${await r.text()}`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

/** A browser signed in as the site admin the way the console is: the JSESSIONID cookie of `POST /data/JSESSION`. */
async function adminBrowser(): Promise<BrowserContext> {
  const r = await fetch(`${s.url}/data/JSESSION`, { method: 'POST', headers: admin });
  assert.equal(r.status, 200);
  const token = await r.text();
  const context = await browser.newContext({ acceptDownloads: true });
  await context.addCookies([{ name: 'JSESSIONID', value: token, url: s.url, httpOnly: true, sameSite: 'Lax' }]);
  return context;
}

async function assertNothingRan(what: string): Promise<void> {
  assert.equal(await s.opened.users.getUser('pwned'), undefined, `${what}: the script created a user`);
  const marker = await fetch(`${s.url}${RES}/marker.txt`, { headers: admin });
  assert.equal(marker.status, 404, `${what}: the script wrote its marker`);
}

test('an uploaded HTML, SVG, XML or JS file opened by a signed-in admin runs no script on the site', async () => {
  const context = await adminBrowser();
  try {
    // The session works: the same browser can create objects through the API (so a script could, if it ran).
    const page = await context.newPage();
    for (const name of Object.keys(FILES)) {
      for (const prefix of ['/data', '/REST']) {
        const url = `${s.url}${RES.replace(/^\/data/, prefix)}/${encodeURIComponent(name)}`;
        // No time limit: the event comes for a download; otherwise the promise is dropped (and settles when the page closes).
        const download = page.waitForEvent('download', { timeout: 0 }).catch(() => undefined);
        const nav = await page.goto(url).then((r) => r, (e: Error) => e);
        if (nav instanceof Error) {
          // A download: the browser never made a page of it.
          assert.match(nav.message, /Download is starting|net::ERR_ABORTED/, `${name}: ${nav.message}`);
          const got = await download;
          assert.ok(got, `${name} should have been a download`);
          await got.cancel().catch(() => undefined);
        } else {
          // Shown in place (plain text only): as text, no element of the file became part of a page.
          assert.notEqual(await page.title(), 'XSS RAN', `${name}: the script ran`);
          assert.equal(name, 'evil.txt', `${name} was shown in the browser instead of downloaded`);
          assert.equal(await page.locator('script').count(), 0);
          assert.match(await page.locator('body').innerText(), /<script>/);
        }
        await assertNothingRan(`${prefix} ${name}`);
      }
    }
  } finally {
    await context.close();
  }
  await assertNothingRan('after the browser closed');
});

test('a file name made of HTML is inert in the XNAT-style HTML listing', async () => {
  const context = await adminBrowser();
  try {
    const page = await context.newPage();
    const r = await page.goto(`${s.url}${RES}?format=html`);
    assert.equal(r?.status(), 200);
    assert.equal(await page.locator('img').count(), 0, 'the name became an element');
    assert.match(await page.locator('table').innerText(), /<img src=x onerror=/);
    assert.notEqual(await page.title(), 'XSS RAN');
    await assertNothingRan('listing');
  } finally {
    await context.close();
  }
});

test('file downloads carry nosniff, a sandboxing CSP, attachment (inline only for images and text) and no renderable type', async () => {
  const renderable = /html|svg|xml|javascript|ecmascript/i;
  for (const name of [...Object.keys(FILES), NASTY_NAME]) {
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(`${s.url}${RES}/${encodeURIComponent(name)}`, { method, headers: admin });
      assert.equal(r.status, 200, name);
      const type = r.headers.get('content-type') ?? '';
      const disposition = r.headers.get('content-disposition') ?? '';
      assert.doesNotMatch(type, renderable, `${name}: ${type}`);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', name);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/, name);
      assert.match(csp, /(^|;\s*)sandbox(;|$)/, name);
      const inline = name === 'evil.txt' || name === NASTY_NAME;
      assert.match(disposition, inline ? /^inline; / : /^attachment; /, `${name}: ${disposition}`);
      // The header stays one well-formed value whatever the name holds.
      assert.doesNotMatch(disposition.replace(/filename\*=.*$/, ''), /filename="[^"]*"[^;]/, disposition);
      await r.arrayBuffer();
    }
  }
  assert.equal((await fetch(`${s.url}${RES}/evil.txt`, { headers: admin })).headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal((await fetch(`${s.url}${RES}/${encodeURIComponent(NASTY_NAME)}`, { headers: admin })).headers.get('content-type'), 'image/png');
  // The exact name survives in RFC 5987 form.
  const d = (await fetch(`${s.url}${RES}/${encodeURIComponent(NASTY_NAME)}`, { headers: admin })).headers.get('content-disposition')!;
  assert.equal(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(d)![1]), NASTY_NAME);
});

test('zip downloads, listings, XML and error answers are data too: attachment or sandboxed, never sniffed', async () => {
  for (const url of [`/data/projects/${P}/resources/FILES/files?format=zip`, `/REST/projects/${P}/resources/FILES?format=zip`]) {
    const r = await fetch(`${s.url}${url}`, { headers: admin });
    assert.equal(r.status, 200, url);
    assert.equal(r.headers.get('content-type'), 'application/zip');
    assert.match(r.headers.get('content-disposition') ?? '', /^attachment; filename="FILES\.zip"/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    await r.arrayBuffer();
  }
  for (const url of [`${RES}?format=html`, `/data/projects/${P}?format=xml`, `/data/projects/${P}/resources/FILES/files/nope<b>.html`,
    '/data/no/such/<script>']) {
    const r = await fetch(`${s.url}${url}`, { headers: admin });
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', url);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'; sandbox/, url);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', url);
    await r.arrayBuffer();
  }
});

test('the console keeps its own strict CSP (no inline script), no framing and a referrer policy', async () => {
  const r = await fetch(`${s.url}/ui/`);
  const csp = r.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('referrer-policy'), 'same-origin');
  await r.arrayBuffer();
});

test('a zip a member extracts into a resource keeps its HTML a download', async () => {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(FILES['evil.html']), 'sub/page.html');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  const put = await fetch(`${s.url}${RES}/up.zip?extract=true`, { method: 'PUT', headers: mallory, body: Buffer.concat(chunks) });
  assert.equal(put.status, 200, await put.text());
  const r = await fetch(`${s.url}${RES}/sub/page.html`, { headers: admin });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  assert.match(r.headers.get('content-disposition') ?? '', /^attachment; filename="page\.html"/);
  await r.arrayBuffer();
});
