// Commands and wrappers over real HTTP (reference §5.1, §1.10, §6.1, §6.4): filters, update matching wrappers by
// name, wrapper add/update/delete, validation errors with paths, duplicates, 404/415/400, permissions, and
// a deleted wrapper leaving orchestrations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { basic, call, type Reply } from './xapi-helpers.ts';

let dir: string;
let server: RunningServer;
const admin = basic('admin', 'admin-pw');
const bob = basic('bob', 'bob-pw');
const cm = basic('carol', 'carol-pw');

interface StoredWrapper { id: number; name: string; 'external-inputs': Array<{ name: string }> }
interface StoredCommand { id: number; name: string; version: string; image: string; description?: string; xnat: StoredWrapper[] }

function wrapper(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }], ...extra };
}

function command(name: string, version = '1', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, version, image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': 'echo hi', xnat: [wrapper(`${name}-a`), wrapper(`${name}-b`)], ...extra };
}

const req = (method: string, path: string, headers: Record<string, string>, json?: unknown): Promise<Reply> =>
  call(server.url, method, path, { headers, json });

async function create(body: unknown): Promise<number> {
  const r = await req('POST', '/xapi/commands', admin, body);
  assert.equal(r.status, 201, r.text);
  return r.body as number;
}

async function get(id: number): Promise<StoredCommand> {
  const r = await req('GET', `/xapi/commands/${id}`, admin);
  assert.equal(r.status, 200, r.text);
  return r.body as StoredCommand;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-xapi-commands-'));
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  const users = server.opened.users;
  await users.addUser({ login: 'bob', password: 'bob-pw' });
  await users.addUser({ login: 'carol', password: 'carol-pw' });
  assert.equal((await req('PUT', '/xapi/users/carol/roles/ContainerManager', admin)).status < 300, true);
  await server.opened.archive.createProject({ id: 'PV' }, 'admin');
  await users.setRole('PV', 'bob', 'member');
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('list filters by name, version and image; version without name is refused', async () => {
  await create(command('filt', '1'));
  await create(command('filt', '2'));
  await create(command('other', '1', { image: 'xcs-test/busybox:test' }));
  const names = async (q: string): Promise<string[]> => {
    const r = await req('GET', `/xapi/commands${q}`, bob);
    assert.equal(r.status, 200, r.text);
    return (r.body as StoredCommand[]).map((c) => `${c.name}@${c.version}`).sort();
  };
  assert.deepEqual(await names('?name=filt'), ['filt@1', 'filt@2']);
  assert.deepEqual(await names('?name=filt&version=2'), ['filt@2']);
  assert.deepEqual(await names('?image=xcs-test/busybox:test'), ['other@1']);
  const bad = await req('GET', '/xapi/commands?version=1', bob);
  assert.equal(bad.status, 400);
  assert.match(bad.text, /If \\"version\\" is specified, must specify \\"name\\" as well/);
});

test('a duplicate (name, image, version) is refused with XNAT\'s message and nothing is stored', async () => {
  await create(command('dup'));
  const r = await req('POST', '/xapi/commands', admin, command('dup'));
  assert.equal(r.status, 400);
  assert.match(r.text, /This command duplicates a command already in the database\./);
  assert.equal(((await req('GET', '/xapi/commands?name=dup', admin)).body as unknown[]).length, 1);
});

test('an invalid command gets every error with its JSON path; malformed JSON gets the position; wrong type is 415', async () => {
  const bad = { name: 'broken', image: 'xcs-test/busybox:latest', inputs: [{ name: 'x', type: 'nonsense-type-but-ok' }, { type: 'string' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 'e' }, { name: 'e', type: 'Session' }] }] };
  const r = await req('POST', '/xapi/commands', admin, bad);
  assert.equal(r.status, 400, r.text);
  const details = (r.body as { details: Array<{ path: string; message: string }> }).details;
  const paths = details.map((d) => d.path);
  assert.ok(paths.includes('/inputs/1/name'), paths.join(' '));
  assert.ok(paths.some((p) => p.startsWith('/xnat/0/external-inputs/1')), paths.join(' '));
  assert.ok(details.length >= 2);
  assert.equal(((await req('GET', '/xapi/commands?name=broken', admin)).body as unknown[]).length, 0);

  const malformed = await call(server.url, 'POST', '/xapi/commands', { headers: { ...admin, 'content-type': 'application/json' }, body: '{"name": "m",, }' });
  assert.equal(malformed.status, 400);
  assert.match(malformed.text, /position \d+|line \d+|column \d+/);

  const text = await call(server.url, 'POST', '/xapi/commands', { headers: { ...admin, 'content-type': 'text/plain' }, body: JSON.stringify(command('texty')) });
  assert.equal(text.status, 415, text.text);
  const form = await call(server.url, 'POST', '/xapi/commands', { headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' });
  assert.equal(form.status, 415, form.text);
  assert.equal(((await req('GET', '/xapi/commands?name=texty', admin)).body as unknown[]).length, 0);
});

test('update re-validates and matches wrappers by name: kept ids, new inserted, missing deleted', async () => {
  const id = await create(command('upd'));
  const before = await get(id);
  const [a, b] = before.xnat;
  const wrapperEnabled = await req('PUT', `/xapi/wrappers/${a.id}/enabled`, admin);
  assert.equal(wrapperEnabled.status, 200);
  const next = { ...before, description: 'changed', xnat: [{ ...a, label: 'A' }, wrapper('upd-c')] };
  const r = await req('POST', `/xapi/commands/${id}`, cm, next);
  assert.equal(r.status, 200, r.text);
  const after = await get(id);
  assert.equal(after.description, 'changed');
  assert.deepEqual(after.xnat.map((w) => w.name), ['upd-a', 'upd-c']);
  assert.equal(after.xnat[0].id, a.id, 'same name keeps its id');
  assert.ok(after.xnat[1].id > b.id, 'new wrapper gets a new id');
  assert.equal((await req('GET', `/xapi/wrappers/${a.id}/enabled`, admin)).body, true, 'kept wrapper keeps its enablement');
  assert.equal((await req('GET', `/xapi/wrappers/${b.id}/enabled`, admin)).status, 404, 'missing wrapper is deleted');

  const invalid = await req('POST', `/xapi/commands/${id}`, admin, { ...after, xnat: [{ ...after.xnat[0], 'external-inputs': [{ name: '' }] }] });
  assert.equal(invalid.status, 400, invalid.text);
  assert.deepEqual((await get(id)).xnat.map((w) => w.name), ['upd-a', 'upd-c'], 'nothing stored after a refused update');

  // An update may not take the (name, image, version) of another command.
  await create(command('upd-other'));
  const clash = await req('POST', `/xapi/commands/${id}`, admin, { ...after, name: 'upd-other' });
  assert.equal(clash.status, 400);
  assert.match(clash.text, /duplicates a command/);
  assert.equal((await req('POST', '/xapi/commands/999999', admin, after)).status, 404);
});

test('wrappers: add (validated whole, paths relative to the body), update keeps the id, delete by both paths', async () => {
  const id = await create(command('wr'));
  const added = await req('POST', `/xapi/commands/${id}/wrappers`, admin, wrapper('wr-new'));
  assert.equal(added.status, 201, added.text);
  const newId = added.body as number;
  assert.deepEqual((await get(id)).xnat.map((w) => [w.name, w.id === newId]), [['wr-a', false], ['wr-b', false], ['wr-new', true]]);

  const dupName = await req('POST', `/xapi/commands/${id}/wrappers`, admin, wrapper('wr-a'));
  assert.equal(dupName.status, 400, dupName.text);
  const badInput = await req('POST', `/xapi/commands/${id}/wrappers`, admin, wrapper('wr-bad', { 'external-inputs': [{ type: 'Session' }] }));
  assert.equal(badInput.status, 400);
  assert.ok((badInput.body as { details: Array<{ path: string }> }).details.some((d) => d.path === '/external-inputs/0/name'), badInput.text);
  const empty = await call(server.url, 'POST', `/xapi/commands/${id}/wrappers`, { headers: { ...admin, 'content-type': 'application/json' }, body: 'null' });
  assert.equal(empty.status, 400);
  assert.match(empty.text, /must be a CommandWrapper/);
  assert.equal((await get(id)).xnat.length, 3, 'refused wrappers are not stored');

  const renamed = await req('POST', `/xapi/commands/${id}/wrappers/${newId}`, admin, wrapper('wr-renamed', { description: 'd' }));
  assert.equal(renamed.status, 200, renamed.text);
  const w = (await get(id)).xnat.find((x) => x.id === newId);
  assert.equal(w?.name, 'wr-renamed', 'updated by id keeps the id under a new name');
  assert.equal((await req('POST', `/xapi/commands/${id}/wrappers/424242`, admin, wrapper('x'))).status, 404);

  const [first, second] = (await get(id)).xnat;
  assert.equal((await req('DELETE', `/xapi/commands/${id}/wrappers/${first.id}`, admin)).status, 204);
  assert.equal((await req('DELETE', `/xapi/wrappers/${second.id}`, cm)).status, 204);
  assert.deepEqual((await get(id)).xnat.map((x) => x.id), [newId]);
  assert.equal((await req('DELETE', `/xapi/wrappers/${second.id}`, admin)).status, 404);
  assert.equal((await req('DELETE', `/xapi/commands/${id}/wrappers/${newId + 1000}`, admin)).status, 404);
});

test('delete a command: 204, then 404; wrappers go with it', async () => {
  const id = await create(command('del'));
  const wid = (await get(id)).xnat[0].id;
  assert.equal((await req('DELETE', `/xapi/commands/${id}`, admin)).status, 204);
  assert.equal((await req('GET', `/xapi/commands/${id}`, admin)).status, 404);
  assert.equal((await req('GET', `/xapi/wrappers/${wid}/enabled`, admin)).status, 404);
  assert.equal((await req('DELETE', `/xapi/commands/${id}`, admin)).status, 404);
  assert.equal((await req('GET', '/xapi/commands/abc', admin)).status, 400);
});

test('writes need a container manager; nothing changes when refused', async () => {
  const id = await create(command('perm'));
  const before = await get(id);
  assert.equal((await req('POST', '/xapi/commands', bob, command('perm2'))).status, 403);
  assert.equal((await req('POST', `/xapi/commands/${id}`, bob, { ...before, description: 'x' })).status, 403);
  assert.equal((await req('POST', `/xapi/commands/${id}/wrappers`, bob, wrapper('perm-x'))).status, 403);
  assert.equal((await req('DELETE', `/xapi/wrappers/${before.xnat[0].id}`, bob)).status, 403);
  assert.equal((await req('DELETE', `/xapi/commands/${id}`, bob)).status, 403);
  assert.equal((await call(server.url, 'DELETE', `/xapi/commands/${id}`)).status, 401);
  assert.deepEqual(await get(id), before);
  // A container manager who is not a site admin may write.
  assert.equal((await req('POST', '/xapi/commands', cm, command('perm-cm'))).status, 201);
});

test('private commands are visible only through a wrapper enabled in a readable project', async () => {
  const id = await create(command('secret', '1', { visibility: 'private' }));
  const seen = async (): Promise<boolean> => ((await req('GET', '/xapi/commands?name=secret', bob)).body as unknown[]).length === 1;
  assert.equal(await seen(), false);
  assert.equal((await req('GET', `/xapi/commands/${id}`, bob)).status, 404);
  const wid = (await get(id)).xnat[0].id;
  await req('PUT', `/xapi/wrappers/${wid}/enabled`, admin);
  await req('PUT', `/xapi/projects/PV/wrappers/${wid}/enabled`, admin);
  assert.equal(await seen(), true);
  assert.equal((await req('GET', `/xapi/commands/${id}`, bob)).status, 200);
});

test('deleting wrappers removes them from orchestrations: emptied ones are deleted, others disabled', async () => {
  const id = await create({ ...command('orc'), xnat: [wrapper('orc-a'), wrapper('orc-b'), wrapper('orc-c')] });
  const [a, b, c] = (await get(id)).xnat;
  for (const w of [a, b, c]) await req('PUT', `/xapi/wrappers/${w.id}/enabled`, admin);
  const three = await req('POST', '/xapi/orchestration', admin, { name: 'three', wrapperIds: [a.id, b.id, c.id] });
  assert.equal(three.status < 300, true, three.text);
  const threeId = (three.body as { id: number }).id;
  assert.equal((await req('DELETE', `/xapi/wrappers/${b.id}`, admin)).status, 204);
  const list = (await req('GET', '/xapi/orchestration', admin)).body as Array<{ id: number; wrapperIds: number[]; enabled: boolean }>;
  const o = list.find((x) => x.id === threeId);
  assert.deepEqual(o?.wrapperIds, [a.id, c.id]);
  assert.equal(o?.enabled, false);
  // Deleting the command takes the remaining wrappers, leaving the orchestration empty: it goes.
  assert.equal((await req('DELETE', `/xapi/commands/${id}`, admin)).status, 204);
  const after = (await req('GET', '/xapi/orchestration', admin)).body as Array<{ id: number }>;
  assert.equal(after.some((x) => x.id === threeId), false);
});
