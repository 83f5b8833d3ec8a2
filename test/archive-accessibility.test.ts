import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';

const PW = 'secret-pw';
let server: TestServer;

type Who = 'admin' | 'owner' | 'member' | 'stranger' | 'guest';

before(async () => {
  server = await startTestServer();
  const { archive, users } = server.opened;
  for (const login of ['owner', 'member', 'stranger']) await users.addUser({ login, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await users.setRole('P', 'owner', 'owner');
  await users.setRole('P', 'member', 'member');
  const s = await archive.createSubject('P', { label: 's1' }, 'admin');
  await archive.createSession(s.id, { label: 'e1' }, 'admin');
});

after(async () => server.stop());

function headers(who: Who): Record<string, string> {
  if (who === 'guest') return {};
  return basic(who, who === 'admin' ? server.adminPassword : PW);
}

async function call(who: Who, method: string, url: string): Promise<{ status: number; body: string }> {
  const res = await server.app.inject({ method: method as 'GET', url, headers: headers(who) });
  return { status: res.statusCode, body: res.body };
}

async function listsP(who: Who): Promise<boolean> {
  const res = await call(who, 'GET', '/data/projects?format=json');
  assert.equal(res.status, 200);
  const rows = (JSON.parse(res.body) as { ResultSet: { Result: Array<{ ID: string }> } }).ResultSet.Result;
  return rows.some((r) => r.ID === 'P');
}

/** What a signed-in non-member gets, in one line per probe, for the current accessibility. */
async function strangerView(): Promise<Record<string, number | boolean>> {
  return {
    listed: await listsP('stranger'),
    project: (await call('stranger', 'GET', '/data/projects/P?format=json')).status,
    accessibility: (await call('stranger', 'GET', '/data/projects/P/accessibility')).status,
    subjects: (await call('stranger', 'GET', '/data/projects/P/subjects?format=json')).status,
    subject: (await call('stranger', 'GET', '/data/projects/P/subjects/s1?format=json')).status,
    session: (await call('stranger', 'GET', '/data/projects/P/subjects/s1/experiments/e1?format=json')).status,
    allSubjects: (await call('stranger', 'GET', '/data/subjects?format=json')).body.includes('"s1"'),
    createSubject: (await call('stranger', 'PUT', '/data/projects/P/subjects/x?xsiType=xnat:subjectData')).status,
    editProject: (await call('stranger', 'PUT', '/data/projects/P?description=d')).status,
  };
}

test('private (the default) hides the project from non-members; guests are refused', async () => {
  assert.equal((await call('owner', 'GET', '/data/projects/P/accessibility')).body, 'private');
  assert.deepEqual(await strangerView(), {
    listed: false, project: 404, accessibility: 404, subjects: 404, subject: 404, session: 404, allSubjects: false,
    createSubject: 404, editProject: 404,
  });
  assert.equal((await call('guest', 'GET', '/data/projects?format=json')).status, 401);
});

test('only owners and admins change accessibility; bad values are refused', async () => {
  assert.equal((await call('member', 'PUT', '/data/projects/P/accessibility/public')).status, 403);
  assert.equal((await call('stranger', 'PUT', '/data/projects/P/accessibility/public')).status, 404);
  assert.equal((await call('guest', 'PUT', '/data/projects/P/accessibility/public')).status, 401);
  assert.equal((await call('owner', 'PUT', '/data/projects/P/accessibility/open')).status, 400);
  // The field route is guarded the same way: a member cannot publish the project.
  assert.equal((await call('member', 'PUT', '/data/projects/P?accessibility=public')).status, 403);
  assert.equal((await call('owner', 'PUT', '/data/projects/P?accessibility=everyone')).status, 400);
  assert.equal((await call('owner', 'GET', '/data/projects/P/accessibility')).body, 'private');
});

test('protected lists the project to everyone but its data only to members', async () => {
  assert.equal((await call('owner', 'PUT', '/data/projects/P/accessibility/protected')).status, 200);
  assert.equal((await call('stranger', 'GET', '/data/projects/P/accessibility')).body, 'protected');
  assert.deepEqual(await strangerView(), {
    listed: true, project: 200, accessibility: 200, subjects: 404, subject: 404, session: 404, allSubjects: false,
    createSubject: 404, editProject: 403,
  });
  assert.equal((await call('member', 'GET', '/data/projects/P/subjects/s1?format=json')).status, 200);
  assert.equal((await call('guest', 'GET', '/data/projects/P?format=json')).status, 401);
});

test('public lets every signed-in user read, not write; back to private hides it again', async () => {
  assert.equal((await call('admin', 'PUT', '/data/projects/P/accessibility/PUBLIC')).status, 200);
  assert.deepEqual(await strangerView(), {
    listed: true, project: 200, accessibility: 200, subjects: 200, subject: 200, session: 200, allSubjects: true,
    createSubject: 403, editProject: 403,
  });
  assert.equal((await call('stranger', 'DELETE', '/data/projects/P/subjects/s1')).status, 403);
  assert.equal((await call('guest', 'GET', '/data/projects/P/subjects?format=json')).status, 401);
  // Through the project field as well (what `PUT /data/projects/P?accessibility=` sends).
  assert.equal((await call('owner', 'PUT', '/data/projects/P?accessibility=private')).status, 200);
  assert.equal((await strangerView()).subject, 404);
  assert.equal(await listsP('stranger'), false);
});
