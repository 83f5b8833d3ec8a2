// XNAT's other launch forms over real HTTP with the real engine (reference §5.1, §5.3): the deprecated launch
// and bulk-launch paths without `/root/{rootElement}`, the bulk launch UI (`GET …/bulklaunch`), and
// `POST /xapi/command/{id}/visibility/{visibility}` with what it changes for a user who may not see the
// command (launch UI, launch, bulk launch and its dry run all answer as for a missing command).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const PW = 'pw-forms-1';
const COMMAND = {
  name: 'forms-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'echo #LABEL# #GREETING#', 'override-entrypoint': true,
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true },
    { name: 'greeting', 'replacement-key': '#GREETING#', default: 'hello' }],
  xnat: [{
    name: 'forms-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
  }],
};

let s: TestServer;
let admin: Record<string, string>;
let member: Record<string, string>;
let cid: number;
let wid: number;
const sessions: string[] = [];

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  member = basic('member', PW);
  const { archive, users } = s.opened;
  await users.addUser({ login: 'member', password: PW });
  await archive.createProject({ id: 'F' }, 'admin');
  await users.setRole('F', 'member', 'member');
  const subject = await archive.createSubject('F', { label: 'S1' }, 'admin');
  for (const label of ['E1', 'E2', 'E3']) {
    sessions.push((await archive.createSession(subject.id, { label, xsiType: 'xnat:mrSessionData' }, 'admin')).archiveUri);
  }
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  cid = Number(reg.body);
  wid = ((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/F/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
});

after(async () => {
  await stopWithContainers(s);
});

interface Run { id: number; status: string; project: string; 'command-line': string }

async function finished(id: number): Promise<Run> {
  for (let i = 0; i < 300; i++) {
    const r = (await call(s.url, 'GET', `/xapi/containers/${id}`, { headers: admin })).body as Run;
    if (/^(Complete|Failed|Killed)/.test(r.status)) return r;
    await sleep(100);
  }
  throw new Error(`run ${id} did not finish`);
}

test('launch without a root element, in each of the five deprecated forms: the run gets the object\'s project and completes', async () => {
  const forms: Array<{ path: string; json: boolean }> = [
    { path: `/xapi/wrappers/${wid}/launch`, json: true },
    { path: `/xapi/projects/F/wrapper/${wid}/launch`, json: false },
    { path: `/xapi/projects/F/wrappers/${wid}/launch`, json: true },
    { path: `/xapi/commands/${cid}/wrappers/forms-session/launch`, json: false },
    { path: `/xapi/projects/F/commands/${cid}/wrappers/forms-session/launch`, json: true },
  ];
  for (const [i, f] of forms.entries()) {
    const greeting = `hi${i}`;
    const r = f.json
      ? await call(s.url, 'POST', f.path, { headers: member, json: { session: sessions[0], greeting } })
      : await call(s.url, 'POST', `${f.path}?session=${encodeURIComponent(sessions[0])}&greeting=${greeting}`, { headers: member });
    assert.equal(r.status, 200, `${f.path}: ${r.text}`);
    const report = r.body as { status: string; id: number; params: Record<string, string> };
    assert.equal(report.status, 'success');
    assert.equal(report.params.greeting, greeting);
    const run = await finished(report.id);
    assert.equal(run.status, 'Complete', f.path);
    assert.equal(run.project, 'F', `${f.path}: the project comes from the session`);
    assert.match(run['command-line'], new RegExp(`echo E1 ${greeting}`), f.path);
  }
});

