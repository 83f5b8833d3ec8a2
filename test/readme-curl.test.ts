// The README's curl session, run as written against `bin/xcs serve` (real server, engine and Docker): the
// code block is read from README.md, so the README cannot drift from what the server does. Between the launch
// and the lines that read its results, the test waits for the run to finish, as a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeInstanceContainers } from './helpers/runs.ts';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
let child: ChildProcess;
let base: string;

/** The shell lines of the README block after the "curl session" heading, continuations joined. */
function sessionLines(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf('## The container service over REST: a curl session');
  assert.ok(from >= 0, 'the README has its curl session');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(block, 'the session is a sh code block');
  return block[1].replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() !== '');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-readme-'));
  child = spawn(join(root, 'bin/xcs'), ['serve', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'data')], {
    env: { ...process.env, XCS_ADMIN_PASSWORD: 'demo-pw' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  base = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`xcs serve exited (${code}): ${out}`)));
  });
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await removeInstanceContainers(join(dir, 'data')).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test('the README curl session works as written: register, enable, launch, follow, read the output, bulk dry run', async () => {
  const lines = sessionLines();
  assert.match(lines[0], /^H=http:\/\/127\.0\.0\.1:8080; A="-u admin:demo-pw"$/);
  const prelude = `H=${base}; A="-u admin:demo-pw"`;
  const outputs: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.includes('/xapi/containers/1"')) {
      // A person reads the status after a moment; the test waits until the run has ended.
      for (let i = 0; i < 300; i++) {
        const { stdout } = await run('bash', ['-c', `${prelude}; curl -s $A "$H/xapi/containers/1"`], { cwd: root });
        if (/"status":"(Complete|Failed[^"]*|Killed[^"]*)"/.test(stdout)) break;
        await sleep(200);
      }
    }
    const { stdout } = await run('bash', ['-c', `${prelude}; ${line.replace(/^curl /, 'curl -sS --fail-with-body ')}`], { cwd: root });
    outputs.push(stdout);
  }
  const at = (needle: string): string => outputs[lines.slice(1).findIndex((l) => l.includes(needle))];
  assert.match(at('experiments/MR1'), /XNAT_E00001/, 'the session is XNAT_E00001');
  assert.equal(at('--data @examples').trim(), '1', 'the command is 1');
  assert.match(at('/xapi/availability'), /"available":true|session-report/);
  assert.match(at('/launch?session='), /"input-config"/);
  assert.match(at('root/session/launch'), /"status":"success"/);
  assert.match(at('/xapi/containers/1"'), /"status":"Complete"/);
  assert.match(at('report.txt'), /^Hello: session MR1 of project DEMO/);
  const bulk = JSON.parse(at('bulklaunch')) as { 'dry-run': boolean; successes: unknown[]; failures: unknown[] };
  assert.equal(bulk['dry-run'], true);
  assert.equal(bulk.successes.length, 1);
  assert.equal(bulk.failures.length, 0);
});
