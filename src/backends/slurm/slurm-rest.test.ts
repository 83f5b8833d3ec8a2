import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isXcsError } from '../../core/errors.ts';
import type { ContainerSpec } from '../types.ts';
import { jobFiles, sbatchArgs } from './job-script.ts';
import { jobsOfRest, jwtOf, restJobOf, SlurmRest } from './slurm-rest.ts';

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec & { name: string } => ({
  name: 'xcs-abc-run-7', image: 'busybox:1', commandLine: 'true', overrideEntrypoint: false, environment: {},
  mounts: [], labels: {}, resources: {}, ...over,
});
const files = jobFiles('/shared/jobs/xcs-abc-run-7');

test('every sbatch option the backend builds has its REST counterpart', () => {
  const args = sbatchArgs(spec({ resources: { limitMemoryMiB: 96, limitCpu: 1.5, gpus: '2' }, maxRuntimeSeconds: 90 }), files,
    { partition: 'gpu', account: 'lab1', qos: 'high' }, 'xcs:abc:7');
  const { job, script } = restJobOf(args);
  assert.equal(script, files.script);
  assert.deepEqual(job, {
    name: 'xcs-abc-run-7', comment: 'xcs:abc:7', current_working_directory: files.dir, standard_output: files.stdout,
    standard_error: files.stderr, nodes: [1, 1], tasks: 1, requeue: false, environment: { PATH: '/usr/bin:/bin' },
    memory_per_node: 96, cpus_per_task: 2, gres: 'gpu:2', partition: 'gpu', account: 'lab1', qos: 'high', time_limit: 2,
  });
});

test('an option the REST client does not know is refused, never dropped', () => {
  for (const args of [['--exclusive', '/j/job.sh'], ['--export=ALL', '/j/job.sh'], ['--mem=1G', '/j/job.sh'], ['--time=0', '/j/job.sh'],
    ['--job-name=x'], ['-p', 'x', '/j/job.sh']]) {
    try {
      restJobOf(args);
      assert.fail(`accepted ${args.join(' ')}`);
    } catch (e) {
      assert.ok(isXcsError(e), String(e));
      assert.equal(e.code, 'backend.invalid-spec');
    }
  }
});

test('slurmrestd\'s job list reads as squeue\'s: states, reasons, node, times; entries it cannot read are skipped', () => {
  const jobs = jobsOfRest({ jobs: [
    { job_id: 12, name: 'xcs-a', job_state: 'PENDING', state_reason: 'Resources', nodes: '', comment: 'xcs:i:1', start_time: 0, end_time: 0 },
    { job_id: 13, name: 'xcs-b', job_state: 'RUNNING', state_reason: 'None', nodes: 'vm', comment: 'xcs:i:2', start_time: 1_700_000_000, end_time: 1_700_000_600 },
    { job_id: 'x', name: 'bad' },
  ] });
  assert.deepEqual(jobs, [
    { jobId: '12', name: 'xcs-a', state: 'PENDING', reason: 'Resources', node: null, comment: 'xcs:i:1', startTime: null, endTime: null },
    { jobId: '13', name: 'xcs-b', state: 'RUNNING', reason: 'None', node: 'vm', comment: 'xcs:i:2',
      startTime: new Date(1_700_000_000_000), endTime: new Date(1_700_000_600_000) },
  ]);
  assert.deepEqual(jobsOfRest({ errors: [] }), []);
  assert.deepEqual(jobsOfRest(null), []);
});

test('the client needs an http(s) URL and a token', () => {
  assert.throws(() => new SlurmRest({ url: 'file:///etc/passwd', user: 'xcs', token: 't' }), /not http/);
  assert.throws(() => new SlurmRest({ url: 'http://127.0.0.1:6820', user: 'xcs' }), /needs a token/);
});

test('only a JSON web token is ever sent: scontrol token output or the bare token; any other file content is refused', async () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdW4iOiJyb290In0.c2ln';
  assert.equal(jwtOf(`SLURM_JWT=${jwt}\n`, 'f'), jwt);
  assert.equal(jwtOf(jwt, 'f'), jwt);
  for (const text of ['root:$y$j9T$hash:19000:0:99999:7:::', '', 'a.b', `${jwt}\nsecond line`]) {
    assert.throws(() => jwtOf(text, 'the token file /x'), /the token file \/x holds no JSON web token/);
  }
  // Through the client: a file that is not a token is never sent anywhere (the URL is not even asked).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xcs-slurm-token-'));
  try {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'root:secret-hash:19000\n');
    const client = new SlurmRest({ url: 'http://127.0.0.1:9', user: 'xcs', tokenFile: file });
    await assert.rejects(client.ping(), /holds no JSON web token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
