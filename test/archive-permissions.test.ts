// Permission matrix: site admin, owner, member, collaborator, other user and guest × every /data endpoint.
// Rule under test: collaborators read; members read, create and edit; owners and admins also delete;
// other users get 404 (existence is not leaked); guests get 401.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';
import type { EmbeddedArchive } from '../src/archive/embedded/index.ts';

type Role = 'admin' | 'owner' | 'member' | 'collaborator' | 'other' | 'guest';
const ROLES: Role[] = ['admin', 'owner', 'member', 'collaborator', 'other', 'guest'];
const PW = 'secret-pw';

const READ = { admin: 200, owner: 200, member: 200, collaborator: 200, other: 404, guest: 401 };
const CREATE = { admin: 201, owner: 201, member: 201, collaborator: 403, other: 404, guest: 401 };
const UPLOAD = { admin: 200, owner: 200, member: 200, collaborator: 403, other: 404, guest: 401 };
const EDIT = { admin: 200, owner: 200, member: 200, collaborator: 403, other: 404, guest: 401 };
const DELETE = { admin: 200, owner: 200, member: 403, collaborator: 403, other: 404, guest: 401 };
const MANAGE = { admin: 200, owner: 200, member: 403, collaborator: 403, other: 404, guest: 401 };

let server: TestServer;
let app: FastifyInstance;
let archive: EmbeddedArchive;
let session = '';
let resource = 0;

function headers(role: Role): Record<string, string> {
  if (role === 'guest') return {};
  return role === 'admin' ? basic('admin', server.adminPassword) : basic(role, PW);
}

const SESS = '/data/projects/P/subjects/s1/experiments/e1';
const RES = `${SESS}/scans/1/resources/R`;

