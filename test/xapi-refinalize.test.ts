// Finalizing again after a failed upload, over real HTTP with the real engine and Docker: a member's run whose
// upload is refused (the member lost edit access while the tool ran) ends `Failed (Upload)` with its outputs
// kept; once access is back, `POST /xapi/containers/{id}/finalize` uploads them without running the tool again
// and the run ends `Complete`. Other ended runs are refused with 409 and a hint; non-managers get 403.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const PW = 'pw-refinal-1';
const COMMAND = {
  name: 'refinal', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
  'command-line': "sh -c 'sleep 3; echo made once > /output/out.txt'",
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  outputs: [{ name: 'result', mount: 'out', path: 'out.txt', required: true }],
  xnat: [{
    name: 'refinal', contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: 'RESULT' }],
  }],
};

interface Run { id: number; status: string; history: Array<{ status: string; message: string | null }> }

let s: TestServer;
let admin: Record<string, string>;
let member: Record<string, string>;
let wid = 0;
let session = { id: '', uri: '' };

const get = async (id: number): Promise<Run> => (await call(s.url, 'GET', `/xapi/containers/${id}`, { headers: admin })).body as Run;
async function ended(id: number): Promise<Run> {
  for (let i = 0; i < 300; i++) {
    const r = await get(id);
    if (/^(Complete|Failed|Killed)/.test(r.status)) return r;
    await sleep(100);
  }
  throw new Error(`run ${id} did not end`);
}

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  member = basic('member', PW);
  const { archive, users } = s.opened;
  await users.addUser({ login: 'member', password: PW });
  await archive.createProject({ id: 'RF' }, 'admin');
  await users.setRole('RF', 'member', 'member');
  const subject = await archive.createSubject('RF', { label: 'S' }, 'admin');
  const e = await archive.createSession(subject.id, { label: 'E', xsiType: 'xnat:mrSessionData' }, 'admin');
  session = { id: e.id, uri: e.archiveUri };
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  wid = ((await call(s.url, 'GET', `/xapi/commands/${Number(reg.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/RF/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
});

after(async () => {
  await stopWithContainers(s);
});

test('a failed upload is finalized again from the kept outputs, without running the tool again', async () => {
  const { users } = s.opened;
  const r = await call(s.url, 'POST', `/xapi/projects/RF/wrappers/${wid}/root/session/launch`, { headers: member, json: { session: session.uri } });
  assert.equal(r.status, 200, r.text);
  const id = (r.body as { id: number }).id;
  // While the tool runs, the member becomes a collaborator: the upload, made as the member, is refused.
  await users.setRole('RF', 'member', 'collaborator');
  const failed = await ended(id);
  assert.equal(failed.status, 'Failed (Upload)', JSON.stringify(failed.history));
  const missing = await call(s.url, 'GET', `/data/experiments/${session.id}/resources/RESULT/files/out.txt`, { headers: admin });
  assert.equal(missing.status, 404, 'nothing was uploaded');

  // Managers only; the access problem fixed first.
  assert.equal((await call(s.url, 'POST', `/xapi/containers/${id}/finalize`, { headers: member })).status, 403);
  await users.setRole('RF', 'member', 'member');
  const again = await call(s.url, 'POST', `/xapi/containers/${id}/finalize`, { headers: admin });
  assert.equal(again.status, 200, again.text);
  const done = await ended(id);
  assert.equal(done.status, 'Complete', JSON.stringify(done.history));
  const file = await call(s.url, 'GET', `/data/experiments/${session.id}/resources/RESULT/files/out.txt`, { headers: admin });
  assert.equal(file.text, 'made once\n');
  const statuses = done.history.map((h) => h.status);
  assert.equal(statuses.filter((x) => x === 'Running').length, 1, `the tool ran once: ${statuses.join(', ')}`);
  assert.ok(done.history.some((h) => h.status === 'Waiting' && h.message === 'Finalization requested again by admin'), statuses.join(', '));

  // A run that ended otherwise is not reopened.
  const twice = await call(s.url, 'POST', `/xapi/containers/${id}/finalize`, { headers: admin });
  assert.equal(twice.status, 409);
  assert.match((twice.body as { hint: string }).hint, /Failed \(Upload\)/);
});

test('the outputs a failed upload kept go when its record is deleted', async () => {
  const { users } = s.opened;
  const r = await call(s.url, 'POST', `/xapi/projects/RF/wrappers/${wid}/root/session/launch`, { headers: member, json: { session: session.uri } });
  assert.equal(r.status, 200, r.text);
  const id = (r.body as { id: number }).id;
  await users.setRole('RF', 'member', 'collaborator');
  try {
    assert.equal((await ended(id)).status, 'Failed (Upload)');
  } finally {
    await users.setRole('RF', 'member', 'member');
  }
  const full = (await call(s.url, 'GET', `/xapi/containers/${id}`, { headers: admin })).body as { mounts: Array<{ name: string; 'xnat-host-path': string }> };
  const kept = full.mounts.find((m) => m.name === 'out')!['xnat-host-path'];
  assert.ok(existsSync(kept), 'the output mount is kept for finalizing again');
  assert.equal((await call(s.url, 'DELETE', `/xapi/containers/${id}`, { headers: admin })).status, 204);
  assert.equal(existsSync(kept), false, 'and removed with the record');
});
