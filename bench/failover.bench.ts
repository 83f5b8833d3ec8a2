/**
 * Failover: the time from SIGKILL of the replica staging two runs to the first of them moved on (out of `Staging`)
 * by another replica already running on the same data directory and database — against the single-process
 * answer, the same kill followed at once by a restart of the server (as a supervisor would). Median of 3 trials
 * each; the default lease (5 s). The replicas run on one machine, where a dead neighbour is seen at its first beat
 * (a third of the lease); across machines the failover is bounded by the lease. The database is SQLite, or the
 * PostgreSQL server of `XCS_DATABASE_URL` (a fresh schema, dropped at the end). Needs Docker.
 */
import { rm } from 'node:fs/promises';
import { api, dropDatabase, launchOn, replicaSite, waitUntil, type ReplicaSite, type RunView } from '../test/helpers/replicas.ts';
import { removeInstanceContainers } from '../test/helpers/runs.ts';
import { sigkill, startServe, type ServeProcess } from '../test/helpers/serve.ts';
import { median, type Bench } from './lib.ts';

const TRIALS = 3;
const LEASE_MS = 5000;

/**
 * Launches two runs through a server paused in staging, kills it, and times until one of them is moved on: by a
 * replica started before the kill (`replica`), or by the server restarted right after it (`restart`).
 */
async function timeTakeover(site: ReplicaSite, scans: number[], mode: 'replica' | 'restart'): Promise<number> {
  const victim = await startServe(site.data, { ...site.env, XCS_TEST_PAUSE_AT: 'staging' });
  const others: ServeProcess[] = [];
  try {
    const ids = [await launchOn(site, victim, scans[0]), await launchOn(site, victim, scans[1])];
    await waitUntil(async () => victim.output().includes('paused at staging'), 'the victim to pause in staging');
    // The other replica's start-up is not part of a failover: it runs already.
    if (mode === 'replica') others.push(await startServe(site.data, site.env));
    const killedAt = performance.now();
    await sigkill(victim);
    if (mode === 'restart') others.push(await startServe(site.data, site.env));
    const reader = others[0];
    const statuses = async (): Promise<string[]> =>
      Promise.all(ids.map(async (id) => (await api<RunView>(reader, 'GET', `/xapi/containers/${id}`)).status));
    await waitUntil(async () => (await statuses()).some((st) => st !== 'Staging'), 'a run moved on', 60_000, () => reader.output());
    const took = performance.now() - killedAt;
    // Let the runs end before the next trial, so that it starts on a quiet site.
    await waitUntil(async () => (await statuses()).every((st) => /^(Complete|Failed|Killed)/.test(st)), 'the runs to end', 60_000,
      () => reader.output());
    return took;
  } finally {
    await sigkill(victim);
    for (const s of others) await sigkill(s);
  }
}

const bench: Bench = {
  name: 'failover',
  async run() {
    const site = await replicaSite(TRIALS * 4, { XCS_LEASE_MS: String(LEASE_MS) });
    let scan = 1;
    const failover: number[] = [];
    const restart: number[] = [];
    try {
      for (let i = 0; i < TRIALS; i++) {
        failover.push(await timeTakeover(site, [scan++, scan++], 'replica'));
        restart.push(await timeTakeover(site, [scan++, scan++], 'restart'));
      }
    } finally {
      await removeInstanceContainers(site.data).catch(() => undefined);
      await dropDatabase(site);
      await rm(site.dir, { recursive: true, force: true });
    }
    const ours = median(failover);
    return [{
      name: `failover: SIGKILL of a replica → first of its runs moved on by another (median of ${TRIALS}, lease ${LEASE_MS} ms)`,
      unit: 'ms', baseline: median(restart), baselineLabel: 'kill + immediate restart of a single server', ours, better: 'lower',
      target: `<= lease (${LEASE_MS} ms)`, met: ours <= LEASE_MS,
    }];
  },
};

export default bench;
