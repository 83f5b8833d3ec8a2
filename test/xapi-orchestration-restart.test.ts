// Orchestration chaining survives a restart (reference §7.1), over real HTTP, the real engine and Docker:
// the server stops while step 1 runs, step 1's container finishes while nobody listens, and the server started
// again on the same data directory launches step 2 exactly once. Then the two crash windows the live path
// cannot see, recreated in the database while the server is down: a step that ended but was never advanced
// (the start-up scan launches its successor once) and a launch claimed by a dispatcher that died before
// recording it (the successor it did launch is adopted, not launched again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { removeInstanceContainers } from './helpers/runs.ts';
import { chainStep1, chainStep2 } from './helpers/chain-commands.ts';

let first: TestServer;
let s: RunningServer;
let admin: Record<string, string>;
let data = '';

const STEP1 = chainStep1('restart-step1', "sh -c 'sleep #SLEEP#; echo step1 #LABEL# > /output/one.txt'",
  { name: 'sleep', 'replacement-key': '#SLEEP#', 'default-value': '0' });
const STEP2 = chainStep2('restart-step2');

let w1 = 0;
let w2 = 0;
let subject = '';

interface Run { id: number; status: string; 'wrapper-id': number; 'user-id': string }

const ended = (r: Run | undefined): boolean => r !== undefined && /^(Complete|Failed|Killed)/.test(r.status);

