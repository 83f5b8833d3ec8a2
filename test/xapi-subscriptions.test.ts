// Event Service subscriptions of container actions (reference §7.3, §5.6) over real HTTP with the real engine
// and Docker: converting command event mappings (shape, mapping disabled, idempotent, event types refused),
// subscription CRUD with access and validation errors (JSON paths, nothing stored), and an active subscription
// launching its wrapper when a session is archived — not when inactive, nor when its payload filter refuses
// the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutomationStore, type EventType } from '../src/automation/store.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

let s: TestServer;
const H: Record<string, Record<string, string>> = {};
let commandId = 0;
let wrapper = 0;
let subject = '';

const SESSION_EVENT = 'org.nrg.xnat.eventservice.events.SessionEvent';
const SCAN_EVENT = 'org.nrg.xnat.eventservice.events.ScanEvent';
const KEY = (id: number): string => `org.nrg.containers.services.CommandActionProvider:${id}`;

/** Writes "<title> <session label>" to SUB/out.txt on the session. */
const COMMAND = {
  name: 'sub-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
  'command-line': "sh -c 'echo #TITLE# #LABEL# > /output/out.txt'",
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }, { name: 'title', 'replacement-key': '#TITLE#', 'default-value': 'none' }],
  outputs: [{ name: 'out', mount: 'out', path: 'out.txt', required: true }],
  xnat: [{
    name: 'sub-echo-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
    'output-handlers': [{ name: 'out-resource', 'accepts-command-output': 'out', 'as-a-child-of': 'session', label: 'SUB' }],
  }],
};

interface Sub {
  id: number; name: string; active: boolean; 'action-key': string; attributes: Record<string, string>;
  'event-filter': { 'event-type': string; 'project-ids': string[]; status: string; 'payload-filter': string };
  'act-as-event-user': boolean; 'subscription-owner': string; valid: boolean; 'valid-message': string;
}
interface Run { id: number; status: string; 'wrapper-id': number; 'user-id': string }

const ended = (r: Run | undefined): boolean => r !== undefined && /^(Complete|Failed|Killed)/.test(r.status);

function body(over: Record<string, unknown> = {}, filter: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: `sub ${Math.random().toString(36).slice(2)}`, 'action-key': KEY(wrapper), attributes: { title: 'hello' },
    'event-filter': { 'event-type': SESSION_EVENT, 'project-ids': ['SUBS'], status: 'CREATED', 'payload-filter': '', ...filter }, ...over };
}

async function mapping(event: string, project: string | null, extra: Record<string, unknown> = {}): Promise<number> {
  const r = await call(s.url, 'POST', '/xapi/commandeventmapping', { headers: H.owner,
    json: { 'event-type': event, 'command-id': commandId, 'xnat-command-wrapper': 'sub-echo-session', project, enabled: true, ...extra } });
  assert.equal(r.status, 201, r.text);
  return (r.body as { id: number }).id;
}

async function runsOn(uri: string): Promise<Run[]> {
  const all = (await call(s.url, 'GET', '/xapi/containers?all=true', { headers: H.admin })).body as Run[];
  const out: Run[] = [];
  for (const r of all.filter((x) => x['wrapper-id'] === wrapper)) {
    const full = (await call(s.url, 'GET', `/xapi/containers/${r.id}`, { headers: H.admin })).body as { inputs: Array<{ name: string; value: string }> };
    if (full.inputs.some((i) => i.name === 'session' && i.value === uri)) out.push(r);
  }
  return out;
}

async function newSession(label: string, by = 'admin'): Promise<{ id: string; uri: string }> {
  const e = await s.opened.archive.createSession(subject, { label, xsiType: 'xnat:mrSessionData' }, by);
  return { id: e.id, uri: e.archiveUri };
}

