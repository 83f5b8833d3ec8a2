// The launch UI (GET .../launch) over real HTTP: a real server on port 0 with the engine and management
// plugins, the embedded archive with an imported generated DICOM session, the dcm2niix example command and a
// session command with a select, a sensitive input and a failing wrapper.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import type { ScanRecord } from '../src/archive/types.ts';
import type { LaunchUi, LaunchUiInputConfig, LaunchUiValuesNode } from '../src/http/xapi/launch-ui-model.ts';

let dir: string;
let server: RunningServer;
let sessionUri: string;
let scans: ScanRecord[];
let dcmCommand: number;
let dcmWrapper: number;
let sessionCommand: number;
let sessionWrapper: number;
let failingWrapper: number;

const auth = (login: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${login}:${pw}`).toString('base64')}` });
const admin = auth('admin', 'admin-pw');

async function get(path: string, headers: Record<string, string> = admin): Promise<{ status: number; text: string; type: string }> {
  const r = await fetch(server.url + path, { headers });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
}

async function ui(path: string, headers: Record<string, string> = admin): Promise<LaunchUi> {
  const r = await get(path, headers);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text) as LaunchUi;
}

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(server.url + path, { method, headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
  return { status: r.status, json: text ? JSON.parse(text) as unknown : null };
}

function config(nodes: LaunchUiInputConfig[], name: string): LaunchUiInputConfig {
  const all: LaunchUiInputConfig[] = [];
  const walk = (list: LaunchUiInputConfig[]): void => { for (const n of list) { all.push(n); walk(n.children); } };
  walk(nodes);
  const n = all.find((x) => x.name === name);
  assert.ok(n, `no input ${name}`);
  return n;
}

function values(nodes: LaunchUiValuesNode[], name: string): LaunchUiValuesNode {
  const n = nodes.find((x) => x.name === name);
  assert.ok(n, `no values for ${name} among ${nodes.map((x) => x.name).join(', ')}`);
  return n;
}

const sessionCommandJson = {
  name: 'session-tool', label: 'Session tool', description: 'Runs on a session', image: 'xcs-test/tool:1', type: 'docker',
  'command-line': 'tool #SCAN# #MODE# #KEY#',
  inputs: [
    { name: 'scan-id', 'replacement-key': '#SCAN#' },
    { name: 'mode', type: 'select-one', 'select-values': ['fast', 'slow'], 'default-value': 'fast', 'replacement-key': '#MODE#' },
    { name: 'api-key', sensitive: true, 'default-value': 'key-0123456789', 'replacement-key': '#KEY#' },
  ],
  xnat: [
    {
      name: 'pick-scan', label: 'Pick a scan', contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', description: 'The session' }],
      'derived-inputs': [
        { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "'DICOM' in @.resources[*].label" },
        { name: 'dicom', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'DICOM'" },
        { name: 'sid', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id',
          'provides-value-for-command-input': 'scan-id' },
        { name: 'nifti', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'NIFTI'", required: false },
      ],
      'output-handlers': [],
    },
    {
      name: 'needs-nifti', contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session' }],
      'derived-inputs': [
        { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session' },
        { name: 'nifti', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'NIFTI'" },
      ],
      'output-handlers': [],
    },
  ],
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-launch-ui-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  const archive = server.opened.archive;
  await archive.createProject({ id: 'DEMO' }, 'admin');
  await archive.createProject({ id: 'HIDDEN' }, 'admin');
  const dicom = join(dir, 'dicom');
  await generateDicomSet(dicom, { patients: 1, seriesPerStudy: 2, slices: 2, seed: 'launch-ui' });
  const report = await importDicom(archive, { project: 'DEMO', source: dicom, user: 'admin' });
  const session = report.imported[0];
  scans = await archive.listScans(session.id);
  assert.equal(scans.length, 2);
  sessionUri = `/archive/experiments/${session.id}`;
  const users = server.opened.users;
  await users.addUser({ login: 'reader', password: 'reader-pw' });
  await users.setRole('DEMO', 'reader', 'collaborator');
  await users.addUser({ login: 'outsider', password: 'outsider-pw' });
  await users.setRole('HIDDEN', 'outsider', 'owner');

  dcmCommand = (await send('POST', '/xapi/commands', JSON.parse(await readFile('examples/commands/dcm2niix.json', 'utf8')))).json as number;
  const dcm = (await send('GET', `/xapi/commands/${dcmCommand}`)).json as { xnat: Array<{ id: number; name: string }> };
  dcmWrapper = dcm.xnat[0].id;
  sessionCommand = (await send('POST', '/xapi/commands', sessionCommandJson)).json as number;
  const sc = (await send('GET', `/xapi/commands/${sessionCommand}`)).json as { xnat: Array<{ id: number; name: string }> };
  sessionWrapper = sc.xnat.find((w) => w.name === 'pick-scan')!.id;
  failingWrapper = sc.xnat.find((w) => w.name === 'needs-nifti')!.id;
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('dcm2niix on a scan: meta, the input tree and its values; enablement is reported, not enforced', async () => {
  const scan = scans[0];
  const r = await ui(`/xapi/wrappers/${dcmWrapper}/launch?scan=${encodeURIComponent(scan.archiveUri)}`);
  assert.deepEqual(r.meta, {
    'command-id': dcmCommand, 'command-name': 'dcm2niix', 'command-label': 'dcm2niix', 'command-description': 'Runs dcm2niix',
    'command-metadata': null, 'wrapper-id': dcmWrapper, 'wrapper-name': 'dcm2niix-scan', 'wrapper-label': 'dcm2niix',
    'wrapper-description': 'Run dcm2niix on a Scan', 'image-name': 'xnat/dcm2niix:latest', 'image-type': 'docker', enabled: false,
  });
  assert.deepEqual(r['container-server-config'], { 'swarm-constraints': [] });
  assert.deepEqual(r['input-config'].map((n) => [n.name, n['input-type']]), [['scan', 'static'], ['bids', 'boolean'], ['other-options', 'text']]);
  assert.deepEqual(r['input-config'][0].children.map((n) => [n.name, n['input-type'], n.required]), [['scan-dicoms', 'static', true]]);
  assert.equal(config(r['input-config'], 'bids').description, 'Create BIDS metadata file');
  const scanValues = values(r['input-values'], 'scan');
  assert.equal(scanValues.values.length, 1);
  assert.equal(scanValues.values[0].value, scan.archiveUri);
  assert.equal(scanValues.values[0].label, `${scan.id} - ${scan.type}`);
  assert.deepEqual(values(scanValues.values[0].children, 'scan-dicoms').values.map((v) => [v.value, v.label]),
    [[`${scan.archiveUri}/resources/DICOM`, 'DICOM']]);
  assert.deepEqual(values(r['input-values'], 'bids').values.map((v) => v.value), ['n'], 'the false-value of the boolean');

  await send('PUT', `/xapi/wrappers/${dcmWrapper}/enabled`);
  await send('PUT', `/xapi/projects/DEMO/wrappers/${dcmWrapper}/enabled`);
  const byName = await ui(`/xapi/projects/DEMO/commands/${dcmCommand}/wrappers/dcm2niix-scan/launch?scan=${encodeURIComponent(scan.archiveUri)}`);
  assert.equal(byName.meta.enabled, true);
  assert.deepEqual(byName['input-values'], r['input-values']);
});

test('a session: a select of scans, each with its own resource; sensitive value masked; explanation when nothing matches', async () => {
  const r = await ui(`/xapi/wrappers/${sessionWrapper}/launch?session=${encodeURIComponent(sessionUri)}`);
  const session = values(r['input-values'], 'session');
  assert.deepEqual(session.values.map((v) => v.value), [sessionUri]);
  const scan = values(session.values[0].children, 'scan');
  assert.deepEqual(scan.values.map((v) => v.value), scans.map((s) => s.archiveUri));
  assert.deepEqual(scan.values.map((v) => values(v.children, 'dicom').values.map((x) => x.value)),
    scans.map((s) => [`${s.archiveUri}/resources/DICOM`]));
  assert.deepEqual(scan.values.map((v) => values(v.children, 'sid').values.map((x) => x.value)), scans.map((s) => [s.id]));
  assert.equal(config(r['input-config'], 'scan')['input-type'], 'select-one');
  assert.deepEqual(config(r['input-config'], 'scan').children.map((c) => c.name), ['dicom', 'sid', 'nifti']);
  assert.equal(config(r['input-config'], 'session').description, 'The session');
  assert.deepEqual(config(r['input-config'], 'mode')['select-values'], ['fast', 'slow']);
  assert.equal(config(r['input-config'], 'api-key')['input-type'], 'password');
  assert.deepEqual(values(r['input-values'], 'api-key').values, [{ value: '*****', label: '*****', children: [] }]);
  const body = JSON.stringify(r);
  assert.ok(!body.includes('key-0123456789'), 'the sensitive default never leaves the server');
  const nifti = values(scan.values[0].children, 'nifti');
  assert.deepEqual(nifti.values, []);
  assert.deepEqual(nifti.explanation?.candidates.map((c) => [c.label, c.accepted]), [['DICOM', false]]);
  assert.match(nifti.explanation?.candidates[0].reasons.join('\n') ?? '', /DICOM/);
  assert.equal(scan.explanation, undefined);
});

test('the project form applies the project configuration over the site one', async () => {
  await send('POST', `/xapi/wrappers/${sessionWrapper}/config?enable=false`, { inputs: { mode: { 'default-value': 'slow' } }, outputs: {} });
  await send('POST', `/xapi/projects/DEMO/wrappers/${sessionWrapper}/config?enable=false`,
    { inputs: { mode: { advanced: true, 'user-settable': false } }, outputs: {} });
  const q = `?session=${encodeURIComponent(sessionUri)}`;
  const site = await ui(`/xapi/wrappers/${sessionWrapper}/launch${q}`);
  assert.deepEqual(values(site['input-values'], 'mode').values.map((v) => v.value), ['slow']);
  assert.equal(config(site['input-config'], 'mode').advanced, false);
  const project = await ui(`/xapi/projects/DEMO/wrappers/${sessionWrapper}/launch${q}`);
  assert.deepEqual(values(project['input-values'], 'mode').values.map((v) => v.value), ['slow'], 'site default kept');
  assert.equal(config(project['input-config'], 'mode').advanced, true);
  assert.equal(config(project['input-config'], 'mode')['user-settable'], false);
  assert.equal(config(project['input-config'], 'mode')['input-type'], 'static');
  // A launch value wins over the configured default.
  const given = await ui(`/xapi/projects/DEMO/wrappers/${sessionWrapper}/launch${q}&mode=fast`);
  assert.deepEqual(values(given['input-values'], 'mode').values.map((v) => v.value), ['fast']);
});

test('a required derived input without candidates: XNAT\'s 400 text, or JSON with the explanation', async () => {
  const path = `/xapi/wrappers/${failingWrapper}/launch?session=${encodeURIComponent(sessionUri)}`;
  const r = await get(path);
  assert.equal(r.status, 400);
  assert.match(r.type, /^text\/plain/);
  assert.equal(r.text, 'The command has failed in the pre-resolution step.\nThe following required fields cannot be resolved using the provided data: nifti');
  const j = await get(path, { ...admin, accept: 'application/json' });
  assert.equal(j.status, 400);
  const body = JSON.parse(j.text) as { code: string; message: string; explanation: Array<{ name: string; candidates: Array<{ label: string; accepted: boolean }> }> };
  assert.equal(body.code, 'resolution.pre.required');
  assert.equal(body.message, r.text);
  assert.equal(body.explanation[0].name, 'nifti');
  assert.deepEqual(body.explanation[0].candidates.map((c) => [c.label, c.accepted]), [['DICOM', false]]);
});

test('permissions: readers see it; a missing and an unreadable object get the same 404; guests 401', async () => {
  const q = (uri: string) => `/xapi/wrappers/${sessionWrapper}/launch?session=${encodeURIComponent(uri)}`;
  const asReader = await ui(q(sessionUri), auth('reader', 'reader-pw'));
  assert.deepEqual(values(asReader['input-values'], 'session').values.map((v) => v.value), [sessionUri]);
  const outsider = auth('outsider', 'outsider-pw');
  const unreadable = await get(q(sessionUri), outsider);
  const missing = await get(q('/archive/experiments/XNAT_E99999'), outsider);
  assert.equal(unreadable.status, 404);
  assert.equal(missing.status, 404);
  assert.equal(unreadable.text.replaceAll(sessionUri, 'X'), missing.text.replaceAll('/archive/experiments/XNAT_E99999', 'X'));
  const missingAsAdmin = await get(q('/archive/experiments/XNAT_E99999'));
  assert.equal(missingAsAdmin.status, 404, 'missing objects are never told apart from unreadable ones');
  // The project form needs the project, whether it exists or not.
  const p1 = await get(`/xapi/projects/DEMO/wrappers/${sessionWrapper}/launch`, outsider);
  const p2 = await get(`/xapi/projects/NOPE/wrappers/${sessionWrapper}/launch`, outsider);
  assert.equal(p1.status, 404);
  assert.equal(p2.status, 404);
  assert.equal(p1.text.replaceAll('DEMO', 'X'), p2.text.replaceAll('NOPE', 'X'));
  // An object outside the path's project is refused even for a reader of that project.
  assert.equal((await get(`/xapi/projects/HIDDEN/wrappers/${sessionWrapper}/launch?session=${encodeURIComponent(sessionUri)}`, outsider)).status, 404);
  assert.equal((await get(q(sessionUri), {})).status, 401);
  assert.equal((await get(`/xapi/wrappers/999999/launch`)).status, 404);
});

test('XCS: on a Slurm site the user-settable partition and QoS are inputs listing the allowed values, the default first', async () => {
  const slurm = { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'slurm-job-root': join(dir, 'jobs'), 'slurm-partition': 'short',
    'slurm-qos': 'normal', 'slurm-user-settable': { partition: ['long', 'short', 'gpu'], qos: ['high', 'low'] } };
  const q = `?session=${encodeURIComponent(sessionUri)}`;
  try {
    await send('POST', '/xapi/docker/server', slurm);
    const r = await ui(`/xapi/projects/DEMO/wrappers/${sessionWrapper}/launch${q}`, auth('reader', 'reader-pw'));
    // After the command's own inputs; the account is not user-settable, so not offered.
    assert.deepEqual(r['input-config'].slice(-2).map((n) => [n.name, n['input-type'], n.placement, n.advanced, n.required]),
      [['slurm-partition', 'select-one', 'slurm', true, false], ['slurm-qos', 'select-one', 'slurm', true, false]]);
    assert.equal(config(r['input-config'], 'slurm-partition').label, 'Slurm partition');
    assert.deepEqual(config(r['input-config'], 'slurm-partition')['select-values'], ['long', 'short', 'gpu']);
    // The site's partition is allowed: it comes first, marked. Its QoS is not: an empty "no choice" first.
    assert.deepEqual(values(r['input-values'], 'slurm-partition').values.map((v) => [v.value, v.label]),
      [['short', 'short (site default)'], ['long', 'long'], ['gpu', 'gpu']]);
    assert.deepEqual(values(r['input-values'], 'slurm-qos').values.map((v) => [v.value, v.label]),
      [['', 'normal (site default)'], ['high', 'high'], ['low', 'low']]);
    // A launch value among the allowed ones comes first; one that is not changes nothing (the launch refuses it).
    const chosen = await ui(`/xapi/wrappers/${sessionWrapper}/launch${q}&slurm-partition=gpu&slurm-qos=ultra`);
    assert.deepEqual(values(chosen['input-values'], 'slurm-partition').values.map((v) => v.value), ['gpu', 'long', 'short']);
    assert.deepEqual(values(chosen['input-values'], 'slurm-qos').values.map((v) => v.value), ['', 'high', 'low']);
    assert.ok(!JSON.stringify(chosen).includes('ultra'));
    // The bulk form offers them too.
    const bulk = await ui(`/xapi/wrappers/${sessionWrapper}/bulklaunch?rootElement=session&sampleTarget=${encodeURIComponent(sessionUri)}`);
    assert.equal(config(bulk['input-config'], 'slurm-partition')['input-type'], 'select-one');
    // A wrapper whose own input is named slurm-qos keeps it: only the partition is offered.
    const own = { ...sessionCommandJson, name: 'own-qos', xnat: [{ ...sessionCommandJson.xnat[0],
      'external-inputs': [...sessionCommandJson.xnat[0]['external-inputs'], { name: 'slurm-qos', type: 'string', required: false }] }] };
    const ownId = (await send('POST', '/xapi/commands', own)).json as number;
    const ownWrapper = ((await send('GET', `/xapi/commands/${ownId}`)).json as { xnat: Array<{ id: number }> }).xnat[0].id;
    const ownUi = await ui(`/xapi/wrappers/${ownWrapper}/launch${q}`);
    assert.deepEqual(ownUi['input-config'].filter((n) => n.placement === 'slurm').map((n) => n.name), ['slurm-partition']);
    assert.equal(config(ownUi['input-config'], 'slurm-qos')['input-type'], 'text');
  } finally {
    await send('POST', '/xapi/docker/server', { backend: 'docker', host: 'unix:///var/run/docker.sock' });
  }
  // On any other backend: none.
  const docker = await ui(`/xapi/wrappers/${sessionWrapper}/launch${q}`);
  assert.ok(!docker['input-config'].some((n) => n.name.startsWith('slurm-')));
});
