// Retries and relaunch through the REST API (real server, archive, engine and Docker): a command whose JSON
// declares a retry policy fails once and completes on its retry, the attempts linked in the container JSON and its
// output uploaded once; POST /xapi/containers/{id}/relaunch (who may, 404/403/409, sensitive values reused and never
// shown, user = caller); bulk relaunch by ids and by filter; `xcs relaunch`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { stopWithContainers } from './helpers/runs.ts';

const PW = 'pw-relaunch-1';
const SECRET = 'R3launch-s3cret';
let s: TestServer;
let session: string;
const wrappers: Record<string, number> = {};
const as = (login: string): Record<string, string> => (login === 'admin' ? basic('admin', s.adminPassword) : basic(login, PW));

function command(name: string, commandLine: string, extra: Record<string, unknown> = {}, output = true): Record<string, unknown> {
  const c: Record<string, unknown> = {
    name, version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
    mounts: [{ name: 'out', writable: true, path: '/output' }],
    inputs: [{ name: 'token', 'replacement-key': '#TOKEN#', sensitive: true, required: false }],
    outputs: [{ name: 'result', mount: 'out', required: true }],
    xnat: [{
      name: `${name}-session`, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: name.toUpperCase() }],
    }],
    ...extra,
  };
  if (!output) {
    c.outputs = [];
    (c.xnat as Array<Record<string, unknown>>)[0]['output-handlers'] = [];
  }
  return c;
}

interface Container {
  id: number; status: string; 'user-id': string; attempt: number; 'retry-of': number | null; 'retried-by': number | null;
  'relaunch-of': number | null; 'max-runtime': string | null; 'maximum-attempts': number;
  inputs: Array<{ name: string; value: string }>; history: Array<{ status: string; message: string | null }>;
}

async function get(id: number, login = 'admin'): Promise<Container> {
  const r = await call(s.url, 'GET', `/xapi/containers/${id}`, { headers: as(login) });
  assert.equal(r.status, 200, r.text);
  return r.body as Container;
}

async function ended(id: number): Promise<Container> {
  for (let i = 0; i < 600; i++) {
    const c = await get(id);
    if (/^(Complete|Failed|Killed)/.test(c.status) && (c['retried-by'] !== null || !c.history.some((h) => h.status === 'Retry scheduled'))) return c;
    await sleep(100);
  }
  throw new Error(`run ${id} did not end`);
}

async function launch(name: string, login: string, params: Record<string, string> = {}): Promise<number> {
  const r = await call(s.url, 'POST', `/xapi/projects/P/wrappers/${wrappers[name]}/root/session/launch`, { headers: as(login), json: { session, ...params } });
  assert.equal(r.status, 200, r.text);
  return (r.body as { id: number }).id;
}

