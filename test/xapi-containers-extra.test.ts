// GET /xapi/containers/version, XNAT's paginated request (POST /xapi/containers) and the zip of a container's
// logs (GET /xapi/containers/{id}/logs), over real HTTP with the real engine and Docker (reference §3.9, §5.4,
// §6.3, §6.5). Seeded records for paging, filters and scrubbing; real runs for the logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import type { RunEngine } from '../src/runtime/index.ts';
import { seedRuns } from '../scripts/seed-runs.ts';
import { basic, call, type Reply } from './xapi-helpers.ts';
import { removeInstanceContainers } from './helpers/runs.ts';
import { zipEntries } from './helpers/zip.ts';

const SEEDED = 120;
let dir: string;
let server: RunningServer;
let engine: RunEngine;
let sessionUri: string;
const admin = basic('admin', 'admin-pw');
const u0 = basic('u0', 'pw-u0');
const u1 = basic('u1', 'pw-u1');
const m0 = basic('m0', 'pw-m0');
const carol = basic('carol', 'pw-carol');
const nobody = basic('nobody', 'pw-nobody');

interface Container {
  id: number; status: string; project: string | null; 'user-id': string; 'command-id': number; 'wrapper-id': number;
  'container-name'?: string; 'command-line': string; 'docker-image': string; 'status-time': string;
  history: unknown[]; env: Record<string, string>; inputs: unknown[]; mounts: unknown[]; outputs: unknown[];
  'container-labels': Record<string, string>;
}

const req = (method: string, path: string, headers: Record<string, string>, json?: unknown): Promise<Reply> => call(server.url, method, path, { headers, json });

