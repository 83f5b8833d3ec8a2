// Containers over real HTTP with the real engine and Docker (reference §5.4, §6.3, §2.1, §3.10): paged and
// filtered listings on seeded records, visibility, masking, deletion, by-name lookups; launch applying the
// site/project wrapper configuration and the sensitive mask; queue settings changing engine limits live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import type { RunEngine } from '../src/runtime/index.ts';
import { seedRuns } from '../scripts/seed-runs.ts';
import { basic, call, type Reply } from './xapi-helpers.ts';
import { removeInstanceContainers } from './helpers/runs.ts';

const SEEDED = 120;
let dir: string;
let server: RunningServer;
let engine: RunEngine;
let sessionUri: string;
const admin = basic('admin', 'admin-pw');
const u0 = basic('u0', 'pw-u0');
const u1 = basic('u1', 'pw-u1');
const carol = basic('carol', 'pw-carol');
const nobody = basic('nobody', 'pw-nobody');

interface Container {
  id: number; status: string; project: string | null; 'user-id': string; 'command-id': number; 'wrapper-id': number;
  'container-name': string; 'command-line': string; inputs: Array<{ type: string; name: string; value: string; sensitive: boolean }>;
}

const req = (method: string, path: string, headers: Record<string, string>, json?: unknown): Promise<Reply> => call(server.url, method, path, { headers, json });

async function list(path: string, who = admin): Promise<{ items: Container[]; total: number; link: string | null; text: string }> {
  const r = await fetch(server.url + path, { headers: who });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return { items: JSON.parse(text) as Container[], total: Number(r.headers.get('x-total-count')), link: r.headers.get('link'), text };
}