async function runsOf(): Promise<Run[]> {
  return (await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Run[];
}

async function waitRuns(done: (runs: Run[]) => boolean, what: string, tries = 600): Promise<Run[]> {
  let runs: Run[] = [];
  for (let i = 0; i < tries; i++) {
    runs = await runsOf();
    if (done(runs)) return runs;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}: ${JSON.stringify(runs.map((r) => [r.id, r['wrapper-id'], r.status]))}`);
}

async function register(command: object): Promise<number> {
  const r = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: command });
  assert.equal(r.status, 201, r.text);
  const c = (await call(s.url, 'GET', `/xapi/commands/${Number(r.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> };
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${c.xnat[0].id}/enabled`, { headers: admin })).status, 200);
  return c.xnat[0].id;
}

/** Stops the server (containers keep running), lets `whileDown` act on the data directory, starts it again. */
async function restart(whileDown: () => Promise<void> = async () => undefined): Promise<void> {
  await s.close();
  await whileDown();
  s = await startServer({ port: 0, host: '127.0.0.1', dataDir: data });
}

/** Runs SQL on the automation tables of the stopped server's database. */
async function onDatabase(statement: ReturnType<typeof sql>): Promise<void> {
  const opened = await openEmbeddedArchive(data);
  try {
    await statement.execute(opened.db);
  } finally {
    await opened.close();
  }
}

interface Advance { next_state: string; next_run_id: number | null }

/** What the database says about a step's successor (read with the server stopped, then started again). */
async function advanceOf(runId: number): Promise<Advance> {
  let out: Advance | undefined;
  await restart(async () => {
    const opened = await openEmbeddedArchive(data);
    try {
      out = (await sql<Advance>`SELECT next_state, next_run_id FROM xapi_orchestration_runs WHERE run_id = ${runId}`.execute(opened.db)).rows[0];
    } finally {
      await opened.close();
    }
  });
  return out!;
}

before(async () => {
  first = await startTestServer();
  s = first;
  data = join(first.dir, 'data');
  admin = basic('admin', first.adminPassword);
  const { archive } = first.opened;
  await archive.createProject({ id: 'RST' }, 'admin');
  subject = (await archive.createSubject('RST', { label: 'S' }, 'admin')).id;
  w1 = await register(STEP1);
  w2 = await register(STEP2);
  const o = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'restartable', wrapperIds: [w1, w2] } });
  assert.equal(o.status, 200, o.text);
  const id = (o.body as { id: number }).id;
  assert.equal((await call(s.url, 'PUT', `/xapi/orchestration/project/RST?orchestrationId=${id}`, { headers: admin })).status, 200);
});

after(async () => {
  await s.close().catch(() => undefined);
  await removeInstanceContainers(data);
  await first.stop().catch(() => undefined);
});

let chainEnd = 0;

test('stopped while step 1 runs: after a restart on the same data, step 2 is launched exactly once', async () => {
  const sessionUri = (await first.opened.archive.createSession(subject, { label: 'R1', xsiType: 'xnat:mrSessionData' }, 'admin')).archiveUri;
  const r = await call(s.url, 'POST', `/xapi/projects/RST/wrappers/${w1}/root/session/launch`, { headers: admin, json: { session: sessionUri, sleep: '4' } });
  assert.equal(r.status, 200, r.text);
  const one = (r.body as { id: number }).id;
  await waitRuns((rs) => rs.find((x) => x.id === one)?.status === 'Running', 'step 1 running');
  await restart(async () => {
    // Step 1's container finishes while no server listens.
    await sleep(5500);
  });
  const runs = await waitRuns((rs) => ended(rs.find((x) => x.id === one)) && rs.some((x) => x['wrapper-id'] === w2 && ended(x)), 'step 2 after the restart');
  assert.equal(runs.find((x) => x.id === one)!.status, 'Complete');
  // Both the live end (after the engine finalized step 1) and the start-up scan may try: still one step 2.
  await sleep(1500);
  const seconds = (await runsOf()).filter((x) => x['wrapper-id'] === w2);
  assert.equal(seconds.length, 1, JSON.stringify(seconds));
  assert.equal(seconds[0].status, 'Complete');
  const e = (await s.opened.archive.resolveUri(sessionUri)) as { session: string };
  const two = await call(s.url, 'GET', `/data/experiments/${e.session}/resources/STEP2/files/two.txt`, { headers: admin });
  assert.equal(two.text, 'step1 R1\nstep2\n');
  assert.deepEqual(await advanceOf(one), { next_state: 'launched', next_run_id: seconds[0].id });
  chainEnd = one;
});

test('a step that ended but was never advanced (server gone in between) is advanced once by the start-up scan', async () => {
  assert.ok(chainEnd > 0, 'needs the first test');
  const before = (await runsOf()).filter((x) => x['wrapper-id'] === w2).length;
  // The state a crash between "step 1 Complete" and "step 2 launched" leaves.
  await restart(() => onDatabase(sql`UPDATE xapi_orchestration_runs SET next_state = 'pending', next_run_id = NULL, claimed_by = NULL WHERE run_id = ${chainEnd}`));
  const runs = await waitRuns((rs) => rs.filter((x) => x['wrapper-id'] === w2).length > before && rs.filter((x) => x['wrapper-id'] === w2).every(ended),
    'the scan to launch step 2');
  await sleep(1500);
  const seconds = (await runsOf()).filter((x) => x['wrapper-id'] === w2);
  assert.equal(seconds.length, before + 1, `exactly one new step 2: ${JSON.stringify(runs.map((x) => [x.id, x['wrapper-id'], x.status]))}`);
  const latest = seconds.reduce((a, b) => (a.id > b.id ? a : b));
  // It ran on the same session (whose STEP2 resource the first chain already made, so its upload may fail).
  const full = (await call(s.url, 'GET', `/xapi/containers/${latest.id}`, { headers: admin })).body as { inputs: Array<{ name: string; value: string }> };
  assert.ok(full.inputs.some((i) => i.name === 'session' && i.value.includes('/experiments/')), JSON.stringify(full.inputs));
  assert.deepEqual(await advanceOf(chainEnd), { next_state: 'launched', next_run_id: latest.id });
});

test('a launch claimed by a dispatcher that died before recording it: the successor it launched is adopted, not launched again', async () => {
  assert.ok(chainEnd > 0, 'needs the first tests');
  const existing = (await runsOf()).filter((x) => x['wrapper-id'] === w2).map((x) => x.id);
  await restart(() => onDatabase(sql`UPDATE xapi_orchestration_runs SET next_state = 'claimed', next_run_id = NULL, claimed_by = 'a-dead-dispatcher'
    WHERE run_id = ${chainEnd}`));
  await sleep(2500);
  assert.deepEqual((await runsOf()).filter((x) => x['wrapper-id'] === w2).map((x) => x.id), existing, 'no second launch');
  const a = await advanceOf(chainEnd);
  assert.equal(a.next_state, 'launched');
  assert.ok(existing.includes(a.next_run_id!), `adopted one of the step-2 runs it had launched: ${JSON.stringify(a)}`);
});
