/** The Slurm backend against the real one-machine cluster: the shared conformance suite, then Slurm-only behaviour. */
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSlurmBackend } from '../src/backends/slurm/index.ts';
import { runBackendConformance } from './conformance/backend.case.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { ensureSlurmHarness, slurmHarnessAbsent } from './helpers/slurm.ts';

const absent = slurmHarnessAbsent();
const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function newBackend() {
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness()]);
  const jobRoot = await mkdtemp(path.join(os.tmpdir(), 'xcs-slurm-jobs-'));
  roots.push(jobRoot);
  return createSlurmBackend({ jobRoot, runnerReachable: true, pollIntervalMs: 500 });
}

if (absent !== null) {
  process.stdout.write(`# skipped: ${absent}\n`);
} else {
  runBackendConformance({ name: 'slurm', newBackend });
}
