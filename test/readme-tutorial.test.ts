// The README's "Writing a command: tutorial", run as written: its code block is read from README.md and run
// with bash -e in a fresh folder (bin/ linked to this checkout), against the real engine and, for the last
// step, a real `xcs serve` (H and A as the curl session defines them). Every step must succeed, and the
// command must end up installed on the server from the image's label.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDockerHarness } from './helpers/docker.ts';
import { repoRoot } from './helpers/xcs-cli.ts';

const run = promisify(execFile);
let dir: string;
let server: { child: ChildProcess; url: string };

function tutorialBlock(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const from = readme.indexOf('## Writing a command: tutorial');
  assert.ok(from >= 0, 'the README has its tutorial');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(block, 'the tutorial is a sh code block');
  return block[1];
}

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-tutorial-'));
  await symlink(join(repoRoot, 'bin'), join(dir, 'bin'));
  // No start-up deadline: on a loaded machine the sources may take a while to load.
  const child = spawn(join(repoRoot, 'bin/xcs'), ['serve', '--port', '0', '--host', '127.0.0.1', '--data', join(dir, 'data')], {
    env: { ...process.env, XCS_ADMIN_PASSWORD: 'tutorial-pw' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`xcs serve exited (${code}): ${out}`)));
  });
  server = { child, url };
});

after(async () => {
  if (server && server.child.exitCode === null) {
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    await exited;
  }
  await run('docker', ['rmi', '-f', 'tutorial/wordcount:1.0']).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

test('the README tutorial runs as written: image, draft, strict validation, exec, tests, label, build, install', async () => {
  const script = `set -euo pipefail\n${tutorialBlock()}`;
  const { stdout, stderr } = await run('bash', ['-c', script], {
    cwd: dir, maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, H: server.url, A: '-u admin:tutorial-pw', DOCKER_BUILDKIT: '0' },
  }).catch((e: Error & { stdout?: string; stderr?: string }) => assert.fail(`the tutorial failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`));
  assert.equal((await readFile(join(dir, 'wordcount/out/output/words.txt'), 'utf8')).trim(), '5');
  assert.match(stderr, /wordcount\/draft\.json: valid|draft command for tutorial\/wordcount:1\.0/);
  assert.match(stdout, /wordcount\/command\.json: valid\n(?! {2}warning)/, 'the finished command has no strict warning');
  assert.match(stderr, /Resource "WORDCOUNT" on session .* with 1 file/);
  assert.match(stdout, /2 of 2 passed/);
  assert.match(stdout, /tutorial\/wordcount:1\.0 \(1 command\): valid/);
  // Installed from the image's label: the server lists the command with its wrapper.
  const response = await fetch(`${server.url}/xapi/commands?image=tutorial/wordcount:1.0`, {
    headers: { authorization: `Basic ${Buffer.from('admin:tutorial-pw').toString('base64')}` },
  });
  assert.equal(response.status, 200);
  const listed = await response.json() as { name: string; image: string; xnat: { name: string }[] }[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0].name, 'wordcount');
  assert.equal(listed[0].image, 'tutorial/wordcount:1.0');
  assert.deepEqual(listed[0].xnat.map((w) => w.name), ['wordcount-session']);
  assert.ok(stdout.includes('"name":"wordcount"'), 'the tutorial\'s last curl shows it');
});
