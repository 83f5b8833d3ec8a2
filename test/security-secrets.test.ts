// Secrets never leave the server (real server, archive, engine and Docker). A command with sensitive inputs — one with
// a default, one given at launch, one fed by a wrapper input that is not itself marked — flowing into the environment
// (`Bearer #API_KEY#`), the command line, a mount path and the logs, is run; then every GET route of the OpenAPI
// document (a new one is called too, or must be skipped here with a reason), the POST routes that answer run or
// command data, and the /data routes that show the run's outputs are called as admin, as the launching member and as
// another member of the project. No body or header may hold a secret or any 4-character piece of one. The secrets
// mix letters outside hex with digits, so no hash or id can contain a piece by chance. The callback token's secret
// (XNAT_PASS) is read from the server's own database and checked the same way.
// Also: sensitive defaults read as ***** for everyone; ***** posted back keeps the value, a new value replaces it,
// which the run proves by the SHA-256 it writes from inside the container (never the value).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRunDatabase } from '../src/runtime/index.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';
import { zipEntries } from './helpers/zip.ts';

const PW = 'pw-secrets-1';
const S_DEFAULT = 'Zq7Kw9Vx3Jt';
const S_LAUNCH = 'Rm4Xq8Tz2Wk';
const S_FED = 'Jv6Qz1Kx5Yw';
const S_CONFIG = 'Wx2Zq9Jm7Rv';
const MASK = '*****';
const WRAPPER = 'secret-session';

const COMMAND = {
  name: 'secret-tool', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
  'command-line': 'printf %s "$API_AUTH" | sha256sum > /output/auth.sha; printf %s "$TOKEN_ENV" | sha256sum > /output/token.sha; ' +
    'echo run #LABEL# --token #TOKEN# --pass #PASS# in /scratch/#TOKEN#; echo "$API_AUTH $DERIVED $XNAT_PASS" >&2',
  'environment-variables': { API_AUTH: 'Bearer #API_KEY#', TOKEN_ENV: '#TOKEN#', DERIVED: 'x-#TOKEN#-#PASS#-y' },
  mounts: [{ name: 'out', writable: true, path: '/output' }, { name: 'scratch', writable: true, path: '/scratch/#TOKEN#' }],
  inputs: [
    { name: 'label', 'replacement-key': '#LABEL#', required: true },
    { name: 'token', 'replacement-key': '#TOKEN#', sensitive: true, required: false },
    { name: 'api-key', 'replacement-key': '#API_KEY#', sensitive: true, 'default-value': S_DEFAULT, required: false },
    { name: 'pass', 'replacement-key': '#PASS#', sensitive: true, required: false },
  ],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: WRAPPER, contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true },
      // Not marked sensitive: it feeds a sensitive command input, so its value is the secret too.
      { name: 'passphrase', type: 'string', required: false, 'provides-value-for-command-input': 'pass' }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: 'SECRETOUT' }],
  }],
};

type Role = 'admin' | 'member' | 'member2';
const ROLES: Role[] = ['admin', 'member', 'member2'];
let s: TestServer;
const headers = (r: Role): Record<string, string> => (r === 'admin' ? basic('admin', s.adminPassword) : basic(r, PW));
let ctx: { cid: number; wid: number; session: string; sessionId: string; run: number; containerName: string; tokenSecrets: string[] };

interface Answer { status: number; body: unknown; text: string; headers: string }

async function call(role: Role, method: string, path: string, json?: unknown): Promise<Answer> {
  const h: Record<string, string> = { ...headers(role), ...(json === undefined ? {} : { 'content-type': 'application/json' }) };
  const r = await fetch(s.url + path, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json) });
  const buf = Buffer.from(await r.arrayBuffer());
  // A zip (the logs download) is read entry by entry: compression would hide a secret from a plain search.
  const text = (r.headers.get('content-type') ?? '').includes('zip')
    ? [...(await zipEntries(buf)).entries()].map(([n, t]) => `${n}\n${t}`).join('\n') : buf.toString('utf8');
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text, headers: [...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n') };
}

