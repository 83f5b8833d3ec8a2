// Run tokens confined to their run (security issue, item 6), with a real server (port 0) and real containers:
// the XNAT_USER/XNAT_PASS of a run launched by a user who owns two projects reads its own project, writes only
// below the object it was launched on, launches within its project, opens a session that keeps its scope — and
// is refused everything else: minting tokens, users and roles, project members and settings, site settings,
// commands, another project. It lives as long as the run's max-runtime allows and dies (with its session) when
// the run ends. A container calling back (session, listing, upload) still completes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { aliasTokenCredentials } from '../src/runtime/index.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { basic, call, type Reply } from './xapi-helpers.ts';

let dir: string;
let server: RunningServer;
let session = '';
let otherSession = '';
let runId = 0;
let token: Record<string, string> = {};
let sessionWrapper = 0;
const ADMIN = basic('admin', 'admin-pw');
const ALICE = basic('alice', 'alice-pw');
const admin = jsonApi(() => server.url, ADMIN);

function command(name: string, context: string, input: { name: string; type: string }, commandLine: string, extra: Record<string, unknown> = {}): unknown {
  return {
    name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
    ...extra, xnat: [{ name: `${name}-w`, contexts: [context], 'external-inputs': [{ ...input, required: true }] }],
  };
}

async function status(id: number): Promise<string> {
  return ((await call(server.url, 'GET', `/xapi/containers/${id}`, { headers: ADMIN })).body as { status: string }).status;
}

