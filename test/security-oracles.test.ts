// Existence oracles, over real HTTP: to a signed-in user who cannot read a private project, its objects — by path,
// by accession id, its runs, its users — answer exactly like objects that do not exist (same status, same body
// once the id is replaced), for reads and for writes. A project owner who is not a site administrator gets the
// same answer for adding or removing an unknown login as for a known one (nothing is stored for the unknown);
// the site administrator, who may list users, is told the login does not exist.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedRuns } from '../scripts/seed-runs.ts';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { basic, call, type Reply } from './xapi-helpers.ts';

let dir: string;
let s: RunningServer;
const admin = basic('admin', 'admin-pw-oracle');
const outsider = basic('outsider', 'pw-outsider');
const owner = basic('owner', 'pw-owner');
let subjectId = '';
let sessionId = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-oracles-'));
  // Runs 1 and 2 belong to project P0 (the seeded runs' project naming).
  seedRuns(join(dir, 'data'), 2, { projects: 1 });
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw-oracle';
  s = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  const { users, archive } = s.opened;
  for (const login of ['outsider', 'owner', 'member']) await users.addUser({ login, password: `pw-${login}` });
  await archive.createProject({ id: 'P0' }, 'admin');
  await archive.createProject({ id: 'OWNED' }, 'admin');
  await users.setRole('OWNED', 'owner', 'owner');
  const subject = await archive.createSubject('P0', { label: 'S1' }, 'admin');
  subjectId = subject.id;
  sessionId = (await archive.createSession(subject.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin')).id;
  assert.equal((await call(s.url, 'PUT', `/data/experiments/${sessionId}/scans/1?xsiType=xnat:mrScanData`, { headers: admin })).status, 201);
});

