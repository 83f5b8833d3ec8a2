// Bad input on every /xapi route, over real HTTP (issue "Bad input"): hostile path parameters, query values and
// bodies are answered with a 4xx that says what is wrong — never a 5xx — and nothing is stored or launched.
// The routes come from the OpenAPI document, so a new route is covered without editing this file. Also:
// malformed JSON gets its position, a wrong content type 415, and an oversized body 413, on the JSON routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

let s: TestServer;
let admin: Record<string, string>;
const PWNED = join(tmpdir(), `xcs-pwned-${process.pid}`);

const EVIL = [
  '../../etc/passwd', "1' OR '1'='1", "'; DROP TABLE commands; --", `$(touch ${PWNED})`, `a;touch ${PWNED}`, '`id`',
  '<script>alert(1)</script>', '\u0000', '-1', '1e309', '0x10', 'x'.repeat(3000), '{"a":1}', '[1,2]', 'null', '💥',
];

const COMMAND = {
  name: 'bad-input-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'echo #LABEL#', 'override-entrypoint': true,
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }],
  xnat: [{
    name: 'bad-input-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
  }],
};

/** Everything a hostile request could change, read through the API. */
async function state(): Promise<string> {
  const parts: unknown[] = [];
  for (const p of ['/xapi/commands', '/xapi/containers?all=true', '/xapi/commandeventmapping', '/xapi/orchestration', '/xapi/docker/hubs',
    '/xapi/docker/server', '/xapi/jms_queues', '/xapi/users']) {
    const r = await call(s.url, 'GET', p, { headers: admin });
    parts.push(p, r.status, r.body);
  }
  // Ping results and timestamps are not state.
  return JSON.stringify(parts, (k, v: unknown) => (k === 'ping' || k === 'status-time' || k === 'time-recorded' || k === 'last-ping' ? undefined : v));
}

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  const { archive } = s.opened;
  await archive.createProject({ id: 'B' }, 'admin');
  const subject = await archive.createSubject('B', { label: 'S1' }, 'admin');
  await archive.createSession(subject.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin');
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
});

after(async () => {
  await stopWithContainers(s);
});

test('hostile path parameters, queries and bodies on every route: a 4xx with a message, no 5xx, nothing changed', async () => {
  const doc = (await call(s.url, 'GET', '/xapi/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => ({ method: m.toUpperCase(), path: p })));
  assert.ok(routes.length > 100, `the OpenAPI document lists the routes (${routes.length})`);
  const before = await state();
  const wrong: string[] = [];
  let requests = 0;
  for (const { method, path } of routes) {
    if (!path.includes('{')) continue; // routes without parameters get hostile queries and bodies below
    for (const evil of EVIL) {
      const concrete = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(evil));
      const q = `?project=${encodeURIComponent(evil)}&image=${encodeURIComponent(evil)}&rootElement=session&sampleTarget=${encodeURIComponent(evil)}`;
      const r = await call(s.url, method, concrete + q, { headers: admin, ...(method === 'GET' || method === 'DELETE' ? {} : { json: { session: evil, label: evil } }) });
      requests++;
      // A lock is kept (and answered) for any name that could be a login, such as "null" or "0x10".
      const aLogin = path.endsWith('/{login}/lockout') && /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(evil);
      if (aLogin && r.status === 200) continue;
      if (r.status >= 500 || r.status < 400) wrong.push(`${method} ${path} with ${JSON.stringify(evil.slice(0, 20))}: ${r.status} ${r.text.slice(0, 100)}`);
      else if (typeof r.body !== 'object' || r.body === null || typeof (r.body as { message?: unknown }).message !== 'string') {
        // Launch reports carry their message in the report; everything else is an XCS error body.
        wrong.push(`${method} ${path}: ${r.status} without a JSON message: ${r.text.slice(0, 100)}`);
      }
    }
  }
  // Routes without path parameters: hostile query values and a hostile body.
  for (const { method, path } of routes) {
    if (path.includes('{') || method === 'DELETE' || path === '/xapi/openapi.json' || path === '/xapi/docs') continue;
    // The status stream never ends (it takes no query values; a bad Last-Event-ID is tested in ops-stream.test.ts).
    if (path === '/xapi/containers/events') continue;
    for (const evil of EVIL.slice(0, 8)) {
      const q = ['project', 'xsiType', 'image', 'name', 'version', 'status', 'page', 'size', 'object', 'projects', 'orchestrationId']
        .map((k) => `${k}=${encodeURIComponent(evil)}`).join('&');
      const r = await call(s.url, method, `${path}?${q}`, { headers: admin, ...(method === 'GET' ? {} : { json: { [evil]: evil, name: evil } }) });
      requests++;
      if (r.status >= 500) wrong.push(`${method} ${path}?…${JSON.stringify(evil.slice(0, 20))}: ${r.status} ${r.text.slice(0, 100)}`);
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} of ${requests} hostile requests were mishandled`);
  assert.equal(await state(), before, 'no hostile request stored or launched anything');
  assert.equal(existsSync(PWNED), false, 'no hostile value reached a shell');
});

test('malformed JSON names its position, a non-JSON body is 415, an oversized body 413 — and nothing is stored', async () => {
  const before = await state();
  const jsonRoutes = ['/xapi/commands', '/xapi/orchestration', '/xapi/commandeventmapping', '/xapi/docker/server', '/xapi/docker/hubs'];
  for (const path of jsonRoutes) {
    const r = await call(s.url, 'POST', path, { headers: { ...admin, 'content-type': 'application/json' }, body: '{"name": "x",\n "oops" }' });
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match((r.body as { message: string }).message, /position \d+|line \d+|column \d+/, path);
  }
  const text = await call(s.url, 'POST', '/xapi/commands', { headers: { ...admin, 'content-type': 'text/plain' }, body: JSON.stringify(COMMAND) });
  assert.equal(text.status, 415, text.text);
  const big = JSON.stringify({ ...COMMAND, name: 'big', description: 'x'.repeat(17 * 1024 * 1024) });
  const r = await call(s.url, 'POST', '/xapi/commands', { headers: { ...admin, 'content-type': 'application/json' }, body: big });
  assert.equal(r.status, 413, r.text.slice(0, 200));
  assert.match((r.body as { message: string }).message, /too large/i);
  assert.equal(await state(), before);
});
