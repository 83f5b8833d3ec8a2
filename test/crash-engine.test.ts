// Crash safety on the Docker backend: `xcs serve` is killed with SIGKILL while runs are queued, staging, running or
// finalizing, then restarted. Every run must end in exactly one terminal state, its output must be in the archive
// exactly once, and no container of this installation may be left behind (test/helpers/crash-trials.ts).
import { test, before, after } from 'node:test';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { crashTrials, PLAN } from './helpers/crash-trials.ts';

let trials: Awaited<ReturnType<typeof crashTrials>>;

before(async () => {
  trials = await crashTrials({ newBackend: () => createDockerBackend() });
});

after(async () => {
  await trials.done();
});

test('SIGKILL in every phase, 20 trials: one terminal state per run, outputs once, no stray containers', async () => {
  for (let i = 0; i < 20; i++) await trials.trial(PLAN[i % PLAN.length], i);
});