async function ok(role: Role, method: string, path: string, json?: unknown): Promise<Answer> {
  const a = await call(role, method, path, json);
  assert.ok(a.status >= 200 && a.status < 300, `${method} ${path} as ${role}: ${a.status} ${a.text.slice(0, 300)}`);
  return a;
}

/**
 * Every 4-character piece of each secret chosen here; every 10-character piece of a random one (the callback
 * token's 32 base64url characters: their 4-character pieces turn up by chance in image ids, dates and UUIDs).
 */
function pieces(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of secrets) {
    const n = x.length >= 16 ? 10 : 4;
    for (let i = 0; i + n <= x.length; i++) out.add(x.slice(i, i + n));
  }
  return [...out];
}

function leaks(a: Answer, secrets: readonly string[]): string[] {
  const all = `${a.headers}\n${a.text}`;
  return pieces(secrets).filter((p) => all.includes(p));
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function waitEnded(run: number): Promise<string> {
  let status = '';
  for (let i = 0; i < 600 && !/^(Complete|Failed|Killed)/.test(status); i++) {
    status = ((await ok('admin', 'GET', `/xapi/containers/${run}`)).body as { status: string }).status;
    if (!/^(Complete|Failed|Killed)/.test(status)) await sleep(100);
  }
  return status;
}

/** Launches as the member, waits for the end, and answers the run id and the two hashes the container wrote. */
async function launchAndHash(params: Record<string, string>): Promise<{ run: number; auth: string; token: string; report: Answer }> {
  // Each run uploads the same resource: the previous one's goes first.
  const gone = await call('admin', 'DELETE', `/data/experiments/${ctx.sessionId}/resources/SECRETOUT`);
  assert.ok([200, 204, 404].includes(gone.status), gone.text);
  const report = await ok('member', 'POST', `/xapi/projects/P/wrappers/${ctx.wid}/root/session/launch`, { session: ctx.session, ...params });
  const run = (report.body as { id: number }).id;
  assert.equal(await waitEnded(run), 'Complete');
  // The resource is replaced by each run: read the file the last run uploaded.
  const read = async (f: string): Promise<string> => (await ok('admin', 'GET', `/data/experiments/${ctx.sessionId}/resources/SECRETOUT/files/${f}`)).text.split(' ')[0].trim();
  return { run, auth: await read('auth.sha'), token: await read('token.sha'), report };
}

before(async () => {
  s = await startTestServer();
  const { users, archive } = s.opened;
  for (const u of ['member', 'member2']) await users.addUser({ login: u, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'member2', 'member');
  const subj = await archive.createSubject('P', { label: 'S1' }, 'admin');
  const e = await archive.createSession(subj.id, { label: 'E1', xsiType: 'xnat:mrSessionData' }, 'admin');
  const cid = Number((await ok('admin', 'POST', '/xapi/commands', COMMAND)).body);
  const wid = ((await ok('admin', 'GET', `/xapi/commands/${cid}`)).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  await ok('admin', 'PUT', `/xapi/wrappers/${wid}/enabled`);
  await ok('admin', 'PUT', `/xapi/projects/P/wrappers/${wid}/enabled`);
  ctx = { cid, wid, session: e.archiveUri, sessionId: e.id, run: 0, containerName: '', tokenSecrets: [] };
  const first = await launchAndHash({ token: S_LAUNCH, passphrase: S_FED });
  assert.deepEqual(leaks(first.report, [S_DEFAULT, S_LAUNCH, S_FED]), [], 'the launch report');
  // The values reached the container: the default through the environment, the launch value too.
  assert.equal(first.auth, sha(`Bearer ${S_DEFAULT}`));
  assert.equal(first.token, sha(S_LAUNCH));
  const rec = (await ok('admin', 'GET', `/xapi/containers/${first.run}`)).body as { 'container-name': string };
  const db = openRunDatabase(join(s.dir, 'data', 'runs.sqlite'));
  try {
    const row = db.prepare('SELECT secrets FROM runs WHERE id = ?').get(first.run) as { secrets: string };
    ctx.tokenSecrets = (JSON.parse(row.secrets) as string[]).filter((x) => ![S_DEFAULT, S_LAUNCH, S_FED].includes(x));
  } finally {
    db.close();
  }
  assert.ok(ctx.tokenSecrets.length > 0 && ctx.tokenSecrets.every((x) => x.length >= 16), 'the callback token secret was recorded');
  ctx.run = first.run;
  ctx.containerName = rec['container-name'];
});

after(async () => {
  await stopWithContainers(s);
});

/** Query strings for the GET routes that need one, by OpenAPI path. */
function query(path: string): string {
  const { session } = ctx;
  const q = encodeURIComponent;
  const table: Record<string, string> = {
    '/xapi/wrappers/{wid}/launch': `session=${q(session)}&token=${S_LAUNCH}&passphrase=${S_FED}`,
    '/xapi/commands/{cid}/wrappers/{wname}/launch': `session=${q(session)}&token=${S_LAUNCH}`,
    '/xapi/projects/{project}/wrappers/{wid}/launch': `session=${q(session)}&passphrase=${S_FED}`,
    '/xapi/projects/{project}/commands/{cid}/wrappers/{wname}/launch': `session=${q(session)}`,
    '/xapi/commands/available': 'project=P&xsiType=xnat:mrSessionData',
    '/xapi/projects/{project}/commands/available': 'xsiType=xnat:mrSessionData',
    '/xapi/commands/available/site': 'xsiType=xnat:mrSessionData',
    '/xapi/availability': `object=${q(session)}`,
    '/xapi/provenance/produced': `object=${q(`${session}/resources/SECRETOUT`)}`,
    '/xapi/provenance/used': `object=${q(session)}`,
    '/xapi/provenance/by-image': 'digest=xcs-test/busybox:latest',
    '/xapi/containers': 'all=true',
    '/xapi/resolution/object': `uri=${q(session)}`,
    '/xapi/resolution/children': `uri=${q(session)}&kind=resources`,
    '/xapi/resolution/ancestor': `uri=${q(session)}&ancestor=Project`,
  };
  for (const form of ['/xapi/wrappers/{wid}', '/xapi/commands/{cid}/wrappers/{wname}', '/xapi/projects/{project}/wrappers/{wid}',
    '/xapi/projects/{project}/commands/{cid}/wrappers/{wname}']) {
    table[`${form}/bulklaunch`] = `rootElement=session&sampleTarget=${q(session)}&token=${S_LAUNCH}`;
  }
  return table[path] ?? '';
}

/** GET routes not called, each with why it cannot show run or command data. */
const SKIP: Record<string, string> = {
  '/xapi/siteConfig/buildInfo': 'version numbers',
  '/xapi/docker/server/ping': 'engine reachability',
  '/xapi/docker/hubs/{hub}/ping': 'registry reachability (contacts nothing but loopback here)',
  '/xapi/jms_queues': 'queue sizes',
  // A stream never ends; its records are containerJson's, as in the lists (ops-stream.test.ts checks who sees what).
  '/xapi/containers/events': 'Server-Sent Events (never ends); the same containerJson records as GET /xapi/containers',
};

/** The concrete path of an OpenAPI path: every parameter must be known here. */
function concrete(path: string): string {
  const { cid, wid, run, containerName } = ctx;
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    switch (name) {
      case 'id':
        if (path.includes('/containers/') || path.startsWith('/xapi/containers')) return String(run);
        if (path.startsWith('/xapi/commands/')) return String(cid);
        if (path.includes('/wrappers/')) return String(wid);
        return '999999'; // mappings, subscriptions, orchestrations: none of this command
      case 'cid': return String(cid);
      case 'wid': return String(wid);
      case 'wname': return WRAPPER;
      case 'project': return 'P';
      case 'name': return containerName;
      case 'file': return 'stdout';
      case 'login': return 'member';
      case 'hub': return '1';
      case '*': return 'xcs-test/busybox:latest';
      default: throw new Error(`no value for {${name}} in ${path}: add one to concrete()`);
    }
  });
}

/** POST routes not called, each with why. Every other POST route is called with a body that changes nothing. */
const POST_SKIP: Record<string, string> = {
  '/xapi/commands': 'registers a command; answers its id only',
  '/xapi/commands/{id}/wrappers': 'adds a wrapper; answers its id only',
  '/xapi/containers/relaunch': 'would start runs; answers ids only, and its failures go through redactError with the run\'s secrets',
  '/xapi/containers/{id}/relaunch': 'would start a run; answers ids only, and a failure goes through redactError with the run\'s secrets',
  '/xapi/archive/upload/xml': 'archive upload, no run or command data',
  '/xapi/users': 'user accounts',
  '/xapi/docker/server': 'server settings', '/xapi/docker/hubs': 'hub settings', '/xapi/docker/hubs/{hub}': 'hub settings',
  '/xapi/docker/hubs/{hub}/pull': 'pulls an image', '/xapi/docker/pull': 'pulls an image',
  '/xapi/docker/images/save': 'registers commands from image labels; answers them through maskCommand',
  '/xapi/jms_queues': 'queue settings', '/xapi/orchestration': 'orchestration settings (wrapper ids)',
  '/xapi/commandeventmapping': 'automation settings', '/xapi/commandeventmapping/{id}/convert': 'automation settings',
  '/xapi/events/subscription': 'automation settings', '/xapi/events/subscription/{id}/activate': 'automation settings',
  '/xapi/events/subscription/{id}/deactivate': 'automation settings',
  '/xapi/notifications/webhooks': 'registers a webhook; answers it without its (write-only) secret, no run or command data',
};

/** The POST calls of the matrix: each POST route of the OpenAPI document not skipped, with a harmless body. */
async function postCalls(routes: string[]): Promise<Array<[string, unknown]>> {
  const { session, wid, cid, run } = ctx;
  const unknown = routes.filter((r) => !(r in POST_SKIP) && !/launch$|\/config$|^\/xapi\/containers$|^\/xapi\/commands\/(validate|\{id\}|\{id\}\/wrappers\/\{wrapperId\})$|visibility|kill$|finalize$/.test(r));
  assert.deepEqual(unknown, [], 'a POST route to classify: give it a harmless body in postCalls or a reason in POST_SKIP');
  assert.deepEqual(Object.keys(POST_SKIP).filter((p) => !routes.includes(p)), [], 'POST_SKIP entries for routes that no longer exist');
  const command = (await ok('admin', 'GET', `/xapi/commands/${cid}`)).body as { xnat: unknown[] };
  const out: Array<[string, unknown]> = [];
  for (const r of routes.filter((x) => !(x in POST_SKIP))) {
    const path = r.replace(/\{(\w+|\*)\}/g, (_, n: string) => ({ id: r.includes('containers') ? String(run) : r.includes('/commands/') || r.includes('/command/') ? String(cid) : String(wid),
      cid: String(cid), wid: String(wid), wrapperId: String(wid), name: WRAPPER, wname: WRAPPER, project: 'P', root: 'session', visibility: 'public' } as Record<string, string>)[n] ?? `{${n}}`);
    if (/bulklaunch$/.test(r)) out.push([`${path}?dryRun=true`, { session: JSON.stringify([session]), token: S_LAUNCH, passphrase: S_FED }]);
    // A launch that fails (no such session): its report echoes the sensitive values; the singular form reads the query.
    else if (/launch$/.test(r)) {
      out.push([`${path}?session=${encodeURIComponent(`${session}-none`)}&token=${S_LAUNCH}&passphrase=${S_FED}`,
        { session: `${session}-none`, token: S_LAUNCH, passphrase: S_FED }]);
    } else if (/\/config$/.test(r)) out.push([path, (await ok('admin', 'GET', path)).body]); // posted back as read
    else if (r === '/xapi/containers') out.push([path, { page: 1, size: 50 }], [path, { page: 1, size: 50, filters: { project: { eq: 'P' } } }]);
    else if (r === '/xapi/commands/validate') out.push([path, COMMAND]);
    else if (r === '/xapi/commands/{id}') out.push([path, command]); // posted back as read
    else if (r === '/xapi/commands/{id}/wrappers/{wrapperId}') out.push([path, command.xnat[0]]);
    else out.push([path, {}]); // visibility, kill, finalize: a run that ended answers 409
  }
  return out;
}

test('no GET route, no run or command POST route and no /data view of the outputs shows a secret, to anyone', async () => {
  const doc = (await call('admin', 'GET', '/xapi/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const gets = Object.entries(doc.paths).filter(([, ms]) => 'get' in ms).map(([p]) => p);
  assert.ok(gets.length > 40, 'the OpenAPI document lists the routes');
  const stale = Object.keys(SKIP).filter((p) => !gets.includes(p));
  assert.deepEqual(stale, [], 'skip entries for routes that no longer exist');
  const { sessionId, run } = ctx;
  const paths = gets.filter((p) => !(p in SKIP)).map((p) => `${concrete(p)}${query(p) ? `?${query(p)}` : ''}`);
  paths.push(`/xapi/containers/${run}/logs/stderr`, `/xapi/containers/${run}/logSince/stderr`, `/xapi/containers/${run}/logs/stdout?format=json`,
    `/xapi/projects/P/containers?all=true`, '/xapi/commands?restrictToEnabledForSite=true',
    // The run's outputs and the session as /data shows them.
    `/data/experiments/${sessionId}/resources`, `/data/experiments/${sessionId}/resources/SECRETOUT/files`,
    `/data/experiments/${sessionId}/resources/SECRETOUT/files/auth.sha`, `/data/experiments/${sessionId}/resources/SECRETOUT/files/token.sha`,
    `/data/experiments/${sessionId}?format=json`, '/data/projects/P/experiments', `/data/experiments/${sessionId}/resources/SECRETOUT/files?format=zip`);
  const posts = await postCalls(Object.entries(doc.paths).filter(([, ms]) => 'post' in ms).map(([p]) => p));
  const secrets = [S_DEFAULT, S_LAUNCH, S_FED, ...ctx.tokenSecrets];
  const found: string[] = [];
  const statuses: string[] = [];
  const adminMisses: string[] = [];
  for (const role of ROLES) {
    for (const path of paths) {
      const a = await call(role, 'GET', path);
      if (role === 'admin' && a.status >= 300) adminMisses.push(path);
      if (a.status >= 500) statuses.push(`GET ${path} as ${role}: ${a.status} ${a.text.slice(0, 200)}`);
      const l = leaks(a, secrets);
      if (l.length > 0) found.push(`GET ${path} as ${role} (${a.status}): ${l.join(', ')}`);
    }
    for (const [path, body] of posts) {
      const a = await call(role, 'POST', path, body);
      if (a.status >= 500) statuses.push(`POST ${path} as ${role}: ${a.status} ${a.text.slice(0, 200)}`);
      const l = leaks(a, secrets);
      if (l.length > 0) found.push(`POST ${path} as ${role} (${a.status}): ${l.join(', ')}`);
    }
  }
  assert.deepEqual(found, []);
  assert.deepEqual(statuses, []);
  // Not vacuous: the admin got every answer in full, but for the mapping and subscription that this run has none of.
  assert.deepEqual(adminMisses, ['/xapi/notifications/webhooks/999999', '/xapi/notifications/webhooks/999999/deliveries',
    '/xapi/commandeventmapping/999999', '/xapi/events/subscription/999999']);
});

test('the launcher sees the record with the secrets hidden and everything else intact', async () => {
  const rec = (await ok('member', 'GET', `/xapi/containers/${ctx.run}`)).body as {
    env: Record<string, string>; 'command-line': string; mounts: Array<{ 'container-path': string }>;
    inputs: Array<{ name: string; value: string; sensitive: boolean }>; history: unknown[];
  };
  assert.equal(rec.env.API_AUTH, 'Bearer ******', 'a value built from a secret keeps its other part');
  assert.equal(rec.env.TOKEN_ENV, '******');
  assert.equal(rec.env.DERIVED, 'x-******-******-y');
  assert.equal(rec.env.XNAT_PASS, '******');
  assert.match(rec['command-line'], /echo run E1 --token \*{6} --pass \*{6} in \/scratch\/\*{6};/);
  assert.ok(rec.mounts.some((m) => m['container-path'] === '/scratch/******'));
  const byName = Object.fromEntries(rec.inputs.map((i) => [`${i.name}`, i.value]));
  assert.equal(byName.token, MASK);
  assert.equal(byName['api-key'], MASK);
  assert.equal(byName.label, 'E1', 'other values show');
  assert.ok(rec.history.length > 0);
  const logs = await ok('member', 'GET', `/xapi/containers/${ctx.run}/logs/stdout`);
  assert.match(logs.text, /run E1 --token \*{6} --pass \*{6}/, 'the log keeps its words, the secrets hidden');
});

test('sensitive defaults read as ***** for everyone, in commands and wrapper configuration', async () => {
  const { cid, wid } = ctx;
  for (const role of ROLES) {
    const c = (await ok(role, 'GET', `/xapi/commands/${cid}`)).body as { inputs: Array<{ name: string; 'default-value': string | null }> };
    assert.equal(c.inputs.find((i) => i.name === 'api-key')?.['default-value'], MASK, role);
    assert.equal(c.inputs.find((i) => i.name === 'token')?.['default-value'], null, 'no default: nothing to mask');
  }
  const site = (await ok('admin', 'GET', `/xapi/wrappers/${wid}/config`)).body as { inputs: Record<string, { 'default-value': string | null }> };
  assert.equal(site.inputs['api-key']['default-value'], MASK);
  const proj = (await ok('member', 'GET', `/xapi/projects/P/wrappers/${wid}/config`)).body as { inputs: Record<string, { 'default-value': string | null }> };
  assert.equal(proj.inputs['api-key']['default-value'], MASK);
  const ui = await ok('member', 'GET', `/xapi/projects/P/wrappers/${wid}/launch?session=${encodeURIComponent(ctx.session)}`);
  assert.ok(ui.text.includes(MASK) && !ui.text.includes(S_DEFAULT));
});

test('***** posted back keeps the stored value; a new value replaces it (the run proves which, by a hash)', async () => {
  const { cid, wid } = ctx;
  // The command as read, posted back unchanged: the default stays.
  const read = (await ok('admin', 'GET', `/xapi/commands/${cid}`)).body;
  const updated = await ok('admin', 'POST', `/xapi/commands/${cid}`, read);
  assert.ok(!updated.text.includes(S_DEFAULT));
  let r = await launchAndHash({});
  assert.equal(r.auth, sha(`Bearer ${S_DEFAULT}`), 'the masked default posted back kept the value');

  // The site configuration replaces the default; it reads masked, and the run uses the new value.
  const posted = await ok('admin', 'POST', `/xapi/wrappers/${wid}/config`, { inputs: { 'api-key': { 'default-value': S_CONFIG } } });
  assert.ok(!posted.text.includes(S_CONFIG), 'the answer to a configuration does not echo it');
  const cfg = (await ok('admin', 'GET', `/xapi/wrappers/${wid}/config`)).body as { inputs: Record<string, { 'default-value': string | null }> };
  assert.equal(cfg.inputs['api-key']['default-value'], MASK);
  r = await launchAndHash({});
  assert.equal(r.auth, sha(`Bearer ${S_CONFIG}`), 'the new configured value is used');

  // The configuration as read, posted back (with *****): the configured value stays.
  await ok('admin', 'POST', `/xapi/wrappers/${wid}/config`, cfg);
  r = await launchAndHash({ 'api-key': MASK });
  assert.equal(r.auth, sha(`Bearer ${S_CONFIG}`), 'the masked configuration posted back kept the value; a masked launch value means the default');
  // The run's record hides the configured value as well.
  const rec = await ok('admin', 'GET', `/xapi/containers/${r.run}`);
  assert.deepEqual(leaks(rec, [S_CONFIG]), []);
  assert.equal((rec.body as { env: Record<string, string> }).env.API_AUTH, 'Bearer ******');
});
