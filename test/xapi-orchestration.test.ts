// Orchestrations end to end (reference §7.1, §3.1, §1.10) over real HTTP, the real engine and Docker: a
// plain REST launch of the first wrapper in a project with a selected orchestration starts the chain; step 2
// runs on the same session as the same user once step 1 is Complete, and reads step 1's output; a failing
// first step stops the chain; a disabled orchestration does not chain; deleting a chained wrapper disables it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';
import { chainStep1, chainStep2 } from './helpers/chain-commands.ts';

let s: TestServer;
let admin: Record<string, string>;
let member: Record<string, string>;

const STEP1 = chainStep1('orch-step1', "sh -c 'test #FAIL# = yes && exit 3; echo step1 #LABEL# > /output/one.txt'",
  { name: 'fail', 'replacement-key': '#FAIL#', 'default-value': 'no' });
const STEP2 = chainStep2('orch-step2');

let w1 = 0;
let w2 = 0;
let orchestration = 0;
let subject = '';

async function register(command: object): Promise<number> {
  const r = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: command });
  assert.equal(r.status, 201, r.text);
  const c = (await call(s.url, 'GET', `/xapi/commands/${Number(r.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> };
  const id = c.xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${id}/enabled`, { headers: admin })).status, 200);
  return id;
}

interface Run { id: number; status: string; 'wrapper-id': number; 'user-id': string; inputs?: unknown }

async function runsOf(): Promise<Run[]> {
  return (await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Run[];
}

/** Polls (bounded) until `done` holds of the runs; returns them. */
async function waitRuns(done: (runs: Run[]) => boolean, what: string): Promise<Run[]> {
  let runs: Run[] = [];
  for (let i = 0; i < 600; i++) {
    runs = await runsOf();
    if (done(runs)) return runs;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}: ${JSON.stringify(runs.map((r) => [r.id, r['wrapper-id'], r.status]))}`);
}

const ended = (r: Run | undefined): boolean => r !== undefined && /^(Complete|Failed|Killed)/.test(r.status);

async function newSession(label: string): Promise<{ id: string; uri: string }> {
  const e = await s.opened.archive.createSession(subject, { label, xsiType: 'xnat:mrSessionData' }, 'admin');
  return { id: e.id, uri: e.archiveUri };
}

async function launchStep1(uri: string, extra: Record<string, string> = {}): Promise<number> {
  const r = await call(s.url, 'POST', `/xapi/projects/ORCH/wrappers/${w1}/root/session/launch`, { headers: member, json: { session: uri, ...extra } });
  assert.equal(r.status, 200, r.text);
  return (r.body as { id: number }).id;
}

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  const { archive, users } = s.opened;
  await archive.createProject({ id: 'ORCH' }, 'admin');
  subject = (await archive.createSubject('ORCH', { label: 'S' }, 'admin')).id;
  await users.addUser({ login: 'member', password: 'member-pw-1' });
  await users.setRole('ORCH', 'member', 'member');
  member = basic('member', 'member-pw-1');
  w1 = await register(STEP1);
  w2 = await register(STEP2);
  const o = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'two-steps', wrapperIds: [w1, w2] } });
  assert.equal(o.status, 200, o.text);
  orchestration = (o.body as { id: number }).id;
  // Selecting it project-enables both wrappers.
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/project/ORCH?orchestrationId=${orchestration}`, { headers: admin })).status, 200);
});

after(async () => {
  await stopWithContainers(s);
});

