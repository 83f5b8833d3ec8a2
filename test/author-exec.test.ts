// xcs exec with the real engine: the corpus's dcm2niix on generated DICOM, refusals before anything runs,
// read-only mounts, the tool's exit code, setup and wrapup commands, live logs and the upload summary.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import Docker from 'dockerode';
import { EXEC_LABEL } from '../src/authoring/container-spec.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { withTempDir } from './helpers/temp.ts';
import { repoRoot, xcs } from './helpers/xcs-cli.ts';

before(async () => {
  await ensureDockerHarness();
});

/** Exec containers left on the engine that bind a folder under `dir` (other tests' exec containers may be running). */
async function leftoverExecContainers(dir: string): Promise<number> {
  const engine = new Docker();
  const listed = await engine.listContainers({ all: true, filters: { label: [`${EXEC_LABEL}=true`] } });
  return listed.filter((c) => c.Mounts.some((m) => (m.Source ?? '').startsWith(dir))).length;
}

test('exec runs the corpus dcm2niix command on a folder of DICOM: NIfTI and BIDS sidecar in the output folder', async () => {
  await withTempDir('xcs-exec-dcm-', async (dir) => {
    const set = await generateDicomSet(join(dir, 'dicom'), { patients: 1, seriesPerStudy: 1, slices: 4, seed: 'exec' });
    const series = join(set.dir, set.patients[0].studies[0].series[0].files[0], '..');
    const out = join(dir, 'out');
    const r = await xcs(['exec', 'examples/commands/dcm2niix.json', '--mount', `dicom-in=${series}`, '--input', 'bids=true', '--output-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    const files = await readdir(join(out, 'nifti-out'));
    assert.ok(files.some((f) => f.endsWith('.nii')), files.join(', '));
    const sidecar = files.find((f) => f.endsWith('.json'));
    assert.ok(sidecar, `a BIDS sidecar among ${files.join(', ')}`);
    const bids = JSON.parse(await readFile(join(out, 'nifti-out', sidecar), 'utf8')) as Record<string, unknown>;
    assert.equal(bids.Modality, 'MR');
    assert.match(r.stdout + r.stderr, /Found 4 DICOM file/, 'the tool\'s log is shown');
    assert.match(r.stderr, /dcm2niix -b y\s+-o \/output \/input/);
    assert.match(r.stderr, /Resource "NIFTI" on scan .* with 2 files/);
    assert.deepEqual((await readdir(series)).length, 4, 'the input folder is untouched');
    assert.equal(await leftoverExecContainers(dir), 0);
  });
});

test('exec refuses a missing mount and a bad input before anything runs, naming each', async () => {
  await withTempDir('xcs-exec-refuse-', async (dir) => {
    const out = join(dir, 'out');
    const missing = await xcs(['exec', 'examples/commands/dcm2niix.json', '--output-dir', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--mount dicom-in: missing: give --mount dicom-in=DIR/);
    const bad = await xcs(['exec', 'examples/commands/dcm2niix.json', '--mount', `dicom-in=${dir}`, '--input', 'bids=perhaps', '--input', 'other-options=$(reboot)', '--output-dir', out]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--input bids: "perhaps" is not true or false/);
    const illegal = await xcs(['exec', 'examples/commands/dcm2niix.json', '--mount', `dicom-in=${dir}`, '--input', 'other-options=$(reboot)', '--output-dir', out]);
    assert.equal(illegal.code, 1);
    assert.match(illegal.stderr, /other-options.*illegal string/);
    await assert.rejects(stat(out), { code: 'ENOENT' }, 'nothing was created');
    assert.equal(await leftoverExecContainers(dir), 0);
  });
});

test('a read-only mount stays read-only and exec ends with the tool\'s own exit code', async () => {
  await withTempDir('xcs-exec-ro-', async (dir) => {
    const input = join(dir, 'in');
    await mkdir(input);
    await writeFile(join(input, 'a.txt'), 'a\n');
    const command = {
      name: 'tries-to-write', image: 'xcs-test/busybox:latest',
      'command-line': "sh -c 'if touch /in/new; then exit 0; else echo refused >&2; exit 3; fi'",
      mounts: [{ name: 'in', path: '/in' }, { name: 'out', path: '/out', writable: true }],
    };
    await writeFile(join(dir, 'c.json'), JSON.stringify(command));
    const r = await xcs(['exec', join(dir, 'c.json'), '--mount', `in=${input}`, '--output-dir', join(dir, 'out')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /refused/);
    assert.match(r.stderr, /FAILED — the tool exited with code 3/);
    assert.deepEqual(await readdir(input), ['a.txt']);
  });
});

test('setup and wrapup commands run around the tool; the outputs are taken from the wrapup, as an upload would', async () => {
  await withTempDir('xcs-exec-aux-', async (dir) => {
    const raw = join(dir, 'raw');
    await mkdir(raw);
    await writeFile(join(raw, 'raw.txt'), 'raw data\n');
    const out = join(dir, 'out');
    const r = await xcs(['exec', 'test/authoring/setup-wrapup.json', '--mount', `in=${raw}`, '--output-dir', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello-from-the-tool/, 'the tool\'s stdout is streamed to ours');
    assert.match(r.stderr, /setup 1: xcs-test\/busybox:latest/);
    assert.match(r.stderr, /wrapup 1: xcs-test\/busybox:latest/);
    const wrapupDir = join(out, 'wrapup-result-result-resource');
    assert.equal(await readFile(join(wrapupDir, 'signed.txt'), 'utf8'), 'raw data\nprepared\nsigned\n');
    assert.match(r.stderr, /Resource "RESULT" on session \(local-session\) with 1 file .*signed\.txt/);
    assert.deepEqual(await readdir(raw), ['raw.txt'], 'the setup read the folder, it did not change it');
    assert.equal(await leftoverExecContainers(dir), 0);
  });
});

test('a required output the tool did not write fails the run, with the reason', async () => {
  await withTempDir('xcs-exec-out-', async (dir) => {
    const command = {
      name: 'writes-nothing', image: 'xcs-test/busybox:latest', 'command-line': 'true',
      mounts: [{ name: 'out', path: '/out', writable: true }],
      outputs: [{ name: 'report', mount: 'out', glob: '*.html', required: true }],
    };
    await writeFile(join(dir, 'c.json'), JSON.stringify(command));
    const r = await xcs(['exec', join(dir, 'c.json'), '--output-dir', join(dir, 'out')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /required output missing: report/);
    assert.match(r.stderr, /report:report-resource: nothing — Output "report" is missing: the glob matched no file/);
  });
});

test('an image the engine does not have, or an engine that does not answer, is named and nothing runs or is created', async () => {
  await withTempDir('xcs-exec-noimage-', async (dir) => {
    const command = (image: string): object => ({
      name: 'needs-an-image', image, 'command-line': 'echo should-not-run',
      mounts: [{ name: 'out', path: '/out', writable: true }],
    });
    await writeFile(join(dir, 'main.json'), JSON.stringify(command('xcs-test/no-such-image:9')));
    const out = join(dir, 'out');
    const missing = await xcs(['exec', join(dir, 'main.json'), '--output-dir', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /image xcs-test\/no-such-image:9 is not in the local Docker engine; nothing was run/);
    assert.match(missing.stderr, /hint: build it first \(docker build -t xcs-test\/no-such-image:9 \.\); xcs never pulls/);
    assert.doesNotMatch(missing.stderr + missing.stdout, /running|should-not-run/);
    await assert.rejects(stat(out), { code: 'ENOENT' }, 'no output folder is left behind');

    // Only the first container's image is left to its create: a later one (here the wrapup's) is checked
    // before the setup runs.
    const file = JSON.parse(await readFile(join(repoRoot, 'test/authoring/setup-wrapup.json'), 'utf8')) as Record<string, unknown>[];
    const text = JSON.stringify(file).replaceAll('xcs-test/busybox:latest:sign', 'xcs-test/no-such-image:9:sign');
    const edited = JSON.parse(text) as Record<string, unknown>[];
    edited[2].image = 'xcs-test/no-such-image:9';
    await writeFile(join(dir, 'setup-wrapup.json'), JSON.stringify(edited));
    await mkdir(join(dir, 'raw'));
    await writeFile(join(dir, 'raw', 'raw.txt'), 'raw data\n');
    const wrapupMissing = await xcs(['exec', join(dir, 'setup-wrapup.json'), '--mount', `in=${join(dir, 'raw')}`, '--output-dir', out]);
    assert.equal(wrapupMissing.code, 1, wrapupMissing.stderr);
    assert.match(wrapupMissing.stderr, /image xcs-test\/no-such-image:9 is not in the local Docker engine; nothing was run/);
    assert.doesNotMatch(wrapupMissing.stderr, /setup 1|running/);
    await assert.rejects(stat(out), { code: 'ENOENT' }, 'no output folder is left behind');

    await writeFile(join(dir, 'busybox.json'), JSON.stringify(command('xcs-test/busybox:latest')));

    const noEngine = await xcs(['exec', join(dir, 'busybox.json'), '--output-dir', out], { env: { DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}` } });
    assert.equal(noEngine.code, 1);
    assert.match(noEngine.stderr, new RegExp(`The Docker engine at unix://${join(dir, 'no-engine.sock').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not answer \\(ENOENT\\)`));
    assert.match(noEngine.stderr, /hint: Start it/);
    await assert.rejects(stat(out), { code: 'ENOENT' }, 'no output folder is left behind');
  });
});

test('a tool that prints and exits at once has all its output shown, stdout and stderr apart', async () => {
  await withTempDir('xcs-exec-quick-', async (dir) => {
    const command = { name: 'quick', image: 'xcs-test/busybox:latest', 'command-line': "sh -c 'echo out-1; echo err-1 >&2; echo out-2; exit 0'" };
    await writeFile(join(dir, 'c.json'), JSON.stringify(command));
    for (let i = 0; i < 3; i++) {
      const r = await xcs(['exec', join(dir, 'c.json'), '--output-dir', join(dir, 'out')]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'out-1\nout-2\n');
      assert.match(r.stderr, /^err-1$/m);
    }
  });
});