before(async () => {
  server = await startTestServer();
  app = server.app;
  archive = server.opened.archive;
  const users = server.opened.users;
  for (const r of ['owner', 'member', 'collaborator', 'other']) await users.addUser({ login: r, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await users.setRole('P', 'owner', 'owner');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'collaborator', 'collaborator');
  const s = await archive.createSubject('P', { label: 's1' }, 'admin');
  session = (await archive.createSession(s.id, { label: 'e1' }, 'admin')).id;
  await archive.createScan(session, { id: '1' }, 'admin');
  resource = (await archive.createResource({ kind: 'scan', session, scan: '1' }, { label: 'R' }, 'admin')).id;
  await archive.putFile(resource, 'f.txt', Readable.from([Buffer.from('data')]), {}, 'admin');
  for (const role of ROLES) {
    const sub = await archive.createSubject('P', { label: `del_${role}` }, 'admin');
    const e = await archive.createSession(sub.id, { label: `edel_${role}` }, 'admin');
    await archive.createScan(session, { id: `d${role}` }, 'admin');
    await archive.putFile(resource, `del_${role}.txt`, Readable.from([Buffer.from('x')]), {}, 'admin');
    void e;
    await archive.createProject({ id: `D_${role}` }, 'admin');
    for (const r of ['owner', 'member', 'collaborator'] as const) await users.setRole(`D_${role}`, r, r);
  }
});

after(async () => { await server.stop(); });

function qcXml(label: string, sessionId?: string): string {
  return `<xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" label="${label}">` +
    `${sessionId ? `<xnat:imageSession_ID>${sessionId}</xnat:imageSession_ID>` : ''}</xnat:QCAssessment>`;
}

interface Endpoint {
  name: string;
  expect: Record<Role, number>;
  request(role: Role): { method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD'; url: string; payload?: Buffer | string;
    headers?: Record<string, string> };
}

const ENDPOINTS: Endpoint[] = [
  { name: 'read project', expect: READ, request: () => ({ method: 'GET', url: '/data/projects/P?format=json' }) },
  { name: 'list subjects', expect: READ, request: () => ({ method: 'GET', url: '/data/projects/P/subjects?format=csv' }) },
  { name: 'read subject', expect: READ, request: () => ({ method: 'GET', url: '/data/projects/P/subjects/s1?format=json' }) },
  { name: 'list experiments', expect: READ, request: () => ({ method: 'GET', url: '/data/projects/P/subjects/s1/experiments?format=json' }) },
  { name: 'read experiment by id', expect: READ, request: () => ({ method: 'GET', url: `/data/experiments/${session}?format=json` }) },
  { name: 'read experiment xml', expect: READ, request: () => ({ method: 'GET', url: `${SESS}?format=xml` }) },
  { name: 'list scans', expect: READ, request: () => ({ method: 'GET', url: `/data/experiments/${session}/scans?format=json` }) },
  { name: 'read scan', expect: READ, request: () => ({ method: 'GET', url: `${SESS}/scans/1?format=json` }) },
  { name: 'list resources', expect: READ, request: () => ({ method: 'GET', url: `${SESS}/scans/1/resources?format=json` }) },
  { name: 'list files', expect: READ, request: () => ({ method: 'GET', url: `${RES}/files?format=json` }) },
  { name: 'download file', expect: READ, request: () => ({ method: 'GET', url: `${RES}/files/f.txt` }) },
  { name: 'download zip', expect: READ, request: () => ({ method: 'GET', url: `${RES}/files?format=zip` }) },
  { name: 'download all scans zip', expect: READ, request: () => ({ method: 'GET', url: `${SESS}/scans/ALL/files?format=zip` }) },
  { name: 'download scan list zip', expect: READ, request: () => ({ method: 'GET', url: `/data/experiments/${session}/scans/1,2/files?format=zip` }) },
  { name: 'list project users', expect: READ, request: () => ({ method: 'GET', url: '/data/projects/P/users?format=json' }) },
  { name: 'create subject', expect: CREATE, request: (r) => ({ method: 'PUT', url: `/data/projects/P/subjects/new_${r}?xsiType=xnat:subjectData` }) },
  { name: 'create session', expect: CREATE, request: (r) => ({ method: 'PUT', url: `/data/projects/P/subjects/s1/experiments/new_${r}?xsiType=xnat:ctSessionData` }) },
  { name: 'create scan', expect: CREATE, request: (r) => ({ method: 'PUT', url: `${SESS}/scans/n${r}?xsiType=xnat:mrScanData` }) },
  { name: 'create resource', expect: CREATE, request: (r) => ({ method: 'PUT', url: `${SESS}/resources/NEW_${r}` }) },
  { name: 'create assessor', expect: CREATE, request: (r) => ({ method: 'PUT', url: `${SESS}/assessors/qc_${r}?xsiType=xnat:qcAssessmentData` }) },
  { name: 'create assessor from xml', expect: CREATE, request: (r) => ({ method: 'PUT', url: `${SESS}/assessors/x_${r}?inbody=true`,
    payload: qcXml(`x_${r}`), headers: { 'content-type': 'text/xml' } }) },
  { name: 'upload assessor xml', expect: EDIT, request: (r) => ({ method: 'POST', url: '/xapi/archive/upload/xml',
    payload: qcXml(`u_${r}`, session), headers: { 'content-type': 'application/xml' } }) },
  { name: 'upload file', expect: UPLOAD, request: (r) => ({ method: 'POST', url: `${RES}/files/up_${r}.txt?inbody=true`,
    payload: Buffer.from('up'), headers: { 'content-type': 'application/octet-stream' } }) },
  { name: 'update subject', expect: EDIT, request: () => ({ method: 'PUT', url: '/data/projects/P/subjects/s1?xsiType=xnat:subjectData&xnat:subjectData/group=g' }) },
  { name: 'update session', expect: EDIT, request: () => ({ method: 'PUT', url: `${SESS}?xsiType=xnat:mrSessionData&xnat:mrSessionData/date=2024-01-01` }) },
  { name: 'update scan', expect: EDIT, request: () => ({ method: 'PUT', url: `${SESS}/scans/1?xsiType=xnat:mrScanData&xnat:mrScanData/type=T1w` }) },
  { name: 'delete file', expect: DELETE, request: (r) => ({ method: 'DELETE', url: `${RES}/files/del_${r}.txt` }) },
  { name: 'delete scan', expect: DELETE, request: (r) => ({ method: 'DELETE', url: `${SESS}/scans/d${r}?removeFiles=true` }) },
  { name: 'delete session', expect: DELETE, request: (r) => ({ method: 'DELETE', url: `/data/projects/P/subjects/del_${r}/experiments/edel_${r}` }) },
  { name: 'delete subject', expect: DELETE, request: (r) => ({ method: 'DELETE', url: `/data/projects/P/subjects/del_${r}` }) },
  { name: 'delete project', expect: DELETE, request: (r) => ({ method: 'DELETE', url: `/data/projects/D_${r}` }) },
  { name: 'add project member', expect: MANAGE, request: () => ({ method: 'PUT', url: '/data/projects/P/users/Collaborators/other2' }) },
  { name: 'create project', expect: { admin: 201, owner: 201, member: 201, collaborator: 201, other: 201, guest: 401 },
    request: (r) => ({ method: 'PUT', url: `/data/projects/NEW_${r}?xsiType=xnat:projectData` }) },
  { name: 'create user', expect: { admin: 201, owner: 403, member: 403, collaborator: 403, other: 403, guest: 401 },
    request: (r) => ({ method: 'POST', url: '/xapi/users', payload: JSON.stringify({ username: `u_${r}`, password: 'p' }),
      headers: { 'content-type': 'application/json' } }) },
];

test('permission matrix', async () => {
  await server.opened.users.addUser({ login: 'other2', password: PW });
  const failures: string[] = [];
  for (const ep of ENDPOINTS) {
    for (const role of ROLES) {
      const req = ep.request(role);
      const res = await app.inject({ method: req.method, url: req.url, payload: req.payload,
        headers: { ...headers(role), ...(req.headers ?? {}) } });
      if (res.statusCode !== ep.expect[role]) {
        failures.push(`${ep.name} as ${role}: ${res.statusCode} (expected ${ep.expect[role]}) ${res.body.slice(0, 120)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('listings only show readable projects, and refused requests change nothing', async () => {
  const list = async (role: Role) => {
    const res = await app.inject({ method: 'GET', url: '/data/projects?format=json', headers: headers(role) });
    return (JSON.parse(res.body) as { ResultSet: { Result: Array<{ ID: string }> } }).ResultSet.Result.map((r) => r.ID);
  };
  assert.ok((await list('collaborator')).includes('P'));
  assert.ok(!(await list('other')).includes('P'));
  const exp = await app.inject({ method: 'GET', url: '/data/experiments?format=json', headers: headers('other') });
  assert.equal(exp.statusCode, 200);
  assert.ok(!exp.body.includes(session));
  // The collaborator's refused upload and the other user's refused subject left nothing behind.
  const files = (await archive.listFiles(resource)).map((f) => f.name);
  assert.ok(!files.includes('up_collaborator.txt') && !files.includes('up_other.txt'));
  assert.ok(files.includes('up_member.txt'));
  assert.equal(await archive.findChild({ kind: 'project', project: 'P' }, 'subjects', 'new_other'), undefined);
});

test('alias tokens authenticate as their user until invalidated', async () => {
  const users = server.opened.users;
  const t = await users.issueAliasToken('collaborator', 60);
  const ok = await app.inject({ method: 'GET', url: '/data/projects/P?format=json', headers: basic(t.alias, t.secret) });
  assert.equal(ok.statusCode, 200);
  const refused = await app.inject({ method: 'PUT', url: '/data/projects/P/subjects/alias_s', headers: basic(t.alias, t.secret) });
  assert.equal(refused.statusCode, 403);
  await users.invalidateAliasToken(t.alias);
  const gone = await app.inject({ method: 'GET', url: '/data/projects/P?format=json', headers: basic(t.alias, t.secret) });
  assert.equal(gone.statusCode, 401);
  const bad = await app.inject({ method: 'GET', url: '/data/projects', headers: basic('owner', 'wrong') });
  assert.equal(bad.statusCode, 401);
});

test('JSESSION cookie authenticates later requests and ends with DELETE', async () => {
  const login = await app.inject({ method: 'GET', url: '/data/JSESSION', headers: headers('member') });
  assert.equal(login.statusCode, 200);
  const token = login.body;
  assert.match(String(login.headers['set-cookie']), new RegExp(`JSESSIONID=${token}`));
  const cookie = { cookie: `JSESSIONID=${token}` };
  assert.equal((await app.inject({ method: 'GET', url: '/data/projects/P?format=json', headers: cookie })).statusCode, 200);
  // A change authenticated by the cookie alone needs the console's header (CSRF, test/security-csrf.test.ts).
  assert.equal((await app.inject({ method: 'DELETE', url: '/data/JSESSION', headers: cookie })).statusCode, 403);
  assert.equal((await app.inject({ method: 'GET', url: '/data/projects/P?format=json', headers: cookie })).statusCode, 200);
  await app.inject({ method: 'DELETE', url: '/data/JSESSION', headers: { ...cookie, 'x-requested-with': 'XMLHttpRequest' } });
  assert.equal((await app.inject({ method: 'GET', url: '/data/projects/P', headers: cookie })).statusCode, 401);
});