before(async () => {
  s = await startTestServer();
  H.admin = basic('admin', s.adminPassword);
  const { archive, users } = s.opened;
  await archive.createProject({ id: 'SUBS' }, 'admin');
  await archive.createProject({ id: 'OTHER' }, 'admin');
  subject = (await archive.createSubject('SUBS', { label: 'S' }, 'admin')).id;
  for (const [login, project, role] of [['owner', 'SUBS', 'owner'], ['member', 'SUBS', 'member'], ['other', 'OTHER', 'owner']] as const) {
    await users.addUser({ login, password: `${login}-pw-1` });
    await users.setRole(project, login, role);
    H[login] = basic(login, `${login}-pw-1`);
  }
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: H.admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  commandId = Number(reg.body);
  wrapper = ((await call(s.url, 'GET', `/xapi/commands/${commandId}`, { headers: H.admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wrapper}/enabled`, { headers: H.admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/SUBS/wrappers/${wrapper}/enabled`, { headers: H.admin })).status, 200);
});

after(async () => {
  await stopWithContainers(s);
});

test('a SessionArchived mapping converts into an inactive SessionEvent/CREATED subscription, once, and is disabled', async () => {
  const id = await mapping('SessionArchived', 'SUBS');
  assert.equal((await call(s.url, 'POST', `/xapi/commandeventmapping/${id}/convert`, { headers: H.other })).status, 404);
  assert.equal((await call(s.url, 'POST', `/xapi/commandeventmapping/${id}/convert`, { headers: H.member })).status, 403);
  assert.equal((await call(s.url, 'POST', '/xapi/commandeventmapping/999999/convert', { headers: H.admin })).status, 404);
  const r = await call(s.url, 'POST', `/xapi/commandeventmapping/${id}/convert`, { headers: H.owner });
  assert.equal(r.status, 201, r.text);
  const sub = r.body as Sub;
  assert.deepEqual(sub, {
    id: sub.id, name: `sub-echo-session on session archived (converted from command event mapping ${id})`, active: false,
    'action-key': KEY(wrapper), attributes: {},
    'event-filter': { 'event-type': SESSION_EVENT, 'project-ids': ['SUBS'], status: 'CREATED', 'payload-filter': '' },
    'act-as-event-user': false, 'subscription-owner': 'owner', valid: true, 'valid-message': '',
  });
  const m = (await call(s.url, 'GET', `/xapi/commandeventmapping/${id}`, { headers: H.owner })).body as { enabled: boolean };
  assert.equal(m.enabled, false, 'the mapping is disabled once converted');
  // Converting again (say, a retry after a lost answer) gives the same subscription and stores nothing new.
  const again = await call(s.url, 'POST', `/xapi/commandeventmapping/${id}/convert`, { headers: H.admin });
  assert.equal(again.status, 201, again.text);
  assert.equal((again.body as Sub).id, sub.id);
  const all = (await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.admin })).body as Sub[];
  assert.equal(all.filter((x) => x.name === sub.name).length, 1);
  assert.deepEqual((await call(s.url, 'GET', `/xapi/events/subscription/${sub.id}`, { headers: H.member })).body, sub, 'readers of the project see it');
});