before(async () => {
  await ensureDockerHarness();
  s = await startTestServer();
  const { users, archive } = s.opened;
  for (const u of ['owner', 'member', 'collab', 'other']) await users.addUser({ login: u, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await archive.createProject({ id: 'Q' }, 'admin');
  await users.setRole('P', 'owner', 'owner');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'collab', 'collaborator');
  await users.setRole('Q', 'other', 'owner');
  const subject = await archive.createSubject('P', { label: 'S1' }, 'admin');
  session = (await archive.createSession(subject.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin')).archiveUri;
  const commands = [
    command('flaky', 'echo attempt $XCS_ATTEMPT > /output/out.txt; [ "$XCS_ATTEMPT" -ge 2 ] || exit 75',
      { retry: { 'maximum-attempts': 3, 'initial-interval': '100ms', 'retryable-exit-codes': [75] }, 'max-runtime': '10m' }),
    // No output: a relaunch on the same session could not create the same resource again.
    command('echo', 'echo #TOKEN# | md5sum', {}, false),
    command('broken', 'exit 3'),
    command('slow', 'sleep 30; echo late > /output/out.txt'),
  ];
  for (const c of commands) {
    const r = await call(s.url, 'POST', '/xapi/commands', { headers: as('admin'), json: c });
    assert.equal(r.status, 201, r.text);
    const wid = ((await call(s.url, 'GET', `/xapi/commands/${Number(r.body)}`, { headers: as('admin') })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
    assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: as('admin') })).status, 200);
    assert.equal((await call(s.url, 'PUT', `/xapi/projects/P/wrappers/${wid}/enabled`, { headers: as('admin') })).status, 200);
    wrappers[String(c.name)] = wid;
  }
});

after(async () => {
  await stopWithContainers(s);
});

test('a command declaring a retry policy fails once, completes on its retry, and uploads its output once', async () => {
  const first = await launch('flaky', 'member');
  const a1 = await ended(first);
  assert.equal(a1.status, 'Failed');
  assert.equal(a1.attempt, 1);
  assert.equal(a1['maximum-attempts'], 3);
  assert.equal(a1['max-runtime'], '10m');
  assert.ok(a1['retried-by'], 'the failed attempt names its retry');
  const a2 = await ended(a1['retried-by']);
  assert.equal(a2.status, 'Complete', JSON.stringify(a2.history));
  assert.equal(a2.attempt, 2);
  assert.equal(a2['retry-of'], first);
  assert.equal(a2['user-id'], 'member');
  assert.ok(a1.history.some((h) => h.message === `Retrying as container ${a2.id} (attempt 2 of 3) after exit-code`), JSON.stringify(a1.history));
  const files = await call(s.url, 'GET', `${session.replace('/archive', '/data')}/resources/FLAKY/files/out.txt`, { headers: as('admin') });
  assert.equal(files.status, 200, files.text);
  assert.equal(files.text, 'attempt 2\n', 'the output of the attempt that completed');
});

test('relaunch: the launcher, an owner or an admin start a new run as themselves; sensitive values reused, never shown', async () => {
  const original = await launch('echo', 'member', { token: SECRET });
  assert.equal((await ended(original)).status, 'Complete');
  const byMember = await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`, { headers: as('member') });
  assert.equal(byMember.status, 200, byMember.text);
  assert.ok(!byMember.text.includes(SECRET));
  const reply = byMember.body as { status: string; id: number; 'relaunch-of': number; 'wrapper-id': number };
  assert.equal(reply.status, 'success');
  assert.equal(reply['relaunch-of'], original);
  assert.equal(reply['wrapper-id'], wrappers.echo);
  const again = await ended(reply.id);
  assert.equal(again.status, 'Complete', JSON.stringify(again.history));
  assert.equal(again['relaunch-of'], original);
  assert.equal(again.attempt, 1);
  assert.equal(again.inputs.find((i) => i.name === 'token')?.value, '*****');
  const stdout = await call(s.url, 'GET', `/xapi/containers/${reply.id}/logs/stdout`, { headers: as('member') });
  assert.equal(stdout.text.split(' ')[0], createHash('md5').update(`${SECRET}\n`).digest('hex'), 'the stored sensitive value reached the relaunched tool');
  const old = await get(original, 'member');
  assert.ok(old.history.some((h) => h.message === `Relaunched as container ${reply.id} by member`), JSON.stringify(old.history));

  const byOwner = await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`, { headers: as('owner') });
  assert.equal(byOwner.status, 200, byOwner.text);
  assert.equal((await get((byOwner.body as { id: number }).id))['user-id'], 'owner', 'the new run is the caller\'s');
  const byAdmin = await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`, { headers: as('admin') });
  assert.equal(byAdmin.status, 200, byAdmin.text);

  assert.equal((await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`, { headers: as('collab') })).status, 403, 'a reader of the project');
  assert.equal((await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`, { headers: as('other') })).status, 404, 'no access to the project');
  assert.equal((await call(s.url, 'POST', `/xapi/containers/${original}/relaunch`)).status, 401);
  assert.equal((await call(s.url, 'POST', '/xapi/containers/999999/relaunch', { headers: as('admin') })).status, 404);
  for (const id of [byOwner, byAdmin].map((r) => (r.body as { id: number }).id)) await ended(id);
});

test('relaunching a run that has not ended is a 409', async () => {
  const id = await launch('slow', 'member');
  const r = await call(s.url, 'POST', `/xapi/containers/${id}/relaunch`, { headers: as('member') });
  assert.equal(r.status, 409, r.text);
  assert.match((r.body as { message: string }).message, /only a run that ended can be relaunched/);
  assert.equal((await call(s.url, 'POST', `/xapi/containers/${id}/kill`, { headers: as('member') })).status, 200);
  assert.equal((await ended(id)).status, 'Killed');
});

test('bulk relaunch: by ids with a report per id, by filter the failed runs not yet repeated', async () => {
  const failed = await launch('broken', 'member');
  assert.equal((await ended(failed)).status, 'Failed');
  const complete = await launch('echo', 'member', { token: SECRET });
  await ended(complete);

  const byIds = await call(s.url, 'POST', '/xapi/containers/relaunch', { headers: as('member'), json: { ids: [complete, 999999] } });
  assert.equal(byIds.status, 200, byIds.text);
  const report = byIds.body as { successes: Array<{ id: number; 'relaunch-of': number }>; failures: Array<{ 'relaunch-of': number; code: string }> };
  assert.deepEqual(report.successes.map((x) => x['relaunch-of']), [complete]);
  assert.deepEqual(report.failures.map((x) => [x['relaunch-of'], x.code]), [[999999, 'run.not-found']]);
  assert.ok(!byIds.text.includes(SECRET));
  await ended(report.successes[0].id);
  const forbidden = await call(s.url, 'POST', '/xapi/containers/relaunch', { headers: as('collab'), json: { ids: [complete] } });
  assert.deepEqual((forbidden.body as { failures: Array<{ code: string }> }).failures.map((f) => f.code), ['auth.forbidden']);

  // The filter takes Failed runs of P the caller may act on: not the flaky run's first attempt (retried already).
  const byFilter = await call(s.url, 'POST', '/xapi/containers/relaunch', { headers: as('admin'), json: { project: 'P', status: 'Failed' } });
  assert.equal(byFilter.status, 200, byFilter.text);
  const relaunched = (byFilter.body as { successes: Array<{ id: number; 'relaunch-of': number }> }).successes;
  assert.deepEqual(relaunched.map((x) => x['relaunch-of']), [failed]);
  assert.equal((await ended(relaunched[0].id)).status, 'Failed');
  const next = await call(s.url, 'POST', '/xapi/containers/relaunch', { headers: as('admin'), json: { project: 'P', status: 'Failed' } });
  assert.deepEqual((next.body as { successes: Array<{ 'relaunch-of': number }> }).successes.map((x) => x['relaunch-of']), [relaunched[0].id],
    'a relaunched run is not taken again; its relaunch is');
  await ended((next.body as { successes: Array<{ id: number }> }).successes[0].id);

  for (const bad of [{}, { ids: [] }, { ids: 'x' }, { ids: [1.5] }, { project: 'P', status: 'Running' }, { project: 'P', 'wrapper-id': 'x' }]) {
    const r = await call(s.url, 'POST', '/xapi/containers/relaunch', { headers: as('admin'), json: bad });
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
  }
});

test('xcs relaunch prints the new run', async () => {
  const id = await launch('echo', 'member', { token: 'x' });
  await ended(id);
  const { stdout } = await promisify(execFile)('bin/xcs', ['relaunch', String(id), '--url', s.url, '--user', 'member', '--password', PW]);
  const m = /^run (\d+) relaunched as run (\d+)\n$/.exec(stdout);
  assert.ok(m, stdout);
  assert.equal(Number(m[1]), id);
  assert.equal((await ended(Number(m[2])))['relaunch-of'], id);
});