test('a REST launch of the first wrapper starts the orchestration: step 2 runs on the same session as the same user, after step 1', async () => {
  const e = await newSession('E1');
  const first = await launchStep1(e.uri);
  const runs = await waitRuns((rs) => ended(rs.find((r) => r.id === first)) && ended(rs.find((r) => r['wrapper-id'] === w2)), 'both steps');
  const one = runs.find((r) => r.id === first)!;
  const two = runs.find((r) => r['wrapper-id'] === w2)!;
  assert.equal(one.status, 'Complete');
  assert.equal(two.status, 'Complete');
  assert.ok(two.id > one.id);
  assert.equal(two['user-id'], 'member', 'the next step runs as the user who launched the first');
  const full = (await call(s.url, 'GET', `/xapi/containers/${two.id}`, { headers: admin })).body as { inputs: Array<{ name: string; value: string }> };
  assert.ok(full.inputs.some((i) => i.name === 'session' && i.value === e.uri), JSON.stringify(full.inputs));
  const f1 = await call(s.url, 'GET', `/data/experiments/${e.id}/resources/STEP1/files/one.txt`, { headers: admin });
  assert.equal(f1.text, 'step1 E1\n');
  // Step 2 read step 1's output from the archive: the chain ran in order, on the same object.
  const f2 = await call(s.url, 'GET', `/data/experiments/${e.id}/resources/STEP2/files/two.txt`, { headers: admin });
  assert.equal(f2.text, 'step1 E1\nstep2\n');
});

test('a failing first step stops the chain: the second wrapper is not launched', async () => {
  const e = await newSession('E2');
  const before = (await runsOf()).filter((r) => r['wrapper-id'] === w2).length;
  const first = await launchStep1(e.uri, { fail: 'yes' });
  const runs = await waitRuns((rs) => ended(rs.find((r) => r.id === first)), 'step 1');
  assert.match(runs.find((r) => r.id === first)!.status, /^Failed/);
  // A later launch that completes chains again, and its step 2 is the only new one (ids increase).
  const ok = await newSession('E3');
  const next = await launchStep1(ok.uri);
  const after = await waitRuns((rs) => ended(rs.find((r) => r.id === next)) && rs.some((r) => r['wrapper-id'] === w2 && r.id > next && ended(r)), 'the control chain');
  const seconds = after.filter((r) => r['wrapper-id'] === w2);
  assert.equal(seconds.length, before + 1, 'the failed step 1 launched no step 2');
  assert.ok(seconds.every((r) => r.id < first || r.id > next), 'no step 2 between the failed run and the control run');
  assert.equal((await call(s.url, 'GET', `/data/experiments/${e.id}/resources/STEP2/files/two.txt`, { headers: admin })).status, 404);
});