async function waitFor(id: number, ok: (status: string) => boolean): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const s = engine.get(id)?.status ?? '';
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} stayed ${engine.get(id)?.status}`);
}

async function registerEnabled(body: Record<string, unknown>): Promise<number> {
  const r = await req('POST', '/xapi/commands', admin, body);
  assert.equal(r.status, 201, r.text);
  const wid = ((await req('GET', `/xapi/commands/${r.body as number}`, admin)).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await req('PUT', `/xapi/wrappers/${wid}/enabled`, admin)).status, 200);
  assert.equal((await req('PUT', `/xapi/projects/P0/wrappers/${wid}/enabled`, admin)).status, 200);
  return wid;
}

async function launch(wid: number, inputs: Record<string, string>): Promise<number> {
  const r = await req('POST', `/xapi/projects/P0/wrappers/${wid}/root/session/launch`, admin, { session: sessionUri, ...inputs });
  assert.equal(r.status, 200, r.text);
  return (r.body as { id: number }).id;
}

const sleeper = (name: string): Record<string, unknown> => ({
  name, version: '1', image: 'xcs-test/busybox:latest', 'command-line': 'sleep 30', 'override-entrypoint': true,
  xnat: [{ name: `${name}-w`, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }] }],
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-xapi-containers-'));
  seedRuns(join(dir, 'data'), SEEDED, { projects: 3, users: 4 });
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  engine = server.engine!;
  assert.ok(engine, 'the container service runs');
  const { users, archive } = server.opened;
  for (const login of ['u0', 'u1', 'carol', 'nobody']) await users.addUser({ login, password: `pw-${login}` });
  for (const p of ['P0', 'P1', 'P2']) await archive.createProject({ id: p }, 'admin');
  await users.setRole('P0', 'u0', 'owner');
  await users.setRole('P1', 'u1', 'member');
  assert.ok((await req('PUT', '/xapi/users/carol/roles/ContainerManager', admin)).status < 300);
  const subject = await archive.createSubject('P0', { label: 'S' }, 'admin');
  sessionUri = `/archive/experiments/${(await archive.createSession(subject.id, { label: 'E', xsiType: 'xnat:mrSessionData' }, 'admin')).id}`;
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('the listing is a plain array, newest first, one page of 50 with the total and the next page in headers', async () => {
  const first = await list('/xapi/containers');
  assert.equal(first.items.length, 50);
  assert.equal(first.total, SEEDED);
  assert.deepEqual(first.items.map((c) => c.id), Array.from({ length: 50 }, (_, i) => SEEDED - i));
  assert.match(first.link ?? '', /<\/xapi\/containers\?page=2&pageSize=50>; rel="next"/);
  const last = await list('/xapi/containers?page=3&pageSize=50');
  assert.deepEqual(last.items.map((c) => c.id), Array.from({ length: 20 }, (_, i) => 20 - i));
  assert.equal(last.link, null);
  assert.equal((await list('/xapi/containers?all=true')).items.length, SEEDED);
  for (const bad of ['pageSize=0', 'pageSize=1001', 'page=0', 'page=x']) {
    assert.equal((await req('GET', `/xapi/containers?${bad}`, admin)).status, 400, bad);
  }
});

test('filters: project, status, command-id, wrapper-id, user, and the project path', async () => {
  const all = (await list('/xapi/containers?all=true')).items;
  const check = async (q: string, keep: (c: Container) => boolean): Promise<void> => {
    const got = await list(`/xapi/containers?all=true&${q}`);
    const want = all.filter(keep).map((c) => c.id);
    assert.ok(want.length > 0 && want.length < all.length, q);
    assert.deepEqual(got.items.map((c) => c.id), want, q);
    assert.equal(got.total, want.length, q);
  };
  await check('project=P1', (c) => c.project === 'P1');
  await check('status=Failed', (c) => c.status === 'Failed');
  await check('status=Complete,Failed&user=u2', (c) => c['user-id'] === 'u2');
  await check('command-id=2', (c) => c['command-id'] === 2);
  await check('wrapper-id=11&project=P2', (c) => c['wrapper-id'] === 11 && c.project === 'P2');
  await check('user=u1', (c) => c['user-id'] === 'u1');
  const proj = await list('/xapi/projects/P2/containers?pageSize=5');
  assert.equal(proj.total, all.filter((c) => c.project === 'P2').length);
  assert.ok(proj.items.length === 5 && proj.items.every((c) => c.project === 'P2'));
  assert.equal((await list('/xapi/containers?nonfinalized=true')).total, 0, 'every seeded run is finished');
});

test('users list only what they launched or own; container managers list everything', async () => {
  const owner = await list('/xapi/containers?all=true', u0);
  assert.ok(owner.items.length > 0);
  assert.ok(owner.items.every((c) => c['user-id'] === 'u0' || c.project === 'P0'));
  assert.ok(owner.items.some((c) => c['user-id'] !== 'u0'), 'a project owner sees runs of others in the project');
  const member = await list('/xapi/containers?all=true', u1);
  assert.ok(member.items.length > 0 && member.items.every((c) => c['user-id'] === 'u1'), 'a member sees only own runs');
  assert.equal(member.total, member.items.length);
  const none = await list('/xapi/containers', nobody);
  assert.deepEqual([none.items, none.total], [[], 0]);
  assert.equal((await list('/xapi/containers', carol)).total, SEEDED);
  assert.equal((await call(server.url, 'GET', '/xapi/containers')).status, 401);
});

test('sensitive values are masked in listings, single records and by-name lookups', async () => {
  const { text, items } = await list('/xapi/containers?all=true');
  assert.doesNotMatch(text, /seed-secret/);
  const withSecret = items.find((c) => c.id === 1)!;
  const token = withSecret.inputs.find((i) => i.name === 'token');
  assert.deepEqual([token?.type, token?.value, token?.sensitive], ['wrapper-external', '*****', true]);
  assert.equal(withSecret.inputs.some((i) => i.type === 'raw'), false, 'raw inputs are dropped when any input is sensitive');
  for (const path of ['/xapi/containers/1', '/xapi/container/name/xcs-seed-run-1', '/xapi/projects/P0/containers/name/xcs-seed-run-1']) {
    const r = await req('GET', path, admin);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.doesNotMatch(r.text, /seed-secret/, path);
    assert.match(r.text, /"command-line":"echo run 0 --token \*+"/, path);
  }
});

test('by name: container managers site-wide; project form needs project read and scrubs for non-owners', async () => {
  assert.equal((await req('GET', '/xapi/container/name/xcs-seed-run-2', carol)).status, 200);
  assert.equal((await req('GET', '/xapi/container/name/xcs-seed-run-2', u0)).status, 403);
  assert.equal((await req('GET', '/xapi/container/name/no-such-name', admin)).status, 404);
  // Run id r (i = r - 1) is in project P{i % 3}, launched by u{i % 4}: run 2 is u1's in P1, run 5 u0's in P1.
  const own = await req('GET', '/xapi/projects/P1/containers/name/xcs-seed-run-2', u1);
  assert.equal((own.body as Container)['command-line'], 'echo run 1');
  const other = await req('GET', '/xapi/projects/P1/containers/name/xcs-seed-run-5', u1);
  assert.equal(other.status, 200);
  assert.equal((other.body as Container)['command-line'], '[REDACTED]', 'scrubbed: u1 neither launched it nor owns P1');
  assert.equal((await req('GET', '/xapi/projects/P1/containers/name/xcs-seed-run-2', u0)).status, 404);
  assert.equal((await req('GET', '/xapi/projects/P0/containers/name/xcs-seed-run-2', admin)).status, 404, 'name is looked up in the project only');
});

test('delete: only the launcher, a project owner or a manager; only finished runs; the record and its logs go', async () => {
  // Run 4 (i = 3): project P0 (owned by u0), launched by u3, Failed.
  const logs = join(dir, 'data', 'runs', '4', 'logs');
  await mkdir(logs, { recursive: true });
  await writeFile(join(logs, 'stdout.log'), 'saved\n');
  // u1 cannot read P0: the run answers like a missing one; a reader of P0 who did not launch it is refused.
  const hidden = await req('DELETE', '/xapi/containers/4', u1);
  assert.equal(hidden.status, 404);
  assert.equal(hidden.text, (await req('DELETE', '/xapi/containers/999999', u1)).text.replaceAll('999999', '4'));
  await server.opened.users.setRole('P0', 'u1', 'collaborator');
  assert.equal((await req('DELETE', '/xapi/containers/4', u1)).status, 403);
  await server.opened.users.setRole('P0', 'u1', null);
  assert.equal((await req('GET', '/xapi/containers/4', admin)).status, 200, 'a refused delete keeps the record');
  assert.equal((await req('DELETE', '/xapi/containers/4', u0)).status, 204);
  assert.equal((await req('GET', '/xapi/containers/4', admin)).status, 404);
  assert.equal(existsSync(join(dir, 'data', 'runs', '4')), false, 'saved logs are removed');
  assert.equal(engine.history(4).length, 0);
  assert.equal((await req('DELETE', '/xapi/containers/4', admin)).status, 404);
  assert.equal((await list('/xapi/containers')).total, SEEDED - 1);

  const wid = await registerEnabled(sleeper('del-live'));
  const id = await launch(wid, {});
  await waitFor(id, (s) => s === 'Running');
  assert.ok((await list('/xapi/containers?nonfinalized=true')).items.some((c) => c.id === id));
  const live = await req('DELETE', `/xapi/containers/${id}`, admin);
  assert.equal(live.status, 409, live.text);
  assert.equal((await req('POST', `/xapi/containers/${id}/kill`, admin)).status, 200);
  await waitFor(id, (s) => s === 'Killed');
  assert.equal((await req('DELETE', `/xapi/containers/${id}`, admin)).status, 204);
  assert.equal(engine.get(id), undefined);
});

test('launch applies the site and project configuration; the sensitive mask means "use the configured value"', async () => {
  const wid = await registerEnabled({
    name: 'cfg', version: '1', image: 'xcs-test/busybox:latest', 'command-line': 'echo #MSG# #TOKEN#', 'override-entrypoint': true,
    inputs: [
      { name: 'msg', type: 'string', 'replacement-key': '#MSG#', 'default-value': 'cmd-default' },
      { name: 'token', type: 'string', 'replacement-key': '#TOKEN#', sensitive: true, 'default-value': 'tok-cmd-123' },
    ],
    mounts: [{ name: 'out', writable: true, path: '/out' }],
    outputs: [{ name: 'o', mount: 'out', required: false }],
    xnat: [{ name: 'cfg-w', contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'output-handlers': [{ name: 'o-h', 'accepts-command-output': 'o', 'as-a-child-of': 'session', type: 'Resource', label: 'CMDLABEL' }] }],
  });
  const site = await req('POST', `/xapi/wrappers/${wid}/config`, admin,
    { inputs: { msg: { 'default-value': 'site-default' }, token: { 'default-value': 'tok-site-456' } }, outputs: { 'o-h': { label: 'SITELABEL' } } });
  assert.equal(site.status, 201, site.text);
  const spec = (id: number) => engine.get(id)!.spec;
  const a = await launch(wid, { token: '*****' });
  assert.equal(spec(a)['command-line'], 'echo site-default tok-site-456');
  assert.equal(spec(a).outputs[0].label, 'SITELABEL');
  const proj = await req('POST', `/xapi/projects/P0/wrappers/${wid}/config`, admin, { inputs: { msg: { 'default-value': 'proj-default' } } });
  assert.equal(proj.status, 201, proj.text);
  const b = await launch(wid, {});
  assert.equal(spec(b)['command-line'], 'echo proj-default tok-site-456');
  const c = await launch(wid, { msg: 'given', token: 'tok-given-789' });
  assert.equal(spec(c)['command-line'], 'echo given tok-given-789', 'values given at launch still win');
  const shown = await req('GET', `/xapi/containers/${c}`, admin);
  assert.doesNotMatch(shown.text, /tok-given-789/);
  for (const id of [a, b, c]) await waitFor(id, (s) => /^(Complete|Failed|Killed)/.test(s));
});

test('queue settings change the engine limits live', async () => {
  const wid = await registerEnabled(sleeper('limits'));
  assert.equal((await req('POST', '/xapi/jms_queues', admin, { concurrencyMaxStagingQueue: 1 })).status, 200);
  assert.equal(engine.config.maxRunning, 1);
  const first = await launch(wid, {});
  await waitFor(first, (s) => s === 'Running');
  const second = await launch(wid, {});
  // With one slot taken, the second run cannot leave the queue however long it waits.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(engine.get(second)?.status, 'Queued');
  assert.equal((await req('POST', '/xapi/jms_queues', admin, { concurrencyMaxStagingQueue: 4, concurrencyMaxFinalizingQueue: 3 })).status, 200);
  assert.equal(engine.config.maxFinalizing, 3);
  await waitFor(second, (s) => s === 'Running');
  assert.equal(engine.get(first)?.status, 'Running', 'the second started while the first still ran');
  for (const id of [first, second]) await req('POST', `/xapi/containers/${id}/kill`, admin);
  for (const id of [first, second]) await waitFor(id, (s) => /^(Complete|Failed|Killed)/.test(s));
});