after(async () => {
  await s?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The reply with the id it was about replaced, so that answers about different ids can be compared. */
function shape(r: Reply, id: string): string {
  return `${r.status} ${r.text.split(id).join('{ID}')}`;
}

test('an outsider gets the same answer for objects of a private project as for missing ones (reads and writes)', async () => {
  const pairs: Array<[method: string, existing: string, missing: string, id: string, other: string]> = [
    ['GET', '/data/projects/P0', '/data/projects/NOPE', 'P0', 'NOPE'],
    ['GET', '/data/projects/P0/subjects?format=json', '/data/projects/NOPE/subjects?format=json', 'P0', 'NOPE'],
    ['GET', '/data/projects/P0/subjects/S1', '/data/projects/P0/subjects/S9', 'S1', 'S9'],
    ['GET', '/data/projects/P0/subjects/S1/experiments/E1?format=json', '/data/projects/P0/subjects/S1/experiments/E9?format=json', 'E1', 'E9'],
    ['GET', `/data/subjects/${subjectId}`, '/data/subjects/XNAT_S99999', subjectId, 'XNAT_S99999'],
    ['GET', `/data/experiments/${sessionId}`, '/data/experiments/XNAT_E99999', sessionId, 'XNAT_E99999'],
    ['GET', `/data/experiments/${sessionId}?format=json`, '/data/experiments/XNAT_E99999?format=json', sessionId, 'XNAT_E99999'],
    ['GET', `/data/experiments/${sessionId}/scans?format=json`, '/data/experiments/XNAT_E99999/scans?format=json', sessionId, 'XNAT_E99999'],
    ['GET', `/data/experiments/${sessionId}/scans/1/resources`, '/data/experiments/XNAT_E99999/scans/1/resources', sessionId, 'XNAT_E99999'],
    ['PUT', '/data/projects/P0/subjects/NEW', '/data/projects/NOPE/subjects/NEW', 'P0', 'NOPE'],
    ['DELETE', `/data/experiments/${sessionId}`, '/data/experiments/XNAT_E99999', sessionId, 'XNAT_E99999'],
    ['GET', '/data/projects/P0/users', '/data/projects/NOPE/users', 'P0', 'NOPE'],
    ['PUT', '/data/projects/P0/users/Members/outsider', '/data/projects/NOPE/users/Members/outsider', 'P0', 'NOPE'],
    ['GET', '/xapi/containers/1', '/xapi/containers/999', '1', '999'],
    ['GET', '/xapi/containers/1/logs', '/xapi/containers/999/logs', '1', '999'],
    ['POST', '/xapi/containers/1/kill', '/xapi/containers/999/kill', '1', '999'],
    ['DELETE', '/xapi/containers/1', '/xapi/containers/999', '1', '999'],
    ['GET', '/xapi/containers/1/provenance', '/xapi/containers/999/provenance', '1', '999'],
    ['GET', '/xapi/projects/P0/containers', '/xapi/projects/NOPE/containers', 'P0', 'NOPE'],
    ['GET', '/xapi/projects/P0/commands', '/xapi/projects/NOPE/commands', 'P0', 'NOPE'],
  ];
  const leaks: string[] = [];
  for (const [method, existing, missing, id, other] of pairs) {
    const a = await call(s.url, method, existing, { headers: outsider });
    const b = await call(s.url, method, missing, { headers: outsider });
    if (a.status !== 404) leaks.push(`${method} ${existing}: ${a.status}, expected 404 (${a.text.slice(0, 100)})`);
    if (shape(a, id) !== shape(b, other)) leaks.push(`${method} ${existing} vs ${missing}: ${shape(a, id).slice(0, 150)} | ${shape(b, other).slice(0, 150)}`);
  }
  assert.deepEqual(leaks, []);
  // The writes changed nothing.
  assert.equal((await call(s.url, 'GET', `/data/experiments/${sessionId}?format=json`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'GET', '/data/projects/P0/subjects/NEW', { headers: admin })).status, 404);
  assert.equal((await call(s.url, 'GET', '/xapi/containers/1', { headers: admin })).status, 200);
  assert.equal(await s.opened.users.roleOf('outsider', 'P0'), undefined);
});

test('adding or removing a member does not tell a project owner whether a login exists; the site admin is told', async () => {
  for (const method of ['PUT', 'DELETE']) {
    const known = await call(s.url, method, '/data/projects/OWNED/users/Members/member', { headers: owner });
    const unknown = await call(s.url, method, '/data/projects/OWNED/users/Members/no-such-login', { headers: owner });
    assert.equal(known.status, 200, `${method} known`);
    assert.equal(shape(unknown, 'no-such-login'), shape(known, 'member'), `${method}: the same answer`);
  }
  assert.equal(await s.opened.users.roleOf('member', 'OWNED'), undefined, 'removed again by the DELETE');
  assert.equal((await call(s.url, 'PUT', '/data/projects/OWNED/users/Members/member', { headers: owner })).status, 200);
  assert.equal(await s.opened.users.roleOf('member', 'OWNED'), 'member', 'a known login is added');
  assert.equal(await s.opened.users.getUser('no-such-login'), undefined);
  const listed = await call(s.url, 'GET', '/data/projects/OWNED/users?format=json', { headers: owner });
  assert.doesNotMatch(listed.text, /no-such-login/, 'nothing stored for the unknown login');
  const told = await call(s.url, 'PUT', '/data/projects/OWNED/users/Members/no-such-login', { headers: admin });
  assert.equal(told.status, 404);
  assert.match(told.text, /no user "no-such-login"/);
  // Members who are not owners are refused alike for both.
  await s.opened.users.setRole('OWNED', 'outsider', 'member');
  const a = await call(s.url, 'PUT', '/data/projects/OWNED/users/Members/member', { headers: outsider });
  const b = await call(s.url, 'PUT', '/data/projects/OWNED/users/Members/no-such-login', { headers: outsider });
  assert.equal(a.status, 403);
  assert.equal(shape(a, 'member'), shape(b, 'no-such-login'));
});
