import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isXcsError } from '../../core/errors.ts';
import type { ContainerSpec } from '../types.ts';
import { envFileOf, gpuCount, jobFiles, jobScript, runnerRunArgs, sbatchArgs, shellQuote } from './job-script.ts';

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec & { name: string } => ({
  name: 'xcs-abc-run-7',
  image: 'xnat/dcm2niix:latest',
  commandLine: 'dcm2niix -o /output /input',
  overrideEntrypoint: false,
  environment: { XNAT_HOST: 'http://127.0.0.1:8080', XNAT_PASS: 'secret-token-value' },
  mounts: [{ hostPath: '/shared/archive/P/arc001/S/SCANS/1/DICOM', containerPath: '/input', writable: false },
    { hostPath: '/shared/build/abc', containerPath: '/output', writable: true }],
  labels: { 'org.xcs.run-id': '7', 'org.xcs.instance': 'abc' },
  resources: {},
  ...over,
});
const files = jobFiles('/shared/jobs/xcs-abc-run-7');

function code(work: () => unknown): string {
  try {
    work();
  } catch (e) {
    assert.ok(isXcsError(e));
    return e.code;
  }
  assert.fail('expected a refusal');
}

test('quoting: what the shell reads back is exactly the value, whatever it holds', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xcs-slurm-quote-'));
  try {
    const values = [`'; rm -rf / #`, '$(touch pwned)', '`touch pwned`', 'a\nb', `"$HOME"`, '\\', "it's", '', '-n'];
    const script = values.map((v) => `printf '%s\\0' ${shellQuote(v)}`).join('\n');
    const out = execFileSync('/bin/sh', ['-c', script], { cwd: dir });
    assert.deepEqual(out.toString().split('\0').slice(0, -1), values);
    assert.throws(() => shellQuote('a\0b'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sbatch options carry the resources, the placement and the time limit', () => {
  const args = sbatchArgs(spec({ resources: { limitMemoryMiB: 512, reserveMemoryMiB: 256, limitCpu: 1.5, gpus: '2' } }), files,
    { partition: 'gpu', account: 'lab-1', qos: 'normal', timeLimitMinutes: 1.2 }, 'xcs:abc:7');
  for (const a of ['--job-name=xcs-abc-run-7', '--comment=xcs:abc:7', '--mem=512M', '--cpus-per-task=2', '--gres=gpu:2',
    '--partition=gpu', '--account=lab-1', '--qos=normal', '--time=2', '--no-requeue', '--export=NIL',
    `--output=${files.stdout}`, `--error=${files.stderr}`, `--chdir=${files.dir}`]) {
    assert.ok(args.includes(a), `${a} missing from ${args.join(' ')}`);
  }
  assert.equal(args.at(-1), files.script);
  // reserve-memory alone is what the job asks for
  assert.ok(sbatchArgs(spec({ resources: { reserveMemoryMiB: 100 } }), files, {}, 'c').includes('--mem=100M'));
  // hostile placement values never reach sbatch
  assert.equal(code(() => sbatchArgs(spec(), files, { partition: 'a --uid=0' }, 'c')), 'backend.invalid-spec');
  assert.equal(code(() => sbatchArgs(spec(), files, { timeLimitMinutes: -1 }, 'c')), 'backend.invalid-spec');
});

test('GPUs are counted for --gres; "all" cannot be asked of Slurm', () => {
  assert.equal(gpuCount('3'), 3);
  assert.equal(gpuCount('device=0,1'), 2);
  assert.equal(gpuCount(undefined), null);
  assert.equal(code(() => gpuCount('all')), 'backend.invalid-spec');
});

test('the runner gets the same confinement as the Docker backend: no network, no privileges, limits', () => {
  const args = runnerRunArgs(spec({ resources: { limitMemoryMiB: 64, limitCpu: 0.5, ulimits: { nofile: '1024:2048' } }, user: '1000:1000' }), '/dev/fd/3');
  const joined = args.join(' ');
  for (const a of ['--network none', '--security-opt no-new-privileges', '--cap-drop ALL', '--pids-limit 4096', '--memory 65536k',
    '--memory-swap 65536k', '--cpus 0.5', '--ulimit nofile=1024:2048', '--user 1000:1000', '--env-file /dev/fd/3',
    '--label org.xcs.managed=true']) {
    assert.ok(joined.includes(a), `${a} missing`);
  }
  assert.ok(args.includes('type=bind,source=/shared/archive/P/arc001/S/SCANS/1/DICOM,target=/input,readonly'));
  assert.ok(args.includes('type=bind,source=/shared/build/abc,target=/output'));
  // The image and the split command line come last, after `--`.
  assert.deepEqual(args.slice(args.indexOf('--')), ['--', 'xnat/dcm2niix:latest', 'dcm2niix', '-o', '/output', '/input']);
  assert.deepEqual(runnerRunArgs(spec({ overrideEntrypoint: true, commandLine: 'echo hi' }), '/e').slice(-7),
    ['--entrypoint', '', '--', 'xnat/dcm2niix:latest', '/bin/sh', '-c', 'echo hi']);
  assert.equal(code(() => runnerRunArgs(spec({ mounts: [{ hostPath: '/var/run/docker.sock', containerPath: '/s', writable: false }] }), '/e')),
    'backend.mount-forbidden');
  assert.equal(code(() => runnerRunArgs(spec({ mounts: [{ hostPath: '/data/a,b', containerPath: '/s', writable: false }] }), '/e')),
    'backend.invalid-spec');
});

test('the environment goes to a file, never into the script; names and line breaks are checked', () => {
  const script = jobScript(spec(), files, 'docker');
  assert.doesNotMatch(script, /secret-token-value/);
  assert.match(envFileOf(spec().environment), /^XNAT_HOST=http:\/\/127\.0\.0\.1:8080\nXNAT_PASS=secret-token-value\n$/);
  assert.equal(code(() => envFileOf({ 'BAD NAME': 'x' })), 'backend.invalid-spec');
  assert.equal(code(() => envFileOf({ A: 'two\nlines' })), 'backend.invalid-spec');
  assert.equal(code(() => jobScript(spec({ name: 'a;b' }), files, 'docker')), 'backend.invalid-spec');
  assert.equal(code(() => jobScript(spec(), files, 'docker; rm -rf /')), 'backend.invalid-spec');
});

test('a hostile command line, label or path in the job script stays one word (the script runs it as data)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xcs-slurm-script-'));
  try {
    // A stand-in runner that prints its arguments, one per line, NUL-separated.
    const runner = path.join(dir, 'runner');
    writeFileSync(runner, `#!/bin/sh\nif [ "$1" = run ]; then shift; printf '%s\\0' "$@" >"${dir}/args"; fi\nexit 0\n`, { mode: 0o755 });
    const hostile = `x'; touch ${dir}/pwned; echo '$(touch ${dir}/pwned2)`;
    const s = spec({ commandLine: hostile, overrideEntrypoint: true, labels: { evil: hostile }, mounts: [], environment: {} });
    const jf = jobFiles(dir);
    writeFileSync(jf.env, '');
    writeFileSync(jf.script, jobScript(s, jf, runner), { mode: 0o700 });
    execFileSync('/bin/sh', [jf.script], { cwd: dir });
    const args = readFileSync(path.join(dir, 'args'), 'utf8').split('\0').slice(0, -1);
    assert.equal(args.at(-1), hostile);
    assert.ok(args.includes(`evil=${hostile}`));
    assert.throws(() => readFileSync(path.join(dir, 'pwned')));
    assert.throws(() => readFileSync(path.join(dir, 'pwned2')));
    // The environment file was opened and deleted before the runner ran.
    assert.throws(() => readFileSync(jf.env));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
