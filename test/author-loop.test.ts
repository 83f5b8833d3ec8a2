// The rest of the image author's loop with the real engine: xcs test (passing and failing cases),
// xcs label → docker build → xcs image-commands reading the same commands back, and xcs init's draft
// validating and running.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { parseCommandText, type Command } from '../src/command/index.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { withTempDir } from './helpers/temp.ts';
import { repoRoot, xcs } from './helpers/xcs-cli.ts';

const run = promisify(execFile);

before(async () => {
  await ensureDockerHarness();
});

test('xcs test passes the cases kept in the command and prints a table', async () => {
  const r = await xcs(['test', 'test/authoring/line-count.json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^test\s+result\s+exit\s+expected\s+time$/m);
  assert.match(r.stdout, /^counts four lines\s+PASS\s+0\s+0\s/m);
  assert.match(r.stdout, /^passes the exit code on\s+PASS\s+4\s+4\s/m);
  assert.match(r.stdout, /3 of 3 passed/);
});

test('xcs test fails a case on a wrong checksum, a missing file, a content mismatch and an unexpected exit code; exit 1', async () => {
  await withTempDir('xcs-test-fail-', async (dir) => {
    const command = JSON.parse(await readFile(join(repoRoot, 'test/authoring/line-count.json'), 'utf8')) as Record<string, unknown>;
    const fixtures = join(repoRoot, 'test/authoring/fixtures/texts');
    command['xcs-tests'] = [
      { name: 'good', mounts: { input: fixtures }, outputs: [{ path: 'output/count.txt' }] },
      { name: 'bad checksum', mounts: { input: fixtures }, outputs: [{ path: 'output/count.txt', md5: '0'.repeat(32), matches: '^\\s*5\\s*$' }] },
      { name: 'missing file', mounts: { input: fixtures }, outputs: [{ path: 'output/*.nii' }] },
      { name: 'wrong exit', inputs: { exit: '2' }, mounts: { input: fixtures } },
    ];
    await writeFile(join(dir, 'c.json'), JSON.stringify(command));
    const r = await xcs(['test', join(dir, 'c.json'), '--keep', join(dir, 'kept')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^good\s+PASS/m);
    assert.match(r.stdout, /^bad checksum\s+FAIL/m);
    assert.match(r.stdout, /✗ output\/count\.txt: md5 48a24b70a0b376535542b996af517398, expected 0{32}/);
    assert.match(r.stdout, /✗ output\/count\.txt: no match for \/\^\\s\*5\\s\*\$\//);
    assert.match(r.stdout, /^missing file\s+FAIL/m);
    assert.match(r.stdout, /✗ no file matches output\/\*\.nii/);
    assert.match(r.stdout, /^wrong exit\s+FAIL\s+2\s+0/m);
    assert.match(r.stdout, /1 of 4 passed/);
    // Kept: the failing case's outputs and the tool's logs, for a look.
    assert.equal((await readFile(join(dir, 'kept', '2-bad-checksum', 'output', 'count.txt'), 'utf8')).trim(), '4');
    await readFile(join(dir, 'kept', '4-wrong-exit', '.xcs-stderr.log'), 'utf8');
  });
});

test('xcs validate checks the test block: unknown mounts and inputs, bad checksums, at their JSON paths', async () => {
  await withTempDir('xcs-test-block-', async (dir) => {
    const command = JSON.parse(await readFile(join(repoRoot, 'test/authoring/line-count.json'), 'utf8')) as Record<string, unknown>;
    command['xcs-tests'] = [{ name: 'typo', mounts: { inptu: 'fixtures' }, inputs: { prefx: 'a' }, outputs: [{ path: 'output/x', md5: 'xyz' }] }];
    await writeFile(join(dir, 'c.json'), JSON.stringify(command));
    const r = await xcs(['validate', join(dir, 'c.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /error \/xcs-tests\/0\/mounts\/inptu: the command has no mount "inptu"/);
    assert.match(r.stdout, /error \/xcs-tests\/0\/inputs\/prefx: the command has no input "prefx"/);
    assert.match(r.stdout, /error \/xcs-tests\/0\/outputs\/0\/md5: md5 must be 32 hexadecimal digits/);
    const t = await xcs(['test', join(dir, 'c.json')]);
    assert.equal(t.code, 1, 'an invalid command is not run');
    assert.match(t.stderr, /the command is not valid/);
  });
});

/** A command whose JSON needs every escape a Dockerfile word has: quotes, `$`, backslashes. */
const escapes = {
  name: 'escapes', image: 'xcs-test/busybox:latest', description: 'Quotes "like this", $HOME, a \\ backslash and é',
  'command-line': 'sh -c "echo \\"$HOME\\" \\\\$PATH #X#"',
  inputs: [{ name: 'x', 'replacement-key': '#X#', 'default-value': '$(not expanded)' }],
};

test('xcs label → docker build → xcs image-commands reads back the same commands', async () => {
  await withTempDir('xcs-label-', async (dir) => {
    await writeFile(join(dir, 'escapes.json'), JSON.stringify(escapes));
    await writeFile(join(dir, 'Dockerfile'), 'FROM xcs-test/busybox:latest\nLABEL org.nrg.commands="[]"\nLABEL other=kept\n');
    const files = [join(repoRoot, 'test/authoring/setup-wrapup.json'), join(repoRoot, 'test/authoring/line-count.json'), join(dir, 'escapes.json')];
    const printed = await xcs(['label', ...files]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^LABEL org\.nrg\.commands="\[\{/);
    assert.equal(printed.stdout.trim().split('\n').length, 1, 'one line');
    const written = await xcs(['label', ...files, '--dockerfile', join(dir, 'Dockerfile')]);
    assert.equal(written.code, 0, written.stderr);
    const dockerfile = await readFile(join(dir, 'Dockerfile'), 'utf8');
    assert.equal(dockerfile, `FROM xcs-test/busybox:latest\n${printed.stdout.trim()}\nLABEL other=kept\n`);
    const tag = `xcs-test/labelled-${randomBytes(4).toString('hex')}:1.0`;
    await run('docker', ['build', '--network', 'none', '-q', '-t', tag, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    try {
      const back = await xcs(['image-commands', tag, '--json']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      const report = JSON.parse(back.stdout) as { imageId: string; commands: { command: Command }[] };
      const expected: Command[] = [];
      for (const f of files) for (const c of parseCommandText(await readFile(f, 'utf8'), { mode: 'label', image: tag }).commands) expected.push(c.command as Command);
      assert.equal(report.commands.length, 5);
      const comparable = (c: Command) => ({ ...c, hash: null, 'xcs-tests': null });
      assert.deepEqual(report.commands.map((c) => comparable(c.command)), expected.map(comparable));
      assert.equal(report.commands[4].command['command-line'], escapes['command-line']);
      assert.equal(report.commands[1].command['xcs-tests'], null, 'test cases stay out of the label');
    } finally {
      await run('docker', ['rmi', '-f', tag]).catch(() => undefined);
    }
  });
});

test('xcs label refuses an invalid command and changes nothing', async () => {
  await withTempDir('xcs-label-bad-', async (dir) => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ name: 'bad', image: 'x:1', 'command-line': 'x', mounts: [{ name: 'm' }] }));
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    const r = await xcs(['label', join(dir, 'bad.json'), '--dockerfile', join(dir, 'Dockerfile')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not labelling invalid commands:\n {2}.*bad\.json \/mounts\/0/);
    assert.equal(await readFile(join(dir, 'Dockerfile'), 'utf8'), 'FROM scratch\n');
  });
});

test('xcs init drafts a command from a local image that validates and runs', async () => {
  await withTempDir('xcs-init-', async (dir) => {
    const draft = join(dir, 'draft.json');
    const r = await xcs(['init', 'xcs-test/entrypoint:latest', '-o', draft]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\/limit-memory: placeholder/);
    const command = JSON.parse(await readFile(draft, 'utf8')) as Record<string, unknown>;
    assert.equal(command.name, 'entrypoint');
    assert.equal(command.image, 'xcs-test/entrypoint:latest');
    assert.equal(command['working-directory'], '/image-workdir');
    assert.equal(typeof command['limit-memory'], 'number');
    const valid = await xcs(['validate', draft]);
    assert.equal(valid.code, 0, valid.stdout);
    await mkdir(join(dir, 'in'));
    await copyFile(join(repoRoot, 'test/authoring/fixtures/texts/a.txt'), join(dir, 'in', 'a.txt'));
    const ran = await xcs(['exec', draft, '--mount', `input=${join(dir, 'in')}`, '--output-dir', join(dir, 'out')]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout + ran.stderr, /xcs-entrypoint-ran/, 'the image\'s entrypoint was kept, as XNAT keeps it');
    assert.match(ran.stderr, /OK — completed/);
    const again = await xcs(['init', 'xcs-test/entrypoint:latest', '-o', draft]);
    assert.equal(again.code, 1, 'an existing file is not overwritten');
    const missing = await xcs(['init', 'xcs-test/no-such-image:9']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not in the local Docker engine/);
  });
});
