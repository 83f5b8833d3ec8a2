// Command visibility (reference §6.4, §1.1) over real HTTP with the real engine and Docker: for users who are
// not container managers, a private command shows up — in listings, single reads, availability, the launch UI
// and launch — only once one of its wrappers is enabled in a project they can read; public and protected
// commands show up for everyone signed in; container managers see everything. Hidden answers are 404, as for
// a wrapper or command that does not exist.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

let s: TestServer;
let admin: Record<string, string>;
let alice: Record<string, string>;
let bob: Record<string, string>;

function command(name: string, visibility: string): object {
  return {
    name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', visibility, 'override-entrypoint': true,
    'command-line': 'echo #MSG#', inputs: [{ name: 'msg', 'replacement-key': '#MSG#' }],
    xnat: [
      { name: `${name}-session`, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }] },
      { name: `${name}-site`, contexts: [], 'external-inputs': [{ name: 'msg', type: 'string', required: true, 'provides-value-for-command-input': 'msg' }] },
    ],
  };
}

interface Cmd { id: number; name: string; xnat: Array<{ id: number; name: string }> }
const ids: Record<string, { command: number; session: number; site: number }> = {};
let sessionVP1 = '';
let sessionVP2 = '';
const launched: number[] = [];

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  const { archive, users } = s.opened;
  for (const p of ['VP1', 'VP2']) {
    await archive.createProject({ id: p }, 'admin');
    const subject = await archive.createSubject(p, { label: 'S' }, 'admin');
    const e = await archive.createSession(subject.id, { label: `${p}_E1`, xsiType: 'xnat:mrSessionData' }, 'admin');
    if (p === 'VP1') sessionVP1 = e.archiveUri;
    else sessionVP2 = e.archiveUri;
  }
  await users.addUser({ login: 'alice', password: 'alice-pw-1' });
  await users.addUser({ login: 'bob', password: 'bob-pw-1' });
  await users.setRole('VP1', 'alice', 'member');
  await users.setRole('VP2', 'bob', 'member');
  alice = basic('alice', 'alice-pw-1');
  bob = basic('bob', 'bob-pw-1');
  for (const [name, visibility] of [['pub', 'public'], ['prot', 'protected'], ['priv', 'private']]) {
    const r = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: command(name, visibility) });
    assert.equal(r.status, 201, r.text);
    const c = (await call(s.url, 'GET', `/xapi/commands/${Number(r.body)}`, { headers: admin })).body as Cmd;
    ids[name] = { command: c.id, session: c.xnat[0].id, site: c.xnat[1].id };
    for (const w of c.xnat) assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${w.id}/enabled`, { headers: admin })).status, 200);
    for (const p of ['VP1', 'VP2']) {
      if (name === 'priv' && p === 'VP1') continue; // the private command is enabled in bob's project only
      assert.equal((await call(s.url, 'PUT', `/xapi/projects/${p}/wrappers/${c.xnat[0].id}/enabled`, { headers: admin })).status, 200);
    }
  }
});

after(async () => {
  // Let the few launched runs end before the engine stops, then remove their containers.
  for (let i = 0; i < 300 && launched.length > 0; i++) {
    const runs = (await call(s.url, 'GET', '/xapi/containers?all=true', { headers: admin })).body as Array<{ id: number; status: string }>;
    if (launched.every((id) => /^(Complete|Failed|Killed)/.test(runs.find((r) => r.id === id)?.status ?? ''))) break;
    await sleep(100);
  }
  await stopWithContainers(s);
});

const names = async (who: Record<string, string>): Promise<string[]> =>
  ((await call(s.url, 'GET', '/xapi/commands', { headers: who })).body as Cmd[]).map((c) => c.name).sort();

const wrapperIdsOf = (body: unknown): number[] => (body as Array<{ 'wrapper-id': number }>).map((x) => x['wrapper-id']).sort((a, b) => a - b);

test('listings and single reads: private commands only through a readable project that enables them', async () => {
  assert.deepEqual(await names(alice), ['prot', 'pub']);
  assert.deepEqual(await names(bob), ['priv', 'prot', 'pub']);
  assert.deepEqual(await names(admin), ['priv', 'prot', 'pub']);
  assert.equal((await call(s.url, 'GET', `/xapi/commands/${ids.priv.command}`, { headers: alice })).status, 404);
  assert.equal((await call(s.url, 'GET', `/xapi/commands/${ids.priv.command}`, { headers: bob })).status, 200);
  assert.equal((await call(s.url, 'GET', `/xapi/commands/${ids.prot.command}`, { headers: alice })).status, 200);
});

test('availability: project, site and per-object listings leave out invisible commands', async () => {
  const t = 'xnat:mrSessionData';
  const vp1 = await call(s.url, 'GET', `/xapi/projects/VP1/commands/available?xsiType=${t}`, { headers: alice });
  assert.equal(vp1.status, 200, vp1.text);
  assert.deepEqual(wrapperIdsOf(vp1.body), [ids.pub.session, ids.prot.session]);
  const vp2 = await call(s.url, 'GET', `/xapi/commands/available?project=VP2&xsiType=${t}`, { headers: bob });
  assert.deepEqual(wrapperIdsOf(vp2.body), [ids.pub.session, ids.prot.session, ids.priv.session]);
  const site = await call(s.url, 'GET', `/xapi/commands/available/site?xsiType=${t}`, { headers: alice });
  assert.deepEqual(wrapperIdsOf(site.body), [ids.pub.session, ids.prot.session]);
  const siteAdmin = await call(s.url, 'GET', `/xapi/commands/available/site?xsiType=${t}`, { headers: admin });
  assert.deepEqual(wrapperIdsOf(siteAdmin.body), [ids.pub.session, ids.prot.session, ids.priv.session]);
  const explained = (await call(s.url, 'GET', `/xapi/availability?object=${encodeURIComponent(sessionVP1)}`, { headers: alice })).body as
    { available: unknown; unavailable: unknown };
  const all = [...wrapperIdsOf(explained.available), ...wrapperIdsOf(explained.unavailable)];
  assert.ok(all.includes(ids.pub.session));
  assert.ok(!all.includes(ids.priv.session) && !all.includes(ids.priv.site), 'not even listed as unavailable');
});

test('launch UI: 404 for a hidden command, by wrapper id or by command id and name, site or project form', async () => {
  const priv = ids.priv;
  const q = `?session=${encodeURIComponent(sessionVP1)}`;
  for (const path of [`/xapi/wrappers/${priv.site}/launch`, `/xapi/commands/${priv.command}/wrappers/priv-site/launch`,
    `/xapi/projects/VP1/wrappers/${priv.session}/launch${q}`]) {
    const r = await call(s.url, 'GET', path, { headers: alice });
    assert.equal(r.status, 404, `${path}: ${r.text}`);
  }
  assert.equal((await call(s.url, 'GET', `/xapi/wrappers/${priv.site}/launch`, { headers: bob })).status, 200);
  assert.equal((await call(s.url, 'GET', `/xapi/wrappers/${ids.prot.site}/launch`, { headers: alice })).status, 200);
  assert.equal((await call(s.url, 'GET', `/xapi/projects/VP2/wrappers/${priv.session}/launch?session=${encodeURIComponent(sessionVP2)}`,
    { headers: bob })).status, 200);
});

test('launch: a hidden command is refused like a missing wrapper; the same launch works for who may see it', async () => {
  const byId = `/xapi/wrappers/${ids.priv.site}/root/msg/launch`;
  const refused = await call(s.url, 'POST', byId, { headers: alice, json: { msg: 'hi' } });
  assert.equal(refused.status, 404, refused.text);
  const missing = await call(s.url, 'POST', '/xapi/wrappers/999999/root/msg/launch', { headers: alice, json: { msg: 'hi' } });
  assert.deepEqual({ ...(refused.body as object), 'wrapper-id': 0, message: '', path: '' },
    { ...(missing.body as object), 'wrapper-id': 0, message: '', path: '' }, 'the same answer shape as a wrapper that does not exist');
  const byName = await call(s.url, 'POST', `/xapi/commands/${ids.priv.command}/wrappers/priv-site/root/msg/launch`, { headers: alice, json: { msg: 'hi' } });
  assert.equal(byName.status, 404, byName.text);
  for (const who of [bob, admin]) {
    const ok = await call(s.url, 'POST', byId, { headers: who, json: { msg: 'hi' } });
    assert.equal(ok.status, 200, ok.text);
    launched.push((ok.body as { id: number }).id);
  }
  const prot = await call(s.url, 'POST', `/xapi/wrappers/${ids.prot.site}/root/msg/launch`, { headers: alice, json: { msg: 'hi' } });
  assert.equal(prot.status, 200, prot.text);
  launched.push((prot.body as { id: number }).id);
});

test('enabling the private wrapper in a project alice reads makes the command visible to her everywhere', async () => {
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/VP1/wrappers/${ids.priv.session}/enabled`, { headers: admin })).status, 200);
  assert.deepEqual(await names(alice), ['priv', 'prot', 'pub']);
  const vp1 = await call(s.url, 'GET', '/xapi/projects/VP1/commands/available?xsiType=xnat:mrSessionData', { headers: alice });
  assert.ok(wrapperIdsOf(vp1.body).includes(ids.priv.session));
  assert.equal((await call(s.url, 'GET', `/xapi/wrappers/${ids.priv.site}/launch`, { headers: alice })).status, 200);
  const ok = await call(s.url, 'POST', `/xapi/wrappers/${ids.priv.site}/root/msg/launch`, { headers: alice, json: { msg: 'hi' } });
  assert.equal(ok.status, 200, ok.text);
  launched.push((ok.body as { id: number }).id);
  // And disabling it hides it again.
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/VP1/wrappers/${ids.priv.session}/disabled`, { headers: admin })).status, 200);
  assert.deepEqual(await names(alice), ['prot', 'pub']);
});
