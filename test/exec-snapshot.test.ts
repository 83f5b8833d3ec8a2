// `xcs exec` from the build's start-up snapshot (dist/cli/exec.blob): bin/xcs uses it while it is fresh and
// only then, and it answers exactly as the bundled CLI (dist/cli/main.js) does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDockerHarness } from './helpers/docker.ts';
import { withTempDir } from './helpers/temp.ts';
import { repoRoot } from './helpers/xcs-cli.ts';

const blob = join(repoRoot, 'dist/cli/exec.blob');
const mainJs = join(repoRoot, 'dist/cli/main.js');

before(async () => {
  // A no-op when the suite's set-up built it already (scripts/test.sh); builds it when this file runs alone.
  const built = spawnSync('bash', ['scripts/build.sh'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  await ensureDockerHarness();
});

function node(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The program bin/xcs ends up running for `args` (bin/xcs replaces itself with node: same process). */
async function programRunBy(args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(join(repoRoot, 'bin/xcs'), args, { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (let i = 0; i < 200; i++) {
      const cmdline = await readFile(`/proc/${child.pid}/cmdline`, 'utf8').catch(() => '');
      const argv = cmdline.split('\0');
      if (/(^|\/)node$/.test(argv[0] ?? '')) return argv.join(' ');
      await sleep(25);
    }
    throw new Error('bin/xcs never started node');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

test('the build leaves a snapshot made for this checkout', async () => {
  assert.deepEqual((await readFile(`${blob}.root`, 'utf8')).trim().split('\n'), [await realpath(repoRoot), process.execPath]);
  const r = node(['--snapshot-blob', blob, 'exec', '--help'], repoRoot);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: xcs exec \[options\] <command-file>/);
});

test('from the snapshot, exec answers as the bundled CLI: plan, usage errors, refusals', async () => {
  await withTempDir('xcs-exec-snapshot-', async (dir) => {
    await writeFile(join(dir, 'c.json'), JSON.stringify({
      name: 'echoes', image: 'xcs-test/busybox:latest', 'command-line': 'echo #WORD#',
      inputs: [{ name: 'word', 'replacement-key': '#WORD#', required: true }],
      mounts: [{ name: 'out', path: '/out', writable: true }],
    }));
    const cases = [
      ['exec', 'c.json', '--input', 'word=hello', '--output-dir', 'o', '--dry-run', '--user', '1000:1000'],
      ['exec', 'c.json', '--output-dir', 'o', '--dry-run'],
      ['exec'],
      ['exec', '--help'],
      ['exec', 'missing.json'],
    ];
    for (const args of cases) {
      const fromSnapshot = node(['--snapshot-blob', blob, ...args], dir);
      const bundled = node([mainJs, ...args], dir);
      assert.deepEqual(fromSnapshot, bundled, args.join(' '));
    }
    assert.match(node(['--snapshot-blob', blob, ...cases[0]], dir).stdout, /"commandLine": "echo hello"/);
  });
});

test('bin/xcs runs exec from the snapshot while it is fresh, and from main.js with another node than the one that built it', async () => {
  await withTempDir('xcs-exec-snapshot-node-', async (dir) => {
    await writeFile(join(dir, 'c.json'), JSON.stringify({ name: 'sleeps', image: 'xcs-test/busybox:latest', 'command-line': 'sleep 2' }));
    const args = ['exec', join(dir, 'c.json'), '--output-dir', join(dir, 'out')];
    assert.match(await programRunBy(args), /--snapshot-blob \S+\/dist\/cli\/exec\.blob exec /);
    // Another node (here a script that starts the real one: another path, made after the snapshot) may not read it.
    await writeFile(join(dir, 'node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`);
    await chmod(join(dir, 'node'), 0o755);
    const ran = await programRunBy(args, { PATH: `${dir}:${process.env.PATH ?? ''}` });
    assert.match(ran, /dist\/cli\/main\.js exec /);
    assert.doesNotMatch(ran, /snapshot-blob/);
  });
});

test('bin/xcs starts exec without NODE_EXTRA_CA_CERTS (never TLS; Node reads the file at start-up), other commands with it', async () => {
  await withTempDir('xcs-exec-ca-', async (dir) => {
    await writeFile(join(dir, 'c.json'), JSON.stringify({ name: 'n', image: 'xcs-test/busybox:latest', 'command-line': 'true' }));
    // Node warns at start-up when the file it names cannot be read: the warning tells whether it was read.
    const env = { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: join(dir, 'no-such-bundle.pem') };
    const exec = spawnSync(join(repoRoot, 'bin/xcs'), ['exec', 'c.json', '--dry-run'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(exec.status, 0, exec.stderr);
    assert.doesNotMatch(exec.stderr, /extra certs/);
    const other = spawnSync(join(repoRoot, 'bin/xcs'), ['--help'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(other.status, 0, other.stderr);
    assert.match(other.stderr, /extra certs/);
  });
});
