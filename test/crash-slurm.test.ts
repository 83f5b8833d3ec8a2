// Crash safety on the Slurm backend (the one-machine cluster of scripts/slurm-harness.sh): the trials of
// test/helpers/crash-trials.ts with the server set to `{"backend": "slurm"}` — SIGKILL while runs are queued, staging,
// running (their jobs go on in Slurm) or finalizing, restart; one terminal state per run, outputs once, and no job
// of this installation still queued or running in Slurm, nor its container on the node. The random phase of the
// Docker test is left out: each Slurm trial costs seconds of scheduling and two restarts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSlurmBackend } from '../src/backends/slurm/index.ts';
import { XCS_LABELS } from '../src/backends/types.ts';
import { crashTrials, type Phase } from './helpers/crash-trials.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { ensureSlurmHarness, slurmHarnessAbsent } from './helpers/slurm.ts';

const absent = slurmHarnessAbsent();
const run = promisify(execFile);
let jobRoot: string | undefined;
let trials: Awaited<ReturnType<typeof crashTrials>> | undefined;

before(async () => {
  if (absent !== null) return;
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness()]);
  const root = await mkdtemp(join(tmpdir(), 'xcs-crash-slurm-jobs-'));
  jobRoot = root;
  trials = await crashTrials({
    newBackend: () => createSlurmBackend({ jobRoot: root, runnerReachable: true }),
    serverSettings: { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'auto-cleanup': true, 'slurm-job-root': root,
      'slurm-runner-local': true },
    endTimeoutMs: 90_000,
    afterTrial: async (instance) => {
      const { stdout: jobs } = await run('squeue', ['-h', '-t', 'pending,running,completing', '-o', '%j']);
      assert.deepEqual(jobs.split('\n').filter((n) => n.startsWith(`xcs-${instance}-`)), [], 'no job left in Slurm');
      const { stdout: containers } = await run('docker', ['ps', '-a', '--filter', `label=${XCS_LABELS.instance}=${instance}`, '--format', '{{.Names}}']);
      assert.equal(containers.trim(), '', 'no container left on the node');
    },
  });
});

after(async () => {
  await trials?.done();
  if (jobRoot !== undefined) await rm(jobRoot, { recursive: true, force: true });
});

const PLAN: Phase[] = ['staging', 'running', 'finalizing'];
test('Slurm: SIGKILL while staging, running and finalizing: one terminal state per run, outputs once, no stray job or container',
  { skip: absent ?? false }, async () => {
    for (let i = 0; i < PLAN.length; i++) await trials!.trial(PLAN[i], i + 3);
  });