test('Merged and ScanArchived convert to SessionEvent/MERGED and ScanEvent/CREATED; site-wide and xsi-type mappings too', async () => {
  const merged = await call(s.url, 'POST', `/xapi/commandeventmapping/${await mapping('Merged', 'SUBS')}/convert`, { headers: H.owner });
  assert.equal(merged.status, 201, merged.text);
  assert.deepEqual((merged.body as Sub)['event-filter'], { 'event-type': SESSION_EVENT, 'project-ids': ['SUBS'], status: 'MERGED', 'payload-filter': '' });
  const scanMapping = await mapping('ScanArchived', 'SUBS', { 'xsi-type': 'xnat:mrScanData' });
  const scan = await call(s.url, 'POST', `/xapi/commandeventmapping/${scanMapping}/convert`, { headers: H.owner });
  assert.equal(scan.status, 201, scan.text);
  assert.deepEqual((scan.body as Sub)['event-filter'], { 'event-type': SCAN_EVENT, 'project-ids': ['SUBS'], status: 'CREATED',
    'payload-filter': "@.xsiType in ['xnat:mrScanData']" });
  assert.match((scan.body as Sub).name, /on scan archived \(converted from command event mapping \d+\)$/);
  const site = await call(s.url, 'POST', '/xapi/commandeventmapping', { headers: H.admin,
    json: { 'event-type': 'SessionArchived', 'command-id': commandId, 'xnat-command-wrapper': 'sub-echo-session' } });
  const siteId = (site.body as { id: number }).id;
  assert.equal((await call(s.url, 'POST', `/xapi/commandeventmapping/${siteId}/convert`, { headers: H.owner })).status, 404, 'site-wide: managers only');
  const siteSub = await call(s.url, 'POST', `/xapi/commandeventmapping/${siteId}/convert`, { headers: H.admin });
  assert.equal(siteSub.status, 201, siteSub.text);
  assert.deepEqual((siteSub.body as Sub)['event-filter']['project-ids'], []);
  assert.equal((siteSub.body as Sub)['subscription-owner'], 'admin');
  // A site-wide subscription is only listed for managers.
  const forOwner = (await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.owner })).body as Sub[];
  assert.ok(!forOwner.some((x) => x.id === (siteSub.body as Sub).id));
});

test('a mapping of another event type is refused (400) and left as it was', async () => {
  // The REST API takes only the three convertible types; older or imported data may hold others.
  const store = await AutomationStore.open(s.opened.db);
  const m = await store.addMapping({ 'event-type': 'ProjectCreated' as EventType, 'command-id': commandId, 'xnat-command-wrapper': 'sub-echo-session',
    project: 'SUBS', 'subscription-user-name': 'owner', enabled: true, 'xsi-type': null, timestamp: new Date().toISOString() });
  const before = ((await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.admin })).body as Sub[]).length;
  const r = await call(s.url, 'POST', `/xapi/commandeventmapping/${m.id}/convert`, { headers: H.owner });
  assert.equal(r.status, 400, r.text);
  assert.match((r.body as { message: string }).message, /ProjectCreated.*only SessionArchived, Merged, ScanArchived convert/);
  assert.equal((r.body as { path: string }).path, '/event-type');
  assert.equal((await store.mapping(m.id)).enabled, true, 'a refused conversion does not disable the mapping');
  assert.equal(((await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.admin })).body as Sub[]).length, before);
});

