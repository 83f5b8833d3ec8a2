// Crash safety on the swarm backend (the multi-node swarm of scripts/swarm-harness.sh): the trials of
// test/helpers/crash-trials.ts with the server set to `{"backend": "swarm"}` — SIGKILL while runs are queued, staging,
// running (a service with its task on a worker) or finalizing, restart; one terminal state per run, outputs once, no
// service left behind. Fewer trials than on Docker: each swarm run costs a second of scheduling.
import { test, before, after } from 'node:test';
import { createSwarmBackend } from '../src/backends/swarm/swarm-backend.ts';
import { crashTrials, PLAN } from './helpers/crash-trials.ts';
import { swarmHarness } from './helpers/swarm.ts';

const absent = await swarmHarness();
let trials: Awaited<ReturnType<typeof crashTrials>> | undefined;

before(async () => {
  if (absent !== null) return;
  trials = await crashTrials({
    newBackend: () => createSwarmBackend(),
    serverSettings: { host: 'unix:///var/run/docker.sock', backend: 'swarm', 'auto-cleanup': true,
      // On the steady worker (test/e2e-swarm.test.ts freezes the other one).
      'swarm-constraints': [{ attribute: 'node.labels.xcs-node', comparator: '==', values: ['worker-2'], 'user-settable': false }] },
  });
});

after(async () => {
  await trials?.done();
});

test('swarm: SIGKILL in every phase, 8 trials: one terminal state per run, outputs once, no stray services', { skip: absent ?? false }, async () => {
  for (let i = 0; i < 8; i++) await trials!.trial(PLAN[i % PLAN.length], i);
});