/** POST /xapi/containers, expecting 200: the page and the total. */
async function search(body: unknown, who = admin): Promise<{ items: Container[]; total: number }> {
  const r = await fetch(`${server.url}/xapi/containers`, { method: 'POST', headers: { ...who, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 200, `${JSON.stringify(body)}: ${text}`);
  const items = JSON.parse(text) as Container[];
  assert.ok(Array.isArray(items));
  return { items, total: Number(r.headers.get('x-total-count')) };
}

/** Every seeded record as GET /xapi/containers?all=true lists it for the admin (newest first). */
async function everything(): Promise<Container[]> {
  const r = await req('GET', '/xapi/containers?all=true', admin);
  assert.equal(r.status, 200);
  return r.body as Container[];
}

async function logsZip(id: number, who = admin): Promise<{ status: number; type: string | null; disposition: string | null; files: Map<string, string> | null }> {
  const r = await fetch(`${server.url}/xapi/containers/${id}/logs`, { headers: who });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'),
    files: r.status === 200 ? await zipEntries(body) : null };
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

const shellCommand = (name: string, commandLine: string, inputs: unknown[] = []): Record<string, unknown> => ({
  name, version: '1', image: 'xcs-test/busybox:latest', 'command-line': commandLine, 'override-entrypoint': true, inputs,
  xnat: [{ name: `${name}-w`, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }] }],
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-xapi-containers-extra-'));
  seedRuns(join(dir, 'data'), SEEDED, { projects: 3, users: 4 });
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  engine = server.engine!;
  assert.ok(engine, 'the container service runs');
  const { users, archive } = server.opened;
  for (const login of ['u0', 'u1', 'm0', 'carol', 'nobody']) await users.addUser({ login, password: `pw-${login}` });
  for (const p of ['P0', 'P1', 'P2']) await archive.createProject({ id: p }, 'admin');
  // Run id r (i = r - 1) is in project P{i % 3}, launched by u{i % 4}.
  await users.setRole('P0', 'u0', 'owner');
  await users.setRole('P1', 'u1', 'member');
  await users.setRole('P0', 'm0', 'member');
  assert.ok((await req('PUT', '/xapi/users/carol/roles/ContainerManager', admin)).status < 300);
  const subject = await archive.createSubject('P0', { label: 'S' }, 'admin');
  sessionUri = `/archive/experiments/${(await archive.createSession(subject.id, { label: 'E', xsiType: 'xnat:mrSessionData' }, 'admin')).id}`;
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('GET /xapi/containers/version: any signed-in user, the version buildInfo claims; not taken for a container id', async () => {
  const build = await req('GET', '/xapi/siteConfig/buildInfo', admin);
  assert.equal(build.status, 200);
  for (const who of [admin, u1, nobody]) {
    const r = await req('GET', '/xapi/containers/version', who);
    assert.equal(r.status, 200, r.text);
    const v = r.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(v).sort(), ['compatible', 'message', 'xnatVersionDetected', 'xnatVersionRequired']);
    assert.equal(v.compatible, true);
    assert.equal(v.xnatVersionRequired, '1.8.5');
    assert.equal(v.xnatVersionDetected, (build.body as { version: string }).version);
    assert.equal(typeof v.message, 'string');
  }
  assert.equal((await req('GET', '/xapi/containers/version', {})).status, 401);
  // The parametric route still answers for ids (and for a name that merely starts like the static one).
  assert.equal(((await req('GET', '/xapi/containers/3', admin)).body as Container).id, 3);
  assert.equal((await req('GET', '/xapi/containers/versions', admin)).status, 404);
});

test('POST /xapi/containers: pages newest first by default, the total in X-Total-Count; sort by any column', async () => {
  const all = await everything();
  const first = await search({});
  assert.equal(first.total, SEEDED);
  assert.deepEqual(first.items.map((c) => c.id), all.slice(0, 50).map((c) => c.id));
  // The same records as the GET listing, field for field (full for a container manager).
  assert.deepEqual(first.items, all.slice(0, 50));
  const last = await search({ page: 3, size: 50, sort_col: 'timestamp', sort_dir: 'desc' });
  assert.deepEqual(last.items.map((c) => c.id), Array.from({ length: 20 }, (_, i) => 20 - i));
  assert.equal((await search({ page: 4, size: 50 })).items.length, 0);
  assert.deepEqual((await search({ size: 5, sort_col: 'id', sort_dir: 'ASC' })).items.map((c) => c.id), [1, 2, 3, 4, 5]);
  assert.deepEqual((await search({ page: '2', size: '3', sort_col: 'id', sort_dir: 'asc' })).items.map((c) => c.id), [4, 5, 6], 'digit strings, as Jackson reads them');
  const byUser = (await search({ size: 1000, sort_col: 'user-id', sort_dir: 'asc' })).items;
  const want = [...all].sort((a, b) => a['user-id'].localeCompare(b['user-id']) || a.id - b.id).map((c) => c.id);
  assert.deepEqual(byUser.map((c) => c.id), want);
  const byStatus = (await search({ size: 1000, sort_col: 'status', sort_dir: 'desc' })).items.map((c) => c.status);
  assert.deepEqual(byStatus, [...byStatus].sort().reverse());
  for (const col of ['project', 'command-id', 'wrapper-id', 'status-time', 'docker-image', 'container-name', 'container-id', 'exit-code']) {
    assert.equal((await search({ size: 1, sort_col: col })).total, SEEDED, col);
  }
});

test('POST /xapi/containers: like, eq/value, values, before/after filters, combined, in SQL', async () => {
  const all = await everything();
  const check = async (filters: Record<string, unknown>, keep: (c: Container) => boolean, label: string): Promise<void> => {
    const got = await search({ size: 1000, filters });
    const wantIds = all.filter(keep).map((c) => c.id);
    assert.ok(wantIds.length > 0 && wantIds.length < all.length, `${label}: a filter that keeps some`);
    assert.deepEqual(got.items.map((c) => c.id), wantIds, label);
    assert.equal(got.total, wantIds.length, label);
  };
  await check({ status: { like: 'fAiL' } }, (c) => c.status === 'Failed', 'like is a case-insensitive substring');
  await check({ project: { eq: 'P1' } }, (c) => c.project === 'P1', 'eq');
  await check({ project: { value: 'P2' } }, (c) => c.project === 'P2', 'value');
  await check({ project: { values: ['P0', 'P2'] } }, (c) => c.project === 'P0' || c.project === 'P2', 'values');
  await check({ 'command-id': { eq: 2 } }, (c) => c['command-id'] === 2, 'eq on a number');
  await check({ 'wrapper-id': { values: [10, '11'] }, project: { eq: 'P2' } }, (c) => [10, 11].includes(c['wrapper-id']) && c.project === 'P2', 'combined');
  await check({ 'user-id': { like: 'U3' } }, (c) => c['user-id'] === 'u3', 'user-id');
  await check({ id: { after: 100 } }, (c) => c.id > 100, 'after on a number');
  await check({ id: { before: 11, after: 2 } }, (c) => c.id > 2 && c.id < 11, 'before and after');
  await check({ 'container-name': { eq: 'xcs-seed-run-7' } }, (c) => c.id === 7, 'container-name');
  await check({ id: { like: '11' } }, (c) => String(c.id).includes('11'), 'like on a number');
  // No % or _ wildcards from the value: "run_1" matches nothing, "-run-1" the names that contain it.
  assert.equal((await search({ filters: { 'container-name': { like: 'run_1' } } })).total, 0);
  assert.equal((await search({ filters: { 'container-name': { like: '%' } } })).total, 0);
  assert.equal((await search({ filters: { 'docker-image': { like: 'BUSYBOX' } } })).total, SEEDED);
  assert.equal((await search({ filters: { 'docker-image': { eq: 'other:latest' } } })).total, 0);
  assert.equal((await search({ filters: { project: { values: [] } } })).total, 0);
  const now = Date.now();
  assert.equal((await search({ filters: { timestamp: { before: now + 60_000 } } })).total, SEEDED);
  assert.equal((await search({ filters: { timestamp: { after: new Date(now + 60_000).toISOString() } } })).total, 0);
  assert.equal((await search({ filters: { 'status-time': { after: '2000-01-01T00:00:00Z' } } })).total, SEEDED);
});

test('POST /xapi/containers: bad bodies answer 400 with the field path; unknown columns list the known ones', async () => {
  const bad = async (body: string, path: string | undefined, label: string, match?: RegExp): Promise<void> => {
    const r = await fetch(`${server.url}/xapi/containers`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body });
    const text = await r.text();
    assert.equal(r.status, 400, `${label}: ${text}`);
    const e = JSON.parse(text) as { path?: string; message: string };
    assert.equal(e.path, path, `${label}: ${text}`);
    if (match) assert.match(e.message, match, label);
  };
  await bad('{"page": 1,', undefined, 'not JSON', /not valid JSON/);
  await bad('[1, 2]', undefined, 'an array', /JSON object/);
  await bad('"page"', undefined, 'a string', /JSON object/);
  await bad('{"page": 0}', 'page', 'page 0');
  await bad('{"page": -1}', 'page', 'negative page');
  await bad('{"page": 1.5}', 'page', 'fractional page');
  await bad('{"page": "x"}', 'page', 'page as text');
  await bad('{"page": true}', 'page', 'page as boolean');
  await bad('{"size": 0}', 'size', 'size 0');
  await bad('{"size": 1001}', 'size', 'size over the maximum');
  await bad('{"size": [50]}', 'size', 'size as array');
  await bad('{"sort_col": "nosuch"}', 'sort_col', 'unknown sort column', /"nosuch".*status.*docker-image/);
  await bad('{"sort_col": 3}', 'sort_col', 'sort column as number');
  await bad('{"sort_dir": "up"}', 'sort_dir', 'sort direction');
  await bad('{"filters": []}', 'filters', 'filters as array');
  await bad('{"filters": {"colour": {"eq": "red"}}}', 'filters.colour', 'unknown filter column', /"colour".*user-id.*timestamp/);
  await bad('{"filters": {"status": "Complete"}}', 'filters.status', 'filter as plain value');
  await bad('{"filters": {"status": {}}}', 'filters.status', 'empty filter');
  await bad('{"filters": {"status": {"regex": "C.*"}}}', 'filters.status.regex', 'unknown filter kind', /like, eq, value, values, before, after/);
  await bad('{"filters": {"status": {"values": "Complete"}}}', 'filters.status.values', 'values not an array');
  await bad('{"filters": {"command-id": {"eq": "two"}}}', 'filters.command-id.eq', 'a word for a number');
  await bad('{"filters": {"command-id": {"values": [1, "x"]}}}', 'filters.command-id.values[1]', 'in a list');
  await bad('{"filters": {"status": {"like": {"a": 1}}}}', 'filters.status.like', 'like needs text');
  await bad('{"filters": {"status": {"before": 3}}}', 'filters.status.before', 'before on text');
  await bad('{"filters": {"timestamp": {"after": "yesterday-ish"}}}', 'filters.timestamp.after', 'unparsable time');
  // Empty bodies and the markers XNAT's filter objects carry are fine.
  const empty = await fetch(`${server.url}/xapi/containers`, { method: 'POST', headers: admin });
  assert.equal(empty.status, 200);
  assert.equal((JSON.parse(await empty.text()) as unknown[]).length, 50);
  assert.equal((await search({ filters: { status: { like: 'Complete', backend: 'hibernate' } }, extra: 1 })).total > 0, true);
});