test('a disabled orchestration does not chain', async () => {
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/${orchestration}/enabled/false`, { headers: admin })).status, 200);
  const e = await newSession('E4');
  const first = await launchStep1(e.uri);
  // Disabling cleared the selection; a second run of step 1 done later shows that nothing was queued behind it.
  const runs = await waitRuns((rs) => ended(rs.find((r) => r.id === first)), 'step 1');
  assert.equal(runs.find((r) => r.id === first)!.status, 'Complete');
  const control = await launchStep1((await newSession('E5')).uri);
  const after = await waitRuns((rs) => ended(rs.find((r) => r.id === control)), 'control step 1');
  assert.deepEqual(after.filter((r) => r.id > first && r.id !== control).map((r) => r.id), [], 'no step 2 after a disabled orchestration');
  // Re-enable and select again for the next test.
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/${orchestration}/enabled/true`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/project/ORCH?orchestrationId=${orchestration}`, { headers: admin })).status, 200);
});

test('a first step that fails and is retried: the chain waits for the retry and goes on from it, once', async () => {
  // Fails on its first attempt (XCS_ATTEMPT=1), succeeds on the second, which its retry policy makes.
  const retrying = {
    ...STEP1, name: 'orch-step1-retry', retry: { 'maximum-attempts': 2, 'initial-interval': '0s' },
    'command-line': "sh -c 'test $XCS_ATTEMPT = 1 && exit 3; echo step1 #LABEL# > /output/one.txt'",
    xnat: [{ ...STEP1.xnat[0], name: 'orch-step1-retry' }],
  };
  const w1r = await register(retrying);
  const o = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'retrying', wrapperIds: [w1r, w2] } });
  assert.equal(o.status, 200, o.text);
  const oid = (o.body as { id: number }).id;
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/project/ORCH?orchestrationId=${oid}`, { headers: admin })).status, 200);
  try {
    const e = await newSession('E-retry');
    const r = await call(s.url, 'POST', `/xapi/projects/ORCH/wrappers/${w1r}/root/session/launch`, { headers: member, json: { session: e.uri } });
    assert.equal(r.status, 200, r.text);
    const first = (r.body as { id: number }).id;
    const runs = await waitRuns((rs) => {
      const retry = rs.find((x) => x['wrapper-id'] === w1r && x.id > first);
      return ended(rs.find((x) => x.id === first)) && ended(retry) && ended(rs.find((x) => x['wrapper-id'] === w2 && x.id > first));
    }, 'the failed attempt, its retry and step 2');
    assert.match(runs.find((x) => x.id === first)!.status, /^Failed/);
    const retry = runs.find((x) => x['wrapper-id'] === w1r && x.id > first)!;
    assert.equal(retry.status, 'Complete');
    const seconds = runs.filter((x) => x['wrapper-id'] === w2 && x.id > first);
    assert.equal(seconds.length, 1, 'one step 2, after the retry');
    assert.ok(seconds[0].id > retry.id);
    assert.equal(seconds[0].status, 'Complete');
    const f2 = await call(s.url, 'GET', `/data/experiments/${e.id}/resources/STEP2/files/two.txt`, { headers: admin });
    assert.equal(f2.text, 'step1 E-retry\nstep2\n');
    // Nothing more is coming: a later control run of step 1 alone is the only new run.
    await sleep(500);
    assert.equal((await runsOf()).filter((x) => x['wrapper-id'] === w2 && x.id > first).length, 1);
  } finally {
    assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/project/ORCH?orchestrationId=${orchestration}`, { headers: admin })).status, 200);
  }
});

test('deleting a wrapper of the chain disables the orchestration; deleting both removes it', async () => {
  const extra = await register({ ...STEP2, name: 'orch-step3', xnat: [{ ...STEP2.xnat[0], name: 'orch-step3' }] });
  const three = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'three', wrapperIds: [w1, w2, extra] } });
  assert.equal(three.status, 200, three.text);
  const tid = (three.body as { id: number }).id;
  assert.equal((await call(s.url, 'DELETE', `/xapi/wrappers/${w2}`, { headers: admin })).status, 204);
  const list = (await call(s.url, 'GET', '/xapi/orchestration', { headers: admin })).body as Array<{ id: number; wrapperIds: number[]; enabled: boolean }>;
  const o2 = list.find((o) => o.id === orchestration)!;
  assert.deepEqual(o2.wrapperIds, [w1]);
  assert.equal(o2.enabled, false);
  assert.deepEqual(list.find((o) => o.id === tid), { id: tid, name: 'three', wrapperIds: [w1, extra], enabled: false, haltOnCommandFailure: true });
  const sel = (await call(s.url, 'GET', '/xapi/orchestration/project/ORCH', { headers: admin })).body as { selectedOrchestrationId: number | null };
  assert.equal(sel.selectedOrchestrationId, null, 'a disabled orchestration is no longer selected');
  // Step 1 alone no longer chains.
  const first = await launchStep1((await newSession('E6')).uri);
  const control = await launchStep1((await newSession('E7')).uri);
  const runs = await waitRuns((rs) => ended(rs.find((r) => r.id === first)) && ended(rs.find((r) => r.id === control)), 'step 1 runs');
  assert.deepEqual(runs.filter((r) => r.id > first && r.id !== control).map((r) => r['wrapper-id']), []);
  // The last wrapper of the first orchestration gone: the emptied orchestration is deleted.
  const c1 = (await call(s.url, 'GET', '/xapi/commands', { headers: admin })).body as Array<{ id: number; name: string }>;
  assert.equal((await call(s.url, 'DELETE', `/xapi/commands/${c1.find((c) => c.name === 'orch-step1')!.id}`, { headers: admin })).status, 204);
  const left = (await call(s.url, 'GET', '/xapi/orchestration', { headers: admin })).body as Array<{ id: number; wrapperIds: number[] }>;
  assert.equal(left.find((o) => o.id === orchestration), undefined);
  assert.deepEqual(left.find((o) => o.id === tid)?.wrapperIds, [extra]);
});
