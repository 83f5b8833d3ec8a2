/**
 * Commands from image labels against the real Docker engine: build an image FROM xcs-test/busybox:latest
 * with `LABEL org.nrg.commands=...` holding a corpus command, read it back (API and `xcs image-commands`),
 * and remove it. Needs `bash scripts/docker-harness.sh` to have built the base image.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { readImageCommands } from '../src/command/image-labels.ts';
import { createBackend } from '../src/backends/index.ts';
import { parseCommandText } from '../src/command/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpusFile = join(root, 'test', 'corpus', 'commands', 'NrgXnat__docker-images__dcm2niix__command.json');
const docker = new Docker();
const backend = await createBackend('docker');
const tag = `xcs-cmdtest-label-${randomBytes(4).toString('hex')}:1`;

async function buildImage(name: string, dockerfile: string): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, dockerfile);
  pack.finalize();
  const stream = await docker.buildImage(pack as unknown as NodeJS.ReadableStream, { t: name, labels: { 'xcs-test': 'command-image-labels' } });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) => (err ? reject(err) : resolve(res))));
  const failed = output.find((o) => o.error);
  if (failed) throw new Error(failed.error);
}

after(async () => {
  await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  await backend.close();
});

test('a command in an image label is read back, with image and hash filled in', async () => {
  const command = JSON.parse(readFileSync(corpusFile, 'utf8')) as Record<string, unknown>;
  const labelJson = JSON.stringify([command]);
  // Dockerfile LABEL values are JSON strings here, so quotes and backslashes survive.
  await buildImage(tag, `FROM xcs-test/busybox:latest\nLABEL org.nrg.commands=${JSON.stringify(labelJson)}\n`);

  const report = await readImageCommands(tag, backend);
  assert.equal(report.hasLabel, true);
  assert.match(report.imageId, /^sha256:/);
  assert.deepEqual(report.result.errors, []);
  assert.equal(report.result.commands.length, 1);
  const got = report.result.commands[0];
  assert.equal(got.valid, true, JSON.stringify(got.errors));
  assert.equal(got.command?.image, tag);
  assert.equal(got.command?.hash, report.imageId);
  // Apart from image and hash, the label gives the same command as the file.
  const fromFile = parseCommandText(readFileSync(corpusFile, 'utf8'), { mode: 'label', image: tag }).commands[0].command;
  assert.deepEqual({ ...got.command, hash: null }, fromFile);

  const cli = spawnSync(join(root, 'bin', 'xcs'), ['image-commands', tag, '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const out = JSON.parse(cli.stdout) as { image: string; valid: boolean; commands: { name: string; valid: boolean }[] };
  assert.equal(out.valid, true);
  assert.deepEqual(out.commands.map((c) => [c.name, c.valid]), [['dcm2niix', true]]);

  const human = spawnSync(join(root, 'bin', 'xcs'), ['image-commands', tag], { encoding: 'utf8' });
  assert.equal(human.status, 0);
  assert.match(human.stdout, /\(1 command\): valid/);
});

test('an unknown image is a clear error naming it, exit 1', async () => {
  await assert.rejects(readImageCommands('xcs-cmdtest-no-such-image:0', backend), (e: Error & { code?: string }) =>
    e.code === 'image.not-found' && e.message.includes('xcs-cmdtest-no-such-image:0'));
  const cli = spawnSync(join(root, 'bin', 'xcs'), ['image-commands', 'xcs-cmdtest-no-such-image:0'], { encoding: 'utf8' });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /xcs-cmdtest-no-such-image:0" is not present/);
});
