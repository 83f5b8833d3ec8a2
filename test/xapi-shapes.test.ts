// The JSON shapes of the reference (§3.3, §4.1, §4.5, §5.1, §5.3, §5.6, §7.1) over real HTTP with a real run:
// the keys XNAT clients read must all be there, spelled as XNAT spells them, in every answer that carries
// them. Also the lookups that accept several kinds of id: a container by db id, backend container id or name;
// a hub by id or name; site availability intersected over several projects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const COMMAND = {
  name: 'shape-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', label: 'Shape echo', description: 'echoes',
  'command-line': 'echo #LABEL# > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'shape-session', label: 'On a session', description: 'per session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: 'SHAPE' }],
  }],
};

let s: TestServer;
let admin: Record<string, string>;
let cid: number;
let wid: number;
let session: string;
let runId: number;

function hasKeys(obj: unknown, keys: string[], what: string): void {
  assert.ok(obj !== null && typeof obj === 'object', `${what} is an object`);
  const missing = keys.filter((k) => !(k in (obj as Record<string, unknown>)));
  assert.deepEqual(missing, [], `${what} lacks keys`);
}

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  const { archive } = s.opened;
  for (const p of ['SA', 'SB', 'SC']) await archive.createProject({ id: p }, 'admin');
  const subject = await archive.createSubject('SA', { label: 'S1' }, 'admin');
  session = (await archive.createSession(subject.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin')).archiveUri;
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  cid = Number(reg.body);
  wid = ((await call(s.url, 'GET', `/xapi/commands/${cid}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  for (const p of ['SA', 'SB']) assert.equal((await call(s.url, 'PUT', `/xapi/projects/${p}/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  const launched = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/launch`, { headers: admin, json: { session } });
  assert.equal(launched.status, 200, launched.text);
  runId = (launched.body as { id: number }).id;
  for (let i = 0; i < 300; i++) {
    const st = ((await call(s.url, 'GET', `/xapi/containers/${runId}`, { headers: admin })).body as { status: string }).status;
    if (/^(Complete|Failed|Killed)/.test(st)) break;
    await sleep(100);
  }
});

after(async () => {
  await stopWithContainers(s);
});

test('the container record has every key of §3.3; by db id, backend container id and name alike', async () => {
  const r = await call(s.url, 'GET', `/xapi/containers/${runId}`, { headers: admin });
  assert.equal(r.status, 200);
  const c = r.body as Record<string, unknown> & { 'container-id': string; 'container-name': string; status: string;
    mounts: unknown[]; inputs: unknown[]; outputs: Array<Record<string, unknown>>; history: unknown[]; 'status-time': string };
  assert.equal(c.status, 'Complete');
  hasKeys(c, ['id', 'command-id', 'status', 'status-time', 'wrapper-id', 'container-id', 'workflow-id', 'user-id', 'project', 'backend',
    'swarm', 'service-id', 'task-id', 'node-id', 'docker-image', 'container-name', 'command-line', 'override-entrypoint', 'working-directory',
    'subtype', 'parent-source-object-name', 'env', 'ports', 'mounts', 'inputs', 'outputs', 'history', 'log-paths', 'swarm-constraints',
    'runtime', 'ipc-mode', 'auto-remove', 'shm-size', 'network', 'container-labels', 'gpus', 'generic-resources', 'ulimits', 'secrets'], 'container');
  assert.match(c['status-time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$/, "status-time is yyyy-MM-dd'T'HH:mm:ss.SSSZ");
  assert.equal(c.subtype, 'docker');
  hasKeys(c.mounts[0], ['id', 'name', 'writable', 'xnat-host-path', 'container-host-path', 'container-path', 'input-files'], 'mount');
  hasKeys(c.inputs[0], ['id', 'type', 'name', 'value', 'sensitive'], 'input');
  hasKeys(c.outputs[0], ['id', 'name', 'from-command-output', 'from-output-handler', 'type', 'required', 'mount', 'path', 'glob', 'label',
    'created', 'handled-by', 'via-wrapup-container'], 'output');
  assert.match(String(c.outputs[0].created), /\/resources\/SHAPE$/, 'created is the URI of the uploaded object');
  hasKeys(c.history[0], ['id', 'status', 'entity-type', 'entity-id', 'time-recorded', 'external-timestamp', 'message', 'exitCode'], 'history');

  assert.ok(c['container-id'], 'the backend container id is recorded');
  const byBackendId = await call(s.url, 'GET', `/xapi/containers/${c['container-id']}`, { headers: admin });
  assert.equal(byBackendId.status, 200, byBackendId.text);
  assert.equal((byBackendId.body as { id: number }).id, runId);
  const byName = await call(s.url, 'GET', `/xapi/container/name/${encodeURIComponent(c['container-name'])}`, { headers: admin });
  assert.equal(byName.status, 200, byName.text);
  assert.equal((byName.body as { id: number }).id, runId);
});

test('CommandSummaryForContext, site availability over several projects (an intersection)', async () => {
  const keys = ['command-id', 'command-name', 'command-label', 'command-description', 'wrapper-id', 'wrapper-name', 'wrapper-label',
    'wrapper-description', 'wrapper-contexts', 'image-name', 'image-type', 'enabled', 'root-element-name'];
  const project = (await call(s.url, 'GET', '/xapi/projects/SA/commands/available?xsiType=xnat:mrSessionData', { headers: admin })).body as Array<Record<string, unknown>>;
  assert.equal(project.length, 1);
  assert.deepEqual(Object.keys(project[0]).filter((k) => keys.includes(k)).sort(), [...keys].sort());
  assert.equal(project[0]['root-element-name'], 'session');
  assert.equal(project[0]['wrapper-label'], 'On a session');
  assert.equal(project[0].enabled, true);
  const site = async (q: string): Promise<Array<{ 'wrapper-id': number; enabled: boolean }>> =>
    (await call(s.url, 'GET', `/xapi/commands/available/site?xsiType=xnat:mrSessionData${q}`, { headers: admin })).body as Array<{ 'wrapper-id': number; enabled: boolean }>;
  assert.equal((await site('')).find((x) => x['wrapper-id'] === wid)?.enabled, true);
  assert.equal((await site('&projects=SA,SB')).find((x) => x['wrapper-id'] === wid)?.enabled, true, 'enabled in both');
  assert.equal((await site('&projects=SA,SC')).find((x) => x['wrapper-id'] === wid)?.enabled ?? false, false, 'not enabled in SC');
});

test('LaunchReport success and failure, BulkLaunchReport', async () => {
  const ok = await call(s.url, 'POST', `/xapi/commands/${cid}/wrappers/shape-session/root/session/launch?dryRun=false`, { headers: admin, json: { session } });
  hasKeys(ok.body, ['status', 'params', 'id', 'command-id', 'wrapper-id', 'workflow-id'], 'success');
  const bad = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/launch`, { headers: admin, json: { session: '/archive/experiments/NOPE' } });
  assert.ok(bad.status >= 400);
  hasKeys(bad.body, ['status', 'params', 'id', 'command-id', 'wrapper-id', 'message'], 'failure');
  assert.equal((bad.body as { status: string }).status, 'failure');
  const bulk = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/bulklaunch?dryRun=true`, { headers: admin, json: { session: JSON.stringify([session]) } });
  hasKeys(bulk.body, ['bulk-launch-id', 'pipeline-name', 'successes', 'failures'], 'bulk report');
  assert.match((bulk.body as { 'bulk-launch-id': string })['bulk-launch-id'], /^bulk-admin\d+$/);
  assert.equal((bulk.body as { 'pipeline-name': string })['pipeline-name'], 'shape-session');
});

test('server (§4.1) with ping, hubs (§4.5) by id and by name with status, images (§4.5)', async () => {
  const server = (await call(s.url, 'GET', '/xapi/docker/server', { headers: admin })).body;
  hasKeys(server, ['id', 'name', 'host', 'cert-path', 'backend', 'swarm-mode', 'path-translation-xnat-prefix', 'path-translation-docker-prefix',
    'pull-images-on-xnat-init', 'container-user', 'auto-cleanup', 'swarm-constraints', 'max-concurrent-finalizing-jobs', 'status-email-enabled',
    'gpu-vendor', 'archive-pvc-name', 'build-pvc-name', 'combined-pvc-name', 'archive-path-translation', 'build-path-translation',
    'combined-path-translation', 'ping'], 'server');
  assert.equal((server as { ping: boolean }).ping, true, 'the local engine answers');
  const ping = await call(s.url, 'GET', '/xapi/docker/server/ping', { headers: admin });
  assert.equal(ping.status, 200);
  assert.equal(ping.text, 'OK');
  const hubs = (await call(s.url, 'GET', '/xapi/docker/hubs', { headers: admin })).body as Array<{ id: number; name: string }>;
  hasKeys(hubs[0], ['id', 'name', 'url', 'default', 'username', 'email', 'status'], 'hub');
  assert.ok(!('password' in hubs[0]) && !('token' in hubs[0]), 'secrets are write-only');
  const byId = (await call(s.url, 'GET', `/xapi/docker/hubs/${hubs[0].id}`, { headers: admin })).body as { name: string };
  const byName = (await call(s.url, 'GET', `/xapi/docker/hubs/${encodeURIComponent(hubs[0].name)}`, { headers: admin })).body as { id: number };
  assert.equal(byId.name, hubs[0].name);
  assert.equal(byName.id, hubs[0].id);
  const images = (await call(s.url, 'GET', '/xapi/docker/images?installed=true', { headers: admin })).body as Array<{ tags: string[] }>;
  const busybox = images.find((i) => i.tags.includes('xcs-test/busybox:latest'));
  hasKeys(busybox, ['image-id', 'tags', 'labels'], 'image');
  const summaries = (await call(s.url, 'GET', '/xapi/docker/image-summaries', { headers: admin })).body as Array<{ names: string[]; commands: Array<{ id: number }> }>;
  const mine = summaries.find((x) => x.names.includes('xcs-test/busybox:latest'));
  hasKeys(mine, ['image-id', 'names', 'server', 'commands'], 'image summary');
  assert.ok(mine?.commands.some((c) => c.id === cid), 'the command is listed under its image');
});

test('CommandEventMapping (§7.2) and Orchestration (§7.1) as XNAT spells them', async () => {
  const m = await call(s.url, 'POST', '/xapi/commandeventmapping', { headers: admin,
    json: { 'event-type': 'SessionArchived', 'command-id': cid, 'xnat-command-wrapper': 'shape-session', project: 'SA', enabled: false } });
  assert.equal(m.status, 201, m.text);
  hasKeys(m.body, ['id', 'event-type', 'command-id', 'xnat-command-wrapper', 'project', 'subscription-user-name', 'enabled'], 'mapping');
  assert.equal((m.body as { 'subscription-user-name': string })['subscription-user-name'], 'admin');
  const other = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: { ...COMMAND, name: 'shape-echo-2' } });
  const wid2 = ((await call(s.url, 'GET', `/xapi/commands/${Number(other.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid2}/enabled`, { headers: admin })).status, 200);
  const o = await call(s.url, 'POST', '/xapi/orchestration', { headers: admin, json: { name: 'chain', wrapperIds: [wid, wid2] } });
  assert.equal(o.status, 200, o.text);
  hasKeys(o.body, ['id', 'name', 'wrapperIds', 'enabled', 'haltOnCommandFailure'], 'orchestration');
  assert.equal((o.body as { haltOnCommandFailure: boolean }).haltOnCommandFailure, true, 'halts on failure by default');
  const p = (await call(s.url, 'GET', '/xapi/orchestration/project/SA', { headers: admin })).body;
  hasKeys(p, ['availableOrchestrations', 'selectedOrchestrationId'], 'project orchestration');
});