test('POST /xapi/containers: readers get others\' runs scrubbed, the rest nothing; owners and managers see all in full', async () => {
  const all = await everything();
  // u1: member (not owner) of P1 — own runs in full, others' P1 runs scrubbed, nothing else.
  const member = await search({ size: 1000 }, u1);
  const mine = (c: Container): boolean => c['user-id'] === 'u1';
  const wantIds = all.filter((c) => mine(c) || c.project === 'P1').map((c) => c.id);
  assert.deepEqual(member.items.map((c) => c.id), wantIds);
  assert.equal(member.total, wantIds.length);
  const scrubbed = member.items.filter((c) => !mine(c));
  assert.ok(scrubbed.length > 0 && member.items.some(mine));
  for (const c of scrubbed) {
    assert.equal(c.project, 'P1');
    assert.equal(c['command-line'], '[REDACTED]', `run ${c.id}`);
    assert.deepEqual([c.env, c.mounts, c.inputs, c.outputs, c.history, c['container-labels']], [{}, [], [], [], [], {}]);
    assert.equal(c['container-name'], undefined, 'only the fields XNAT copies');
    assert.deepEqual(Object.keys(c).sort(), ['backend', 'command-id', 'command-line', 'container-labels', 'docker-image', 'env', 'history',
      'id', 'inputs', 'mounts', 'outputs', 'ports', 'project', 'status', 'status-time', 'user-id', 'wrapper-id']);
  }
  for (const c of member.items.filter(mine)) {
    assert.notEqual(c['command-line'], '[REDACTED]');
    assert.ok(c.history.length > 0, 'own runs in full, history included');
  }
  assert.doesNotMatch(JSON.stringify(member.items), /seed-secret/);
  // Filters and totals apply to what the caller may see.
  const filtered = await search({ filters: { project: { eq: 'P1' } }, size: 2 }, u1);
  assert.equal(filtered.total, all.filter((c) => c.project === 'P1').length);
  // u0 owns P0: every P0 run in full.
  const owner = await search({ size: 1000, filters: { project: { eq: 'P0' } } }, u0);
  assert.equal(owner.total, all.filter((c) => c.project === 'P0').length);
  assert.ok(owner.items.every((c) => c['command-line'] !== '[REDACTED]' && c.history.length > 0));
  assert.deepEqual((await search({}, nobody)), { items: [], total: 0 });
  assert.equal((await search({}, carol)).total, SEEDED);
  assert.equal((await req('POST', '/xapi/containers', {}, {})).status, 401);
  // A public project's runs reach every signed-in user, scrubbed.
  assert.equal((await req('PUT', '/data/projects/P2/accessibility/public', admin)).status < 300, true);
  try {
    const reader = await search({ size: 1000 }, nobody);
    assert.deepEqual(reader.items.map((c) => c.id), all.filter((c) => c.project === 'P2').map((c) => c.id));
    assert.ok(reader.items.every((c) => c['command-line'] === '[REDACTED]'));
    // The same request as before the change is not answered from the earlier (empty) page.
    assert.equal((await search({}, nobody)).total, reader.total);
  } finally {
    await req('PUT', '/data/projects/P2/accessibility/private', admin);
  }
});

