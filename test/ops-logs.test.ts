// The log an operator reads: `xcs serve --log-level info` as a child process writes one JSON object per line on
// stderr, request lines carry the request id the client got as X-Request-Id, each run status change is a line at
// info with the run id and status, refusals are logged with their error code — and credentials never appear:
// not the Authorization or Cookie headers, not a password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDockerHarness } from './helpers/docker.ts';
import { removeInstanceContainers } from './helpers/runs.ts';
import { basic, call } from './xapi-helpers.ts';

const PASSWORD = 'very-secret-admin-pw';
let dir = '';
let child: ChildProcess;
let url = '';
let stderr = '';

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-ops-logs-'));
  child = spawn('bin/xcs', ['serve', '--port', '0', '--data', join(dir, 'data'), '--log-level', 'info'], {
    env: { ...process.env, XCS_ADMIN_USER: 'admin', XCS_ADMIN_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  for (let i = 0; !/listening on (\S+)/.test(stdout); i++) {
    if (child.exitCode !== null || i > 800) throw new Error(`serve did not start: ${stdout}${stderr}`);
    await sleep(25);
  }
  url = /listening on (\S+)/.exec(stdout)![1];
});

after(async () => {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  await removeInstanceContainers(join(dir, 'data'));
  await rm(dir, { recursive: true, force: true });
});

function lines(): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((l) => l.trim() !== '').map((l) => {
    try { return JSON.parse(l) as Record<string, unknown>; } catch { throw new Error(`not a JSON log line: ${l}`); }
  });
}

test('an unknown --log-level is refused, saying which are known', () => {
  const r = spawnSync('bin/xcs', ['serve', '--port', '0', '--data', join(dir, 'unused'), '--log-level', 'loud'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--log-level must be one of fatal, error, warn, info, debug, trace or off, not "loud"/);
});

test('JSON lines with request ids, run state changes, error codes, and no credentials', async () => {
  const admin = basic('admin', PASSWORD);
  const wrong = await fetch(`${url}/xapi/commands`, { headers: basic('admin', 'wrong-password-123') });
  assert.equal(wrong.status, 401);
  const requestId = wrong.headers.get('x-request-id');
  assert.match(requestId ?? '', /^[0-9a-f-]{36}$/);
  await fetch(`${url}/xapi/commands`, { headers: { cookie: 'JSESSIONID=cookie-value-not-to-log' } });
  const bad = await call(url, 'POST', '/xapi/commands', { headers: admin, json: { name: 'x' } });
  assert.equal(bad.status, 400);

  const command = {
    name: 'logged', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
    'command-line': 'echo #MSG# $XNAT_PASS', inputs: [{ name: 'msg', 'replacement-key': '#MSG#' }],
    xnat: [{ name: 'logged-site', contexts: [], 'external-inputs': [{ name: 'msg', type: 'string', required: true, 'provides-value-for-command-input': 'msg' }] }],
  };
  const id = Number((await call(url, 'POST', '/xapi/commands', { headers: admin, json: command })).body);
  const wrapper = ((await call(url, 'GET', `/xapi/commands/${id}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  await call(url, 'PUT', `/xapi/wrappers/${wrapper}/enabled`, { headers: admin });
  const launched = await call(url, 'POST', `/xapi/wrappers/${wrapper}/root/msg/launch`, { headers: admin, json: { msg: 'hi' } });
  assert.equal(launched.status, 200, launched.text);
  const run = (launched.body as { id: number }).id;
  for (let i = 0; !lines().some((l) => l.run === run && /^(Complete|Failed)/.test(String(l.status))); i++) {
    if (i > 1200) throw new Error(`no end of run ${run} in the log:\n${stderr}`);
    await sleep(50);
  }

  const all = lines();
  // The refused sign-in: its request lines carry the id the client saw.
  const mine = all.filter((l) => l.reqId === requestId);
  assert.ok(mine.some((l) => l.msg === 'request completed' && (l.res as { statusCode: number }).statusCode === 401), JSON.stringify(mine));
  // The bad command: one line with its code and where.
  assert.ok(all.some((l) => typeof l.code === 'string' && l.code.startsWith('command.') && l.status === 400), 'refusal logged with its code');
  // Each status change of the run at info (30), in order.
  const statuses = all.filter((l) => l.msg === 'run status changed' && l.run === run).map((l) => { assert.equal(l.level, 30); return l.status; });
  assert.equal(statuses[0], 'Queued');
  assert.match(String(statuses[statuses.length - 1]), /^Complete$/);
  assert.ok(statuses.includes('Running') || statuses.includes('Waiting'));
  // Nothing sensitive anywhere in the log.
  for (const secret of [PASSWORD, 'wrong-password-123', Buffer.from(`admin:${PASSWORD}`).toString('base64'), 'cookie-value-not-to-log']) {
    assert.ok(!stderr.includes(secret), `the log shows ${secret}`);
  }
});