async function waitFor(id: number, done: (s: string) => boolean): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const s = await status(id);
    if (done(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} stayed ${await status(id)}`);
}

const as = (headers: Record<string, string>) => (method: string, path: string, opts: { json?: unknown; body?: string } = {}): Promise<Reply> =>
  call(server.url, method, path, { headers, ...opts });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-sec-run-token-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  const { archive, users } = server.opened;
  await users.addUser({ login: 'alice', password: 'alice-pw' });
  await users.addUser({ login: 'bob', password: 'bob-pw' });
  for (const p of ['P', 'Q']) {
    await archive.createProject({ id: p }, 'admin');
    await users.setRole(p, 'alice', 'owner');
  }
  const s = await archive.createSubject('P', { label: 'S' }, 'admin');
  session = (await archive.createSession(s.id, { label: 'E' }, 'admin')).id;
  otherSession = (await archive.createSession(s.id, { label: 'E2' }, 'admin')).id;
  for (const scan of ['1', '2']) {
    await archive.createScan(session, { id: scan }, 'admin');
    await archive.createResource({ kind: 'scan', session, scan }, { label: 'CB' }, 'admin');
  }
  const q = await archive.createSubject('Q', { label: 'QS' }, 'admin');
  await archive.createSession(q.id, { label: 'QE' }, 'admin');
  sessionWrapper = await registerEnabled(admin, command('quick', 'xnat:imageSessionData', { name: 'session', type: 'Session' }, 'true'));
  for (const p of ['Q']) await admin('PUT', `/xapi/projects/${p}/wrappers/${sessionWrapper}/enabled`);

  // Alice launches a run on scan 1 of E; its token is the one the engine gave the container.
  const wrapper = await registerEnabled(admin, command('sleeper', 'xnat:imageScanData', { name: 'scan', type: 'Scan' }, 'sleep 300',
    { 'max-runtime': '10m' }));
  const r = await call(server.url, 'POST', `/xapi/wrappers/${wrapper}/root/scan/launch`,
    { headers: ALICE, json: { scan: `/archive/experiments/${session}/scans/1` } });
  assert.equal(r.status, 200, r.text);
  runId = (r.body as { id: number }).id;
  await waitFor(runId, (st) => st === 'Running' || /^(Complete|Failed|Killed)/.test(st));
  const run = server.engine!.store.require(runId);
  assert.ok(run.tokenAlias && run.secrets[0]);
  token = basic(run.tokenAlias, run.secrets[0]);
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('a run token reads its project and writes only below the object it was launched on', async () => {
  const t = as(token);
  assert.equal((await t('GET', '/data/projects/P/subjects?format=json')).status, 200);
  assert.equal((await t('GET', `/data/experiments/${otherSession}?format=json`)).status, 200, 'reads the whole project');
  assert.equal((await t('GET', `/xapi/containers/${runId}`)).status, 200, 'its own container record');
  assert.equal((await t('GET', '/xapi/commands')).status, 200);
  const own = `/data/experiments/${session}/scans/1/resources`;
  assert.ok([200, 201].includes((await t('PUT', `${own}/OUT`)).status));
  assert.equal((await t('PUT', `${own}/CB/files/a.txt?inbody=true`, { body: 'from the run' })).status, 200);
  // Writes elsewhere in its own project: refused.
  const refused: Array<[string, string]> = [
    ['PUT', `/data/experiments/${session}/scans/2/resources/CB/files/a.txt?inbody=true`],
    ['PUT', `/data/experiments/${session}/scans/2/resources/NEW`],
    ['PUT', '/data/projects/P/subjects/S2'],
    ['PUT', `/data/experiments/${otherSession}?label=renamed`],
    ['DELETE', `/data/experiments/${otherSession}`],
  ];
  for (const [method, path] of refused) {
    const r = await t(method, path, method === 'PUT' && path.includes('files') ? { body: 'x' } : {});
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
  }
  const files = await server.opened.archive.listResources({ kind: 'scan', session, scan: '2' });
  assert.deepEqual(files.map((f) => f.label), ['CB']);
  assert.equal((await server.opened.archive.listFiles(files[0].id)).length, 0);
});

test('a run token cannot reach another project its user owns', async () => {
  const t = as(token);
  const listed = await t('GET', '/data/projects?format=json');
  assert.equal(listed.status, 200);
  assert.doesNotMatch(listed.text, /"Q"/);
  for (const [method, path] of [['GET', '/data/projects/Q'], ['GET', '/data/projects/Q/subjects'], ['PUT', '/data/projects/Q/subjects/X'],
    ['GET', '/data/projects/Q/experiments/QE'], ['GET', '/xapi/projects/Q/commands/available?xsiType=xnat:mrSessionData']]) {
    assert.equal((await t(method, path)).status, 404, `${method} ${path}`);
  }
  const launch = await t('POST', `/xapi/projects/Q/wrappers/${sessionWrapper}/root/session/launch`, { json: { session: '/archive/projects/Q/experiments/QE' } });
  assert.equal(launch.status, 404, launch.text);
  assert.equal((await server.opened.archive.listSubjects('Q')).length, 1);
});

test('a run token mints no credentials and changes no user, role, member, project setting or site setting', async () => {
  const t = as(token);
  const refused: Array<[string, string, unknown?]> = [
    ['GET', '/data/services/tokens/issue'],
    ['POST', '/xapi/users', { username: 'mallory', password: 'x' }],
    ['PUT', '/xapi/users/alice', { firstName: 'Mallory' }],
    ['PUT', '/xapi/users/alice', { password: 'taken-over' }],
    ['PUT', '/xapi/users/alice/roles/ContainerManager'],
    ['PUT', '/data/projects/P/users/Owners/bob'],
    ['DELETE', '/data/projects/P/users/Owners/alice'],
    ['PUT', '/data/projects/P/accessibility/public'],
    ['PUT', '/data/projects/P?accessibility=public'],
    ['DELETE', '/data/projects/P'],
    ['PUT', '/data/projects/NEWPROJ'],
    ['POST', '/xapi/docker/server', { name: 'evil', host: 'tcp://127.0.0.1:1' }],
    ['POST', '/xapi/jms_queues', { concurrencyMaxStagingQueue: 1 }],
    ['POST', '/xapi/commands', command('evil', 'xnat:imageScanData', { name: 'scan', type: 'Scan' }, 'true')],
    ['PUT', `/xapi/projects/P/wrappers/${sessionWrapper}/disabled`],
    ['PUT', `/xapi/wrappers/${sessionWrapper}/disabled`],
  ];
  for (const [method, path, json] of refused) {
    const r = await t(method, path, json === undefined ? {} : { json });
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
  }
  const tokenIssue = await t('GET', '/data/services/tokens/issue');
  assert.match(tokenIssue.text, /a run's token may not issue tokens/);
  // Nothing changed.
  assert.equal(await server.opened.users.roleOf('bob', 'P'), undefined);
  assert.equal(await server.opened.users.roleOf('alice', 'P'), 'owner');
  assert.equal(await server.opened.users.accessibilityOf('P'), 'private');
  assert.equal(await server.opened.users.getUser('mallory'), undefined);
  assert.equal((await server.opened.users.getUser('alice'))!.firstName, '');
  assert.equal((await call(server.url, 'GET', '/data/projects', { headers: ALICE })).status, 200, 'the password is unchanged');
  const wrapper = await call(server.url, 'GET', `/xapi/projects/P/wrappers/${sessionWrapper}/enabled`, { headers: ADMIN });
  assert.match(wrapper.text, /true/);
});

test('an administrator\'s run token (issued through the runtime port) is not an administrator', async () => {
  const port = aliasTokenCredentials(server.opened.users, server.opened.archive);
  const t = await port.issue('admin', 60, { run: '9999', project: 'P', roots: [`/archive/experiments/${session}/scans/1`] });
  const call2 = as(basic(t.alias, t.secret));
  assert.equal((await call2('GET', '/data/projects/P/subjects')).status, 200, 'reads its project as its administrator would');
  for (const [method, path] of [['GET', '/xapi/users'], ['POST', '/xapi/docker/server'], ['GET', '/xapi/users/alice'],
    ['PUT', '/xapi/users/alice/roles/ContainerManager'], ['GET', '/data/services/tokens/issue']]) {
    assert.equal((await call2(method, path, method === 'POST' ? { json: {} } : {})).status, 403, `${method} ${path}`);
  }
  assert.equal((await call2('GET', '/data/projects/Q/subjects')).status, 404);
  await port.invalidate(t.alias);
});

test('a run token launches within its project, and its session keeps its scope', async () => {
  const t = as(token);
  const launched = await t('POST', `/xapi/projects/P/wrappers/${sessionWrapper}/root/session/launch`,
    { json: { session: `/archive/experiments/${otherSession}` } });
  assert.equal(launched.status, 200, launched.text);
  assert.equal(await waitFor((launched.body as { id: number }).id, (st) => /^(Complete|Failed|Killed)/.test(st)), 'Complete');
  const opened = await t('POST', '/data/JSESSION');
  assert.equal(opened.status, 200);
  const c = as({ cookie: `JSESSIONID=${opened.text}` });
  assert.equal((await c('GET', '/data/projects/P/subjects')).status, 200);
  assert.equal((await c('GET', '/data/projects/Q/subjects')).status, 404);
  assert.equal((await c('GET', '/data/services/tokens/issue')).status, 403);
  assert.equal((await c('PUT', `/data/experiments/${session}/scans/2/resources/NEW2`)).status, 403);
  assert.equal((await c('PUT', '/data/projects/P/users/Owners/bob')).status, 403);
});

/** pyxnat as a calling-back tool would use it (it opens a JSESSION on its first call), with the run's token. */
const PYXNAT = `
import sys, tempfile
from pyxnat import Interface
url, user, password, session = sys.argv[1:5]
x = Interface(server=url, user=user, password=password)
print('subjects', sorted(x.select.project('P').subjects().get()), flush=True)
print('Q visible', x.select.project('Q').exists(), flush=True)
path = tempfile.mktemp()
open(path, 'w').write('from pyxnat')
e = x.select.project('P').subject('S').experiment('E')
e.scan('1').resource('CB').file('py.txt').put(path)
print('own scan upload', e.scan('1').resource('CB').file('py.txt').exists(), flush=True)
try:
    e.scan('2').resource('CB').file('py.txt').put(path)
    print('other scan upload allowed', flush=True)
except Exception as e:
    print('other scan upload refused', flush=True)
`;

test('pyxnat with a run token: reads its project, uploads below its root, is refused elsewhere', async () => {
  const run = server.engine!.store.require(runId);
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn('/usr/bin/python3', ['-c', PYXNAT, server.url, run.tokenAlias!, run.secrets[0], session], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { text += d.toString(); });
    p.on('close', (c) => resolve({ code: c, out: text }));
  });
  assert.equal(code, 0, out);
  assert.match(out, /^subjects \['\w+'\]$/m, out);
  assert.match(out, /^Q visible False$/m, out);
  assert.match(out, /^own scan upload True$/m, out);
  assert.match(out, /^other scan upload refused$/m, out);
  const scan2 = (await server.opened.archive.listResources({ kind: 'scan', session, scan: '2' })).find((r) => r.label === 'CB')!;
  assert.equal((await server.opened.archive.listFiles(scan2.id)).length, 0);
});

test('a run token lives as long as the run may, and dies with its sessions when the run ends', async () => {
  const alias = server.engine!.store.require(runId).tokenAlias!;
  const row = await sql<{ expires: number }>`SELECT expires FROM alias_tokens WHERE alias = ${alias}`.execute(server.opened.db);
  const left = row.rows[0].expires - Date.now();
  // max-runtime 10m plus an hour's grace for setups, wrapups and finalization; not the 48 hours of other tokens.
  assert.ok(left <= (600 + 3600) * 1000 && left > 3600 * 1000, `lifetime ${left} ms`);
  const cookie = (await as(token)('POST', '/data/JSESSION')).text;
  assert.equal((await call(server.url, 'GET', '/data/projects/P', { headers: { cookie: `JSESSIONID=${cookie}` } })).status, 200);
  assert.equal((await call(server.url, 'POST', `/xapi/containers/${runId}/kill`, { headers: ALICE })).status, 200);
  await waitFor(runId, (st) => /^(Complete|Failed|Killed)/.test(st));
  for (let i = 0; i < 100 && !server.engine!.store.require(runId).cleanedUp; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await as(token)('GET', '/data/projects/P')).status, 401);
  assert.equal((await call(server.url, 'GET', '/data/projects/P', { headers: { cookie: `JSESSIONID=${cookie}` } })).status, 401);
});

test('a container calling back opens a session, lists its project and uploads to its scan, but not to another', async () => {
  const script = [
    'AUTH=$(printf "%s:%s" "$XNAT_USER" "$XNAT_PASS" | base64 | tr -d "\\n")',
    'C=$(wget -q -O - --header "Authorization: Basic $AUTH" "$XNAT_HOST/data/JSESSION") || exit 11',
    'wget -q -O /dev/null --header "Cookie: JSESSIONID=$C" "$XNAT_HOST/data/projects/P/subjects?format=json" || exit 12',
    'echo hello > /dev/shm/f',
    'wget -q -O /dev/null --header "Cookie: JSESSIONID=$C" --post-file /dev/shm/f "$XNAT_HOST/data/experiments/#S#/scans/1/resources/CB/files/cb.txt?inbody=true" || exit 13',
    'if wget -q -O /dev/null --header "Cookie: JSESSIONID=$C" --post-file /dev/shm/f "$XNAT_HOST/data/experiments/#S#/scans/2/resources/CB/files/cb.txt?inbody=true"; then exit 14; fi',
    'if wget -q -O /dev/null --header "Authorization: Basic $AUTH" "$XNAT_HOST/data/services/tokens/issue"; then exit 15; fi',
    'echo "session $C"',
  ].join('; ').replaceAll('#S#', session);
  // The site lets commands ask for the host network (they are refused otherwise: site-settings.test.ts).
  const server0 = await admin<Record<string, unknown>>('GET', '/xapi/docker/server');
  await admin('POST', '/xapi/docker/server', { ...server0, 'allowed-command-networks': ['host'] });
  const wrapper = await registerEnabled(admin, command('caller', 'xnat:imageScanData', { name: 'scan', type: 'Scan' }, script, { network: 'host' }));
  const r = await call(server.url, 'POST', `/xapi/wrappers/${wrapper}/root/scan/launch`,
    { headers: ALICE, json: { scan: `/archive/experiments/${session}/scans/1` } });
  assert.equal(r.status, 200, r.text);
  const id = (r.body as { id: number }).id;
  const end = await waitFor(id, (st) => /^(Complete|Failed|Killed)/.test(st));
  const stdout = (await call(server.url, 'GET', `/xapi/containers/${id}/logs/stdout`, { headers: ADMIN })).text;
  assert.equal(end, 'Complete', `${stdout} ${(await call(server.url, 'GET', `/xapi/containers/${id}`, { headers: ADMIN })).text}`);
  const resources = await server.opened.archive.listResources({ kind: 'scan', session, scan: '1' });
  const cb = resources.find((x) => x.label === 'CB')!;
  assert.ok((await server.opened.archive.listFiles(cb.id)).some((f) => f.name === 'cb.txt'));
  // The session the container opened ended with its run.
  const cookie = /session (\S+)/.exec(stdout)![1];
  for (let i = 0; i < 100 && !server.engine!.store.require(id).cleanedUp; i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal((await call(server.url, 'GET', '/data/projects/P', { headers: { cookie: `JSESSIONID=${cookie}` } })).status, 401);
});