test('a root-less launch is checked like the others: a reader of another project gets 404, a bad value 400 and no run', async () => {
  await s.opened.users.addUser({ login: 'stranger', password: PW });
  const before = ((await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Run[]).length;
  const hidden = await call(s.url, 'POST', `/xapi/wrappers/${wid}/launch`, { headers: basic('stranger', PW), json: { session: sessions[0] } });
  assert.equal(hidden.status, 404, hidden.text);
  const bad = await call(s.url, 'POST', `/xapi/wrappers/${wid}/launch`, { headers: member, json: { session: sessions[0], greeting: 'a;b' } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal((bad.body as { status: string }).status, 'failure');
  assert.match((bad.body as { message: string }).message, /greeting/);
  const missing = await call(s.url, 'POST', '/xapi/wrappers/999999/launch', { headers: member, json: { session: sessions[0] } });
  assert.equal(missing.status, 404, missing.text);
  const after = ((await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Run[]).length;
  assert.equal(after, before, 'nothing was launched');
});

test('bulk launch without a root element: the body\'s list names the root; each form reports every target', async () => {
  const forms = [
    `/xapi/wrappers/${wid}/bulklaunch`,
    `/xapi/commands/${cid}/wrappers/forms-session/bulklaunch`,
    `/xapi/projects/F/wrappers/${wid}/bulklaunch`,
    `/xapi/projects/F/commands/${cid}/wrappers/forms-session/bulklaunch`,
  ];
  for (const path of forms) {
    const dry = await call(s.url, 'POST', `${path}?dryRun=true`, { headers: member,
      json: { session: JSON.stringify([...sessions, '/archive/experiments/NOPE']), greeting: 'bulk' } });
    assert.equal(dry.status, 200, `${path}: ${dry.text}`);
    const report = dry.body as { 'dry-run': boolean; successes: Array<{ params: Record<string, string> }>; failures: Array<{ message: string }> };
    assert.equal(report['dry-run'], true);
    assert.deepEqual(report.successes.map((x) => x.params.session), sessions, path);
    assert.equal(report.failures.length, 1, path);
    assert.match(report.failures[0].message, /NOPE/);
  }
  const real = await call(s.url, 'POST', forms[0], { headers: member, json: { session: JSON.stringify(sessions.slice(0, 2)) } });
  assert.equal(real.status, 200, real.text);
  const ids = (real.body as { successes: Array<{ id: number }> }).successes.map((x) => x.id);
  assert.equal(ids.length, 2);
  for (const id of ids) assert.equal((await finished(id)).status, 'Complete');

  const none = await call(s.url, 'POST', forms[0], { headers: member, json: { greeting: 'x' } });
  assert.equal(none.status, 400, none.text);
  assert.match((none.body as { message: string }).message, /no targets.*session/);
});

test('bulk launch UI: the sample target\'s values, the root and what derives from it marked derived; missing parameters are 400', async () => {
  for (const path of [`/xapi/wrappers/${wid}/bulklaunch`, `/xapi/projects/F/commands/${cid}/wrappers/forms-session/bulklaunch`]) {
    const r = await call(s.url, 'GET', `${path}?rootElement=session&sampleTarget=${encodeURIComponent(sessions[1])}`, { headers: member });
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    const ui = r.body as {
      meta: { 'wrapper-id': number };
      'input-config': Array<{ name: string; 'input-type': string; 'derived-value-info': string | null; 'derived-value-message': string | null;
        children: Array<{ name: string; 'input-type': string; 'derived-value-info': string | null }> }>;
      'input-values': Array<{ name: string; values: Array<{ value: string; children: Array<{ name: string; values: Array<{ value: string }> }> }> }>;
    };
    assert.equal(ui.meta['wrapper-id'], wid);
    const root = ui['input-config'].find((n) => n.name === 'session')!;
    assert.equal(root['input-type'], 'derived');
    assert.match(root['derived-value-info'] ?? '', /each selected target/i);
    assert.match(root['derived-value-message'] ?? '', /sample target/);
    const label = root.children.find((n) => n.name === 'session-label')!;
    assert.equal(label['input-type'], 'derived');
    assert.match(label['derived-value-info'] ?? '', /<b>session<\/b>/);
    const greeting = ui['input-config'].find((n) => n.name === 'greeting')!;
    assert.equal(greeting['input-type'], 'text', 'inputs that do not depend on the target stay editable');
    assert.equal(greeting['derived-value-info'], null);
    const values = ui['input-values'].find((n) => n.name === 'session')!;
    assert.equal(values.values[0].value, sessions[1]);
    assert.equal(values.values[0].children.find((c) => c.name === 'session-label')?.values[0].value, 'E2');
  }
  // The ordinary launch UI is unchanged by the bulk one.
  const single = (await call(s.url, 'GET', `/xapi/wrappers/${wid}/launch?session=${encodeURIComponent(sessions[1])}`, { headers: member }))
    .body as { 'input-config': Array<{ name: string; 'input-type': string; 'derived-value-info': string | null }> };
  assert.equal(single['input-config'].find((n) => n.name === 'session')?.['input-type'], 'static');
  assert.equal(single['input-config'].find((n) => n.name === 'session')?.['derived-value-info'], null);

  const base = `/xapi/wrappers/${wid}/bulklaunch`;
  const noSample = await call(s.url, 'GET', `${base}?rootElement=session`, { headers: member });
  assert.equal(noSample.status, 400);
  assert.match((noSample.body as { message: string }).message, /^The command could not be resolved.\nNo sample target specified/);
  assert.equal((noSample.body as { path: string }).path, 'sampleTarget');
  const noRoot = await call(s.url, 'GET', `${base}?sampleTarget=${encodeURIComponent(sessions[1])}`, { headers: member });
  assert.equal(noRoot.status, 400);
  assert.equal((noRoot.body as { path: string }).path, 'rootElement');
  const badRoot = await call(s.url, 'GET', `${base}?rootElement=scan&sampleTarget=${encodeURIComponent(sessions[1])}`, { headers: member });
  assert.equal(badRoot.status, 400);
  assert.match((badRoot.body as { message: string }).message, /no external input "scan"/);
  const unreadable = await call(s.url, 'GET', `${base}?rootElement=session&sampleTarget=${encodeURIComponent(sessions[1])}`, { headers: basic('stranger', PW) });
  assert.equal(unreadable.status, 404, unreadable.text);
});

test('POST /xapi/command/{id}/visibility/{v}: managers only, lower-case values, and private hides the command from users of no enabled project', async () => {
  const path = (v: string, id = cid): string => `/xapi/command/${id}/visibility/${v}`;
  assert.equal((await call(s.url, 'POST', path('private'), { headers: member })).status, 403);
  assert.equal((await call(s.url, 'POST', path('private'))).status, 401);
  const bad = await call(s.url, 'POST', path('Secret'), { headers: admin });
  assert.equal(bad.status, 400);
  assert.match((bad.body as { message: string }).message, /^\[visibility "Secret" is unknown/);
  assert.equal((await call(s.url, 'POST', path('Private'), { headers: admin })).status, 400, 'validation wants lower case');
  const missing = await call(s.url, 'POST', path('private', 999999), { headers: admin });
  assert.equal(missing.status, 404);
  assert.equal((missing.body as { message: string }).message, 'The command identified by id 999999 does not exist.');
  assert.equal(((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: admin })).body as { visibility: string }).visibility, 'public', 'refusals changed nothing');

  const set = await call(s.url, 'POST', path('private'), { headers: admin });
  assert.equal(set.status, 200, set.text);
  assert.equal(((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: admin })).body as { visibility: string }).visibility, 'private');
  // The member reads F, where the wrapper is enabled: still visible. The stranger reads no such project.
  assert.equal((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: member })).status, 200);
  const stranger = basic('stranger', PW);
  assert.equal((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: stranger })).status, 404);
  const dry = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/bulklaunch?dryRun=true`, { headers: stranger, json: { session: JSON.stringify(sessions) } });
  assert.equal(dry.status, 404, `a dry run does not reveal a command the caller may not see: ${dry.text}`);
  assert.equal((await call(s.url, 'POST', `/xapi/commands/${cid}/wrappers/forms-session/bulklaunch?dryRun=true`, { headers: stranger,
    json: { session: JSON.stringify(sessions) } })).status, 404);
  assert.equal((await call(s.url, 'POST', path('public'), { headers: admin })).status, 200);
  const visible = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/bulklaunch?dryRun=true`, { headers: stranger, json: { session: JSON.stringify(sessions) } });
  assert.equal(visible.status, 200, 'public again: the dry run answers, each target failing for want of access');
  assert.equal((visible.body as { failures: unknown[] }).failures.length, sessions.length);
});
