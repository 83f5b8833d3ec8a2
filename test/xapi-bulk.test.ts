// Bulk launch at scale over real HTTP with the real engine: one trivial busybox session wrapper on 100
// sessions with at most 4 containers active at once (XCS_MAX_RUNNING). The report lists 100 successes, every
// run completes, and the limit holds — checked twice: by sampling the container list while the runs go, and
// by replaying every run's history (the intervals in Staging/Created/Running never overlap more than 4 deep).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const SESSIONS = 100;
const LIMIT = 4;
const ACTIVE = new Set(['Staging', 'Created', 'Running']);

let s: TestServer;
let admin: Record<string, string>;

const COMMAND = {
  name: 'bulk-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'echo #LABEL#', 'override-entrypoint': true,
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }],
  xnat: [{
    name: 'bulk-echo-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
  }],
};

before(async () => {
  process.env.XCS_MAX_RUNNING = String(LIMIT);
  try {
    s = await startTestServer();
  } finally {
    delete process.env.XCS_MAX_RUNNING;
  }
  admin = basic('admin', s.adminPassword);
});

after(async () => {
  await stopWithContainers(s);
});

interface Run { id: number; status: string; history: Array<{ status: string; 'time-recorded': string }> }

test(`bulk launch on ${SESSIONS} sessions: all succeed and complete, never more than ${LIMIT} active`, async () => {
  const { archive } = s.opened;
  await archive.createProject({ id: 'BULK' }, 'admin');
  const subject = await archive.createSubject('BULK', { label: 'S' }, 'admin');
  const targets: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const e = await archive.createSession(subject.id, { label: `E${String(i).padStart(3, '0')}`, xsiType: 'xnat:mrSessionData' }, 'admin');
    const r = await archive.createResource({ kind: 'session', session: e.id }, { label: 'TINY' }, 'admin');
    await archive.putFile(r.id, 'x.txt', Readable.from([Buffer.from(`${i}\n`)]), {}, 'admin');
    targets.push(e.archiveUri);
  }
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  const cmd = (await call(s.url, 'GET', `/xapi/commands/${Number(reg.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> };
  const wrapperId = cmd.xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wrapperId}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/BULK/wrappers/${wrapperId}/enabled`, { headers: admin })).status, 200);

  // Sample the engine's view while the bulk launch is answered and the runs go.
  let sampling = true;
  let maxSeen = 0;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const list = await call(s.url, 'GET', '/xapi/containers?status=Staging,Created,Running&all=true', { headers: admin });
      if (Array.isArray(list.body)) {
        maxSeen = Math.max(maxSeen, (list.body as Run[]).filter((r) => ACTIVE.has(r.status)).length);
        samples++;
      }
      await sleep(50);
    }
  })();

  const bulk = await call(s.url, 'POST', `/xapi/projects/BULK/wrappers/${wrapperId}/root/session/bulklaunch`,
    { headers: admin, json: { session: JSON.stringify(targets) } });
  assert.equal(bulk.status, 200, bulk.text);
  const report = bulk.body as { successes: Array<{ id: number; params: { session: string } }>; failures: unknown[] };
  assert.equal(report.failures.length, 0, JSON.stringify(report.failures.slice(0, 3)));
  assert.equal(report.successes.length, SESSIONS);
  assert.deepEqual(report.successes.map((x) => x.params.session).sort(), [...targets].sort());
  const ids = report.successes.map((x) => x.id);
  assert.equal(new Set(ids).size, SESSIONS, 'one run per target');

  // Bounded wait: 100 trivial containers, 4 at a time.
  let runs: Run[] = [];
  for (let i = 0; i < 1200; i++) {
    const all = (await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Run[];
    runs = all.filter((r) => ids.includes(r.id));
    if (runs.length === SESSIONS && runs.every((r) => /^(Complete|Failed|Killed)/.test(r.status))) break;
    await sleep(100);
  }
  sampling = false;
  await sampler;
  assert.deepEqual(runs.filter((r) => r.status !== 'Complete').map((r) => `${r.id}: ${r.status}`), [], 'every run is Complete');
  assert.ok(samples > 0);
  assert.ok(maxSeen <= LIMIT, `sampled ${maxSeen} active runs at once`);
  assert.ok(maxSeen >= 2, `the runs did overlap (saw ${maxSeen} at once), so the limit was exercised`);

  // Replay the histories: +1 on entering an active status, -1 on leaving; ends before starts at equal times.
  const events: Array<{ t: number; d: number }> = [];
  for (const r of runs) {
    const h = [...r.history].sort((a, b) => Date.parse(a['time-recorded'].replace('+0000', 'Z')) - Date.parse(b['time-recorded'].replace('+0000', 'Z')));
    let start: number | null = null;
    for (const item of h) {
      const t = Date.parse(item['time-recorded'].replace('+0000', 'Z'));
      if (ACTIVE.has(item.status) && start === null) start = t;
      else if (!ACTIVE.has(item.status) && start !== null) {
        events.push({ t: start, d: 1 }, { t, d: -1 });
        start = null;
      }
    }
    assert.equal(start, null, `run ${r.id} left the active statuses`);
  }
  assert.equal(events.length, SESSIONS * 2, 'every run was active once');
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let depth = 0;
  let maxDepth = 0;
  for (const e of events) maxDepth = Math.max(maxDepth, (depth += e.d));
  assert.ok(maxDepth <= LIMIT, `history shows ${maxDepth} runs active at once`);
  assert.ok(maxDepth >= 2, 'the runs overlapped');
});
