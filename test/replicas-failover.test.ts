// Failover between replicas: three `xcs serve` processes on one data directory and one database (SQLite, or the
// PostgreSQL server of XCS_DATABASE_URL in a fresh schema), ten runs per trial launched through all of them in turn, and
// the replica that follows the engine's events SIGKILLed while its runs are staging, running, finalizing (outputs
// uploaded, end not recorded) or at a random moment. The two others must take everything over: every run ends
// Complete with exactly one terminal history entry, every output is in the archive exactly once, and no container
// of the installation is left behind.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test, before, after } from 'node:test';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS, type ContainerBackend } from '../src/backends/types.ts';
import { api, dropDatabase, launchOn, replicaSite, waitUntil, type ReplicaSite, type RunView } from './helpers/replicas.ts';
import { instanceOf, removeInstanceContainers } from './helpers/runs.ts';
import { sigkill, startServe, type ServeProcess } from './helpers/serve.ts';

type Phase = 'staging' | 'running' | 'finalizing' | 'random';
const PHASES: Phase[] = ['staging', 'running', 'finalizing', 'random'];
const RUNS_PER_TRIAL = 10;
/** What the victim's runs are seen in when it is killed in each phase. */
const PHASE_STATUS: Record<Exclude<Phase, 'random'>, RegExp> = { staging: /^Staging$/, running: /^(Created|Running)$/, finalizing: /^Finalizing$/ };
const TERMINAL = /^(Complete|Failed|Killed)/;

let site: ReplicaSite;
let backend: ContainerBackend;
let nextScan = 1;

before(async () => {
  // A short lease bounds the failover when the dead replica cannot be seen dead at once (another machine).
  site = await replicaSite(PHASES.length * RUNS_PER_TRIAL, { XCS_MAX_RUNNING: '6', XCS_LEASE_MS: '3000' });
  backend = await createDockerBackend();
});

after(async () => {
  await removeInstanceContainers(site.data, backend);
  await backend.close();
  await dropDatabase(site);
  await rm(site.dir, { recursive: true, force: true });
});

async function trial(phase: Phase, seed: number): Promise<void> {
  // The victim starts first: it takes the events lease, so the exits it hears are finalized by it too.
  const victim = await startServe(site.data, { ...site.env, ...(phase === 'random' ? {} : { XCS_TEST_PAUSE_AT: phase }) });
  await waitUntil(async () => victim.output().includes("follows the engine's events"), 'the victim to take the events lease', 30_000,
    () => victim.output()).catch(async (e: unknown) => { await sigkill(victim); throw e; });
  const survivors = await Promise.all([startServe(site.data, site.env), startServe(site.data, site.env)]);
  const all: ServeProcess[] = [victim, ...survivors];
  const output = (): string => all.map((s, i) => `--- replica ${i}\n${s.output()}`).join('\n');
  try {
    const scans = Array.from({ length: RUNS_PER_TRIAL }, () => nextScan++);
    // Round-robin: each replica records a third of the runs (any replica may stage them).
    const ids = await Promise.all(scans.map((scan, i) => launchOn(site, all[i % all.length], scan)));
    if (phase === 'random') {
      await new Promise((r) => setTimeout(r, 300 + ((seed * 137) % 1500)));
    } else {
      await waitUntil(async () => victim.output().includes(`paused at ${phase}`), `the victim to pause at ${phase}`, 60_000, output);
      // The kill must catch work in the phase: a run the victim holds there.
      const statuses = await Promise.all(ids.map(async (id) => (await api<RunView>(survivors[0], 'GET', `/xapi/containers/${id}`)).status));
      assert.ok(statuses.some((s) => PHASE_STATUS[phase].test(s)), `${phase}: ${statuses.join()}`);
    }
    await sigkill(victim);

    const ended: RunView[] = [];
    await waitUntil(async () => {
      ended.length = 0;
      for (const id of ids) ended.push(await api<RunView>(survivors[seed % 2], 'GET', `/xapi/containers/${id}`));
      return ended.every((c) => TERMINAL.test(c.status));
    }, `runs ${ids.join(',')} to end after the victim died (${phase})`, 90_000, output);
    for (const c of ended) {
      assert.equal(c.status, 'Complete', `${phase}: run ${c.id}: ${JSON.stringify(c.history)}`);
      const terminal = c.history.filter((h) => TERMINAL.test(h.status));
      assert.equal(terminal.length, 1, `${phase}: exactly one terminal state for run ${c.id}: ${JSON.stringify(c.history)}`);
    }
    for (const scan of scans) {
      // Read through the other survivor: the archive is one for all replicas.
      const reader = survivors[(seed + 1) % 2];
      const listing = await api<{ ResultSet: { Result: { label: string }[] } }>(reader, 'GET',
        `/data/experiments/${site.sessionId}/scans/${scan}/resources?format=json`);
      assert.equal(listing.ResultSet.Result.filter((r) => r.label === 'FAILOVER').length, 1, `${phase}: one FAILOVER resource on scan ${scan}`);
      const files = await api<{ ResultSet: { Result: { Name: string }[] } }>(reader, 'GET',
        `/data/experiments/${site.sessionId}/scans/${scan}/resources/FAILOVER/files?format=json`);
      assert.deepEqual(files.ResultSet.Result.map((f) => f.Name), ['out.txt'], `${phase}: scan ${scan}`);
    }
    // Clean-up follows the terminal status: every container of the installation goes, the victim's included.
    const instance = await instanceOf(site.data);
    await waitUntil(async () => (await backend.list({ labels: { [XCS_LABELS.instance]: instance } })).length === 0,
      `no container left (${phase})`, 30_000, output);
  } finally {
    for (const s of all) await sigkill(s);
  }
}

test(`three replicas, ${PHASES.length * RUNS_PER_TRIAL} runs launched round-robin, the events follower SIGKILLed while staging, running, finalizing and at random: every run ends once, outputs once, no container left`, { timeout: 240_000 }, async () => {
  for (const [i, phase] of PHASES.entries()) await trial(phase, i);
});
