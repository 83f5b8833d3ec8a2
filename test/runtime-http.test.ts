// The container service over HTTP with a real server (port 0) and the real Docker engine: a container that
// calls back through XNAT_HOST/XNAT_USER/XNAT_PASS uploads a file; the token is redacted and invalidated;
// the CLI (launch --wait, containers, logs, kill) talks to the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';

let dir: string;
let server: RunningServer;
let sessionId: string;
const auth = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };

const api = jsonApi(() => server.url, auth);

function scanCommand(name: string, commandLine: string, extra: Record<string, unknown> = {}): unknown {
  return {
    name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': commandLine,
    'override-entrypoint': true, ...extra,
    xnat: [{ name: `${name}-scan`, contexts: ['xnat:imageScanData'], 'external-inputs': [{ name: 'scan', type: 'Scan', required: true }] }],
  };
}

/** Runs the CLI asynchronously: the server answering it lives in this process. */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bin/xcs', args, { env: { ...process.env, XCS_URL: server.url, XCS_USER: 'admin', XCS_PASSWORD: 'admin-pw' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

async function waitEnd(id: number): Promise<{ status: string; env: Record<string, string>; history: { status: string }[] }> {
  for (let i = 0; i < 600; i++) {
    const c = await api<{ status: string; env: Record<string, string>; history: { status: string }[] }>('GET', `/xapi/containers/${id}`);
    if (/^(Complete|Failed|Killed)/.test(c.status)) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} did not end`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-runtime-http-'));
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  server = await startServer({ port: 0, dataDir: join(dir, 'data') });
  const a = server.opened.archive;
  await a.createProject({ id: 'P' }, 'admin');
  const subject = await a.createSubject('P', { label: 'S' }, 'admin');
  sessionId = (await a.createSession(subject.id, { label: 'E' }, 'admin')).id;
  for (const id of ['1', '2', '3']) await a.createScan(sessionId, { id }, 'admin');
});

after(async () => {
  await server.close();
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

test('a container calls back with XNAT_HOST/XNAT_USER/XNAT_PASS and uploads a file; the secret is hidden and revoked', async () => {
  await server.opened.archive.createResource({ kind: 'scan', session: sessionId, scan: '1' }, { label: 'CALLBACK' }, 'admin');
  const upload = 'echo "uploaded by $XNAT_USER" > /dev/shm/up.txt; echo "secret is $XNAT_PASS"; ' +
    'AUTH=$(printf "%s:%s" "$XNAT_USER" "$XNAT_PASS" | base64 | tr -d "\\n"); ' +
    'wget -q -O - --header "Authorization: Basic $AUTH" --post-file /dev/shm/up.txt ' +
    '"$XNAT_HOST/data/experiments/#SESSION#/scans/1/resources/CALLBACK/files/up.txt?inbody=true"';
  // A command's own network is honoured only when the site allows it (README "Calling-back tools").
  const server0 = await api<Record<string, unknown>>('GET', '/xapi/docker/server');
  await api('POST', '/xapi/docker/server', { ...server0, 'allowed-command-networks': ['host'] });
  const wrapperId = await registerEnabled(api, scanCommand('callback', upload.replace('#SESSION#', sessionId), { network: 'host' }));
  const r = await api<{ status: string; id: number }>('POST', `/xapi/wrappers/${wrapperId}/root/scan/launch`,
    { scan: `/archive/experiments/${sessionId}/scans/1` });
  const c = await waitEnd(r.id);
  const stderr = await (await fetch(`${server.url}/xapi/containers/${r.id}/logs/stderr`, { headers: auth })).text();
  assert.equal(c.status, 'Complete', stderr);
  const files = await server.opened.archive.listFiles(
    (await server.opened.archive.listResources({ kind: 'scan', session: sessionId, scan: '1' })).find((x) => x.label === 'CALLBACK')!.id);
  const up = files.find((f) => f.name === 'up.txt');
  assert.ok(up, `up.txt uploaded: ${files.map((f) => f.name)}`);
  const alias = (await readFile(up.absolutePath, 'utf8')).replace('uploaded by ', '').trim();
  assert.match(alias, /^xcs-alias-/);
  assert.equal(c.env.XNAT_PASS, '******');
  const stdout = await (await fetch(`${server.url}/xapi/containers/${r.id}/logs/stdout`, { headers: auth })).text();
  assert.equal(stdout.trim(), 'secret is ******', 'the token secret is redacted from saved logs');
  // The token no longer works once the run ended.
  const secretless = await fetch(`${server.url}/data/projects`, {
    headers: { authorization: `Basic ${Buffer.from(`${alias}:anything`).toString('base64')}` } });
  assert.equal(secretless.status, 401);
});

test('xcs launch --wait, containers, logs; a non-zero exit makes launch exit 1 with the hint', async () => {
  await registerEnabled(api, scanCommand('hello', 'echo hello from $XNAT_HOST; echo oops >&2'));
  const ok = await cli(['launch', 'hello-scan', `/archive/experiments/${sessionId}/scans/2`, '--wait']);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /run (\d+): Complete/);
  const id = /run (\d+): Complete/.exec(ok.stdout)![1];
  // Statuses come from the live stream: every change is shown, even the short ones a poll would miss.
  for (const status of ['Waiting', 'Finalizing', 'Complete']) assert.match(ok.stderr, new RegExp(`^run ${id}: ${status}$`, 'm'));
  const logs = await cli(['logs', id]);
  assert.equal(logs.stdout, `hello from ${server.url}\n`);
  assert.equal((await cli(['logs', id, '--stderr'])).stdout, 'oops\n');
  const list = await cli(['containers', '--all']);
  assert.match(list.stdout, new RegExp(`^${id}\\s+Complete`, 'm'));

  await registerEnabled(api, scanCommand('fails', 'exit 7'));
  const bad = await cli(['launch', 'fails-scan', `/archive/experiments/${sessionId}/scans/2`, '--wait']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /Failed \(exit 7\)/);
  assert.match(bad.stdout, /hint: .*stderr/);

  const unknown = await cli(['launch', 'no-such-wrapper', '/archive/experiments/x/scans/1']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /No wrapper "no-such-wrapper"/);
});

test('xcs kill ends a running container Killed; xcs logs -f follows it live', async () => {
  await registerEnabled(api, scanCommand('sleeper', 'echo tick; sleep 60'));
  const launched = await cli(['launch', 'sleeper-scan', `/archive/experiments/${sessionId}/scans/3`]);
  const id = Number(/launched run (\d+)/.exec(launched.stdout)![1]);
  for (let i = 0; i < 300; i++) {
    if ((await api<{ status: string }>('GET', `/xapi/containers/${id}`)).status === 'Running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const follower = spawn('bin/xcs', ['logs', '-f', String(id)], {
    env: { ...process.env, XCS_URL: server.url, XCS_USER: 'admin', XCS_PASSWORD: 'admin-pw' } });
  let followed = '';
  follower.stdout.on('data', (d: Buffer) => { followed += d.toString(); });
  for (let i = 0; i < 200 && !followed.includes('tick'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(follower.exitCode, null, 'still following while the container runs');
  const k = await cli(['kill', String(id)]);
  assert.equal(k.status, 0, k.stderr);
  const c = await waitEnd(id);
  assert.equal(c.status, 'Killed');
  const code = await new Promise((r) => {
    if (follower.exitCode !== null) r(follower.exitCode);
    else follower.once('exit', r);
  });
  assert.equal(code, 0);
  assert.equal(followed, 'tick\n');
});