test('subscription CRUD: create (201, owner = caller), read, update, activate, deactivate, delete, with the access rule', async () => {
  assert.equal((await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.member, json: body() })).status, 403);
  assert.equal((await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.other, json: body() })).status, 404);
  assert.equal((await call(s.url, 'POST', '/xapi/events/subscription', { json: body() })).status, 401);
  assert.equal((await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.owner, json: body({}, { 'project-ids': [] }) })).status, 403,
    'site-wide subscriptions need a container manager');
  const asUser = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.owner, json: body({ 'act-as-event-user': true }) });
  assert.equal(asUser.status, 403, asUser.text);
  assert.equal((asUser.body as { path: string }).path, '/act-as-event-user');

  const created = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.owner,
    json: body({ name: 'crud', 'subscription-owner': 'admin' }, { 'payload-filter': "$[?(@.label == 'X')]" }) });
  assert.equal(created.status, 201, created.text);
  const sub = created.body as Sub;
  assert.deepEqual(sub, { id: sub.id, name: 'crud', active: true, 'action-key': KEY(wrapper), attributes: { title: 'hello' },
    'event-filter': { 'event-type': SESSION_EVENT, 'project-ids': ['SUBS'], status: 'CREATED', 'payload-filter': "@.label == 'X'" },
    'act-as-event-user': false, 'subscription-owner': 'owner', valid: true, 'valid-message': '' });
  const path = `/xapi/events/subscription/${sub.id}`;
  assert.deepEqual((await call(s.url, 'GET', path, { headers: H.member })).body, sub);
  assert.equal((await call(s.url, 'GET', path, { headers: H.other })).status, 404);
  assert.ok(!((await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.other })).body as Sub[]).some((x) => x.id === sub.id));

  assert.equal((await call(s.url, 'PUT', path, { headers: H.member, json: { name: 'x' } })).status, 403);
  assert.equal((await call(s.url, 'PUT', path, { headers: H.other, json: { name: 'x' } })).status, 404);
  const upd = await call(s.url, 'PUT', path, { headers: H.owner, json: { name: 'crud 2', attributes: { title: 'bye' }, 'event-filter': { 'payload-filter': '' } } });
  assert.equal(upd.status, 200, upd.text);
  assert.deepEqual(upd.body, { ...sub, name: 'crud 2', attributes: { title: 'bye' }, 'event-filter': { ...sub['event-filter'], 'payload-filter': '' } });
  const bad = await call(s.url, 'PUT', path, { headers: H.owner, json: { 'event-filter': { status: 'DELETED' } } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(((await call(s.url, 'GET', path, { headers: H.owner })).body as Sub)['event-filter'].status, 'CREATED', 'a refused update changes nothing');
  // Moving it to a project the owner cannot read is refused as for any unreadable project.
  assert.equal((await call(s.url, 'PUT', path, { headers: H.owner, json: { 'event-filter': { 'project-ids': ['OTHER'] } } })).status, 404);

  assert.equal((await call(s.url, 'POST', `${path}/deactivate`, { headers: H.member })).status, 403);
  assert.equal(((await call(s.url, 'POST', `${path}/deactivate`, { headers: H.owner })).body as Sub).active, false);
  assert.equal(((await call(s.url, 'GET', path, { headers: H.owner })).body as Sub).active, false);
  assert.equal(((await call(s.url, 'POST', `${path}/activate`, { headers: H.owner })).body as Sub).active, true);
  assert.equal((await call(s.url, 'DELETE', path, { headers: H.member })).status, 403);
  assert.equal((await call(s.url, 'DELETE', path, { headers: H.owner })).status, 204);
  assert.equal((await call(s.url, 'GET', path, { headers: H.owner })).status, 404);

  // valid / valid-message follow enablement.
  const off = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.admin, json: body({}, { 'project-ids': ['OTHER'] }) });
  assert.equal(off.status, 201, off.text);
  assert.equal((off.body as Sub).valid, false);
  assert.match((off.body as Sub)['valid-message'], /not enabled in project OTHER/);
  assert.equal((await call(s.url, 'DELETE', `/xapi/events/subscription/${(off.body as Sub).id}`, { headers: H.admin })).status, 204);
});

test('invalid subscriptions are refused with 400 and the JSON path of each problem; nothing is stored', async () => {
  const count = async (): Promise<number> => ((await call(s.url, 'GET', '/xapi/events/subscriptions', { headers: H.admin })).body as Sub[]).length;
  const before = await count();
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [body({ 'action-key': 'org.example.OtherProvider:1' }), '/action-key', /only container actions/],
    [body({ 'action-key': KEY(999999) }), '/action-key', /No wrapper with id 999999/],
    [body({ name: ' ' }), '/name', /name/],
    [body({}, { 'event-type': 'org.nrg.xnat.eventservice.events.ProjectEvent' }), '/event-filter/event-type', /Unknown event type/],
    [body({}, { status: 'DELETED' }), '/event-filter/status', /Unknown status "DELETED"/],
    [body({}, { 'event-type': SCAN_EVENT, status: 'MERGED' }), '/event-filter/status', /does not occur for .*ScanEvent/],
    [body({}, { 'payload-filter': "@.label == 'x' &&" }), '/event-filter/payload-filter', /not a valid JsonPath filter/],
    [body({ attributes: { title: { a: 1 } } }), '/attributes/title', /must be a string/],
  ];
  for (const [json, path, message] of cases) {
    const r = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.admin, json });
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    const e = r.body as { path: string; message: string };
    assert.equal(e.path, path, r.text);
    assert.match(e.message, message);
  }
  // A project that does not exist gets the answer of one the caller cannot read, managers included.
  assert.equal((await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.admin, json: body({}, { 'project-ids': ['SUBS', 'NOPE'] }) })).status, 404);
  // Every problem is reported at once.
  const many = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.admin,
    json: body({ name: '', 'action-key': 'nope' }, { status: 'NEVER', 'payload-filter': '@.a ==' }) });
  assert.equal(many.status, 400);
  assert.deepEqual((many.body as { details: Array<{ path: string }> }).details.map((d) => d.path),
    ['/name', '/action-key', '/event-filter/status', '/event-filter/payload-filter']);
  assert.equal(await count(), before);
});