test('GET /xapi/containers/{id}/logs: a zip of stdout.log and stderr.log, redacted as the single logs are; live runs too', async () => {
  const wid = await registerEnabled(shellCommand('zip-logs', 'echo out-line #TOKEN#; echo err-line #TOKEN# >&2',
    [{ name: 'token', type: 'string', 'replacement-key': '#TOKEN#', sensitive: true }]));
  const id = await launch(wid, { token: 'zip-secret-4711' });
  assert.equal(await waitFor(id, (s) => /^(Complete|Failed|Killed)/.test(s)), 'Complete');
  const z = await logsZip(id);
  assert.equal(z.status, 200);
  assert.equal(z.type, 'application/zip');
  assert.equal(z.disposition, `attachment; filename="${id}.zip"`);
  assert.deepEqual([...z.files!.keys()].sort(), ['stderr.log', 'stdout.log']);
  const single = async (file: string): Promise<string> => (await req('GET', `/xapi/containers/${id}/logs/${file}`, admin)).text;
  assert.equal(z.files!.get('stdout.log'), await single('stdout'));
  assert.equal(z.files!.get('stderr.log'), await single('stderr'));
  assert.match(z.files!.get('stdout.log')!, /^out-line \*+\n$/);
  assert.match(z.files!.get('stderr.log')!, /^err-line \*+\n$/);
  assert.doesNotMatch([...z.files!.values()].join(''), /zip-secret-4711/);

  // Same access as one log: launcher, project owner, manager; a reader who may not see it in full 403, others 404.
  assert.equal((await logsZip(id, u0)).status, 200);
  assert.equal((await logsZip(id, carol)).status, 200);
  assert.equal((await logsZip(id, m0)).status, 403);
  assert.equal((await logsZip(id, u1)).status, 404);
  assert.equal((await logsZip(id, nobody)).status, 404);
  assert.equal((await fetch(`${server.url}/xapi/containers/${id}/logs`)).status, 401);
  assert.equal((await logsZip(999_999)).status, 404);

  // A seeded run has no logs: an empty zip.
  const none = await logsZip(3);
  assert.equal(none.status, 200);
  assert.equal(none.files!.size, 0);

  // Only stdout written: only stdout.log.
  const outOnly = await launch(await registerEnabled(shellCommand('zip-out-only', 'echo only-out')), {});
  await waitFor(outOnly, (s) => /^(Complete|Failed|Killed)/.test(s));
  assert.deepEqual([...(await logsZip(outOnly)).files!.entries()], [['stdout.log', 'only-out\n']]);

  // A live run: what it wrote so far.
  const live = await launch(await registerEnabled(shellCommand('zip-live', 'echo live-out; echo live-err >&2; sleep 30')), {});
  await waitFor(live, (s) => s === 'Running');
  let files = new Map<string, string>();
  for (let i = 0; i < 100 && files.size < 2; i++) {
    files = (await logsZip(live)).files!;
    if (files.size < 2) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(Object.fromEntries(files), { 'stdout.log': 'live-out\n', 'stderr.log': 'live-err\n' });
  assert.equal((await req('POST', `/xapi/containers/${live}/kill`, admin)).status, 200);
  await waitFor(live, (s) => /^(Complete|Failed|Killed)/.test(s));
});
