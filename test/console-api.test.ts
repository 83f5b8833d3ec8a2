// The two server additions the web console needs, over real HTTP: paging of /data listings (offset, limit, sortBy,
// sortOrder; totalRecords counting every match; nothing changes without them) and GET /xapi/dashboard (aggregates of
// the runs the caller may see: all for administrators, their projects' and their own for others; refused to run
// tokens and guests; a bad window is a 400).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, basic, type TestServer } from './archive-helpers.ts';
import { aliasTokenCredentials } from '../src/runtime/index.ts';

let s: TestServer;
const PW = 'pw-console-1';

interface Listing { ResultSet: { Result: Array<Record<string, string>>; totalRecords: string } }

async function get(path: string, headers: Record<string, string>): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${s.url}${path}`, { headers });
  const text = await res.text();
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, body, text };
}

const admin = () => basic('admin', s.adminPassword);

before(async () => {
  s = await startTestServer();
  const { archive, users } = s.opened;
  await archive.createProject({ id: 'P1' }, 'admin');
  await archive.createProject({ id: 'P2' }, 'admin');
  const subject = await archive.createSubject('P1', { label: 'S1' }, 'admin');
  // Created in reverse label order, so sorting by label differs from the natural (id) order.
  for (let i = 24; i >= 0; i--) await archive.createSession(subject.id, { label: `MR${String(i).padStart(2, '0')}`, xsiType: 'xnat:mrSessionData' }, 'admin');
  for (const login of ['mia', 'nobody']) await users.addUser({ login, password: PW, enabled: true, verified: true });
  await users.setRole('P1', 'mia', 'member');

  // Runs written straight into the engine's table: the dashboard reads it, no container is needed.
  const db = s.engine!.database;
  const now = Date.now();
  const run = db.prepare(`INSERT INTO runs (command_id, wrapper_id, user_id, project, status, status_time, spec, container_name, created_at, failure_code, failure_hint)
    VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?) RETURNING id`);
  const history = db.prepare(`INSERT INTO history (run_id, status, entity_type, time_recorded) VALUES (?, 'Running', 'event', ?)`);
  const add = (cmd: number, user: string, project: string, status: string, createdAgo: number, waitMs: number, runMs: number, code: string | null = null): void => {
    const created = now - createdAgo;
    const { id } = run.get(cmd, cmd * 10, user, project, status, created + waitMs + runMs, `c-${created}-${cmd}`, created, code, null) as { id: number };
    history.run(id, created + waitMs);
  };
  add(1, 'admin', 'P1', 'Complete', 30 * 60_000, 1000, 4000);
  add(1, 'admin', 'P1', 'Complete', 20 * 60_000, 3000, 6000);
  add(2, 'mia', 'P1', 'Failed', 10 * 60_000, 500, 1000, 'non-zero-exit');
  add(1, 'admin', 'P2', 'Complete', 5 * 60_000, 2000, 2000);
  add(1, 'admin', 'P2', 'Complete', 50 * 3_600_000, 1000, 1000); // outside the default 24 hours
});

after(async () => {
  await s?.stop();
});

test('/data listings page on request: offset, limit, sortBy, sortOrder, totalRecords of all matches', async () => {
  const base = '/data/projects/P1/experiments?format=json';
  const whole = (await get(base, admin())).body as Listing;
  assert.equal(whole.ResultSet.Result.length, 25);
  assert.equal(whole.ResultSet.totalRecords, '25');
  assert.equal(whole.ResultSet.Result[0].label, 'MR24', 'without paging: the usual order, every row');

  const first = (await get(`${base}&offset=0&limit=10&sortBy=label`, admin())).body as Listing;
  assert.deepEqual(first.ResultSet.Result.map((r) => r.label), Array.from({ length: 10 }, (_, i) => `MR${String(i).padStart(2, '0')}`));
  assert.equal(first.ResultSet.totalRecords, '25');
  const last = (await get(`${base}&offset=20&limit=10&sortBy=label`, admin())).body as Listing;
  assert.deepEqual(last.ResultSet.Result.map((r) => r.label), ['MR20', 'MR21', 'MR22', 'MR23', 'MR24']);
  const desc = (await get(`${base}&limit=1&sortBy=label&sortOrder=DESC`, admin())).body as Listing;
  assert.equal(desc.ResultSet.Result[0].label, 'MR24');
  const count = (await get(`${base}&limit=0`, admin())).body as Listing;
  assert.deepEqual([count.ResultSet.Result.length, count.ResultSet.totalRecords], [0, '25']);
  const filtered = (await get(`${base}&label=MR1*&limit=3&sortBy=label`, admin())).body as Listing;
  assert.deepEqual([filtered.ResultSet.Result.map((r) => r.label), filtered.ResultSet.totalRecords], [['MR10', 'MR11', 'MR12'], '10']);
  const csv = await get('/data/projects/P1/experiments?format=csv&limit=2&sortBy=label', admin());
  assert.equal(csv.text.trim().split('\n').length, 3, 'a header and two rows');

  for (const [q, path] of [['limit=-1', 'limit'], ['offset=abc', 'offset'], ['sortOrder=up&sortBy=label', 'sortOrder'], ['sortBy=a%20b', 'sortBy']]) {
    const bad = await get(`${base}&${q}`, admin());
    assert.equal(bad.status, 400, q);
    // /data errors are XNAT's plain text: the message, then the parameter it is about.
    assert.match(bad.text, new RegExp(`^${path} must .*\\(${path}\\)`), q);
  }
  // Paging reveals nothing: a project the caller cannot read is the same 404 with or without it.
  assert.equal((await get(`/data/projects/P1/experiments?format=json&limit=0`, basic('nobody', PW))).status, 404);
});

interface Dashboard {
  totals: Record<string, number>;
  perHour: Array<{ hour: string; complete: number; failed: number }>;
  commands: Array<{ 'command-id': number; runs: number; failed: number; 'queue-wait-ms': { n: number; p50: number; p90: number }; 'duration-ms': { p50: number; max: number } }>;
  failures: Array<{ code: string; count: number; hint: string; 'last-run': number }>;
  projects: Array<{ project: string; runs: number; failed: number }>;
}

test('GET /xapi/dashboard: per hour, per command percentiles, failures with hints, busiest projects', async () => {
  const r = await get('/xapi/dashboard', admin());
  assert.equal(r.status, 200, r.text);
  const d = r.body as Dashboard;
  assert.deepEqual(d.totals, { runs: 4, complete: 3, failed: 1, killed: 0, active: 0 });
  assert.equal(d.perHour.length, 25, 'one bucket per hour of the window, the current one included');
  assert.equal(d.perHour.reduce((n, h) => n + h.complete + h.failed, 0), 4);
  const c1 = d.commands.find((c) => c['command-id'] === 1)!;
  assert.equal(c1.runs, 3);
  assert.deepEqual([c1['queue-wait-ms'].n, c1['queue-wait-ms'].p50, c1['queue-wait-ms'].p90], [3, 2000, 3000]);
  assert.deepEqual([c1['duration-ms'].p50, c1['duration-ms'].max], [4000, 6000]);
  assert.equal(d.failures[0].code, 'non-zero-exit');
  assert.match(d.failures[0].hint, /non-zero code/);
  assert.deepEqual(d.projects.map((p) => [p.project, p.runs, p.failed]), [['P1', 3, 1], ['P2', 1, 0]]);
  const week = (await get('/xapi/dashboard?hours=72', admin())).body as Dashboard;
  assert.equal(week.totals.runs, 5);
});

test('GET /xapi/dashboard shows members only their projects\' runs; guests, run tokens and bad windows are refused', async () => {
  const mia = (await get('/xapi/dashboard', basic('mia', PW))).body as Dashboard;
  assert.equal(mia.totals.runs, 3, 'P1 only');
  assert.deepEqual(mia.projects.map((p) => p.project), ['P1']);
  const nobody = (await get('/xapi/dashboard', basic('nobody', PW))).body as Dashboard;
  assert.deepEqual([nobody.totals.runs, nobody.projects.length, nobody.failures.length], [0, 0, 0]);

  assert.equal((await get('/xapi/dashboard', {})).status, 401);
  const token = await aliasTokenCredentials(s.opened.users, s.opened.archive).issue('admin', 60, { run: '1', project: 'P1', roots: ['/archive/projects/P1'] });
  assert.equal((await get('/xapi/dashboard', basic(token.alias, token.secret))).status, 403);
  for (const h of ['0', 'abc', '100000']) {
    const bad = await get(`/xapi/dashboard?hours=${h}`, admin());
    assert.equal(bad.status, 400, h);
    assert.equal((bad.body as { path?: string }).path, 'hours');
  }
});