test('an active subscription launches its wrapper when a session is archived; not when inactive, nor when the payload filter refuses it', async () => {
  const created = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.owner,
    json: body({ name: 'launcher' }, { 'payload-filter': '@.label =~ /GO.*/' }) });
  assert.equal(created.status, 201, created.text);
  const sub = created.body as Sub;
  // Archived by the member; the subscription runs as its owner.
  const go = await newSession('GO1', 'member');
  let runs: Run[] = [];
  for (let i = 0; i < 300 && !(runs.length === 1 && ended(runs[0])); i++) {
    runs = await runsOn(go.uri);
    if (!(runs.length === 1 && ended(runs[0]))) await sleep(100);
  }
  assert.equal(runs.length, 1, JSON.stringify(runs));
  assert.equal(runs[0].status, 'Complete');
  assert.equal(runs[0]['user-id'], 'owner', 'launched as the subscription owner');
  const out = await call(s.url, 'GET', `/data/experiments/${go.id}/resources/SUB/files/out.txt`, { headers: H.admin });
  assert.equal(out.text, 'hello GO1\n', 'the attributes are inputs');

  const refused = await newSession('NO1');
  assert.equal(((await call(s.url, 'POST', `/xapi/events/subscription/${sub.id}/deactivate`, { headers: H.owner })).body as Sub).active, false);
  const inactive = await newSession('GO2');
  await sleep(500);
  assert.equal(((await call(s.url, 'POST', `/xapi/events/subscription/${sub.id}/activate`, { headers: H.owner })).body as Sub).active, true);
  // A control launched after both: once it has run, anything they had launched would be visible.
  const control = await newSession('GO3');
  let c: Run[] = [];
  for (let i = 0; i < 300 && !(c.length === 1 && ended(c[0])); i++) {
    c = await runsOn(control.uri);
    if (!(c.length === 1 && ended(c[0]))) await sleep(100);
  }
  assert.equal(c.length, 1, 'the reactivated subscription launches again');
  assert.deepEqual(await runsOn(refused.uri), [], 'the payload filter refused NO1');
  assert.deepEqual(await runsOn(inactive.uri), [], 'an inactive subscription launches nothing');
  assert.equal((await call(s.url, 'DELETE', `/xapi/events/subscription/${sub.id}`, { headers: H.owner })).status, 204);
});

test('act-as-event-user (managers only) launches as the user who archived the session', async () => {
  const created = await call(s.url, 'POST', '/xapi/events/subscription', { headers: H.admin,
    json: body({ name: 'as-user', 'act-as-event-user': true }, { 'payload-filter': "@.label == 'ASUSER'" }) });
  assert.equal(created.status, 201, created.text);
  const e = await newSession('ASUSER', 'member');
  let runs: Run[] = [];
  for (let i = 0; i < 300 && !(runs.length === 1 && ended(runs[0])); i++) {
    runs = await runsOn(e.uri);
    if (!(runs.length === 1 && ended(runs[0]))) await sleep(100);
  }
  assert.equal(runs.length, 1);
  assert.equal(runs[0]['user-id'], 'member');
  assert.equal((await call(s.url, 'DELETE', `/xapi/events/subscription/${(created.body as Sub).id}`, { headers: H.admin })).status, 204);
});
