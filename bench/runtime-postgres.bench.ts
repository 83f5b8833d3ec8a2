/**
 * The run engine on PostgreSQL against the same engine on SQLite (the baseline), in the same run: launch-to-complete
 * of a trivial container (median of 15, launches alternating between the two) and 200 trivial runs at concurrency 4. Everything but the database is the
 * same (Docker, the archive's files, the engine's settings). PostgreSQL is `XCS_DATABASE_URL`'s, else
 * `scripts/postgres-harness.sh`'s, in a fresh schema dropped afterwards. Targets: at most 1.2× SQLite's time for
 * one run, at least 0.8× its throughput.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { useDatabaseUrl } from '../src/core/database/target.ts';
import { openEngineScenario, type EngineScenario } from './engine-scenario.ts';
import { median, type Bench, type BenchResult } from './lib.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const N = 200;
type Kind = 'sqlite' | 'postgres';
const KINDS: readonly Kind[] = ['sqlite', 'postgres'];

const SINGLES = 15;

/**
 * Single launches alternate between the two engines (one on each database, both open), so that whatever else the
 * machine does at the time weighs on both medians alike; the throughputs then run one after the other.
 */
async function measure(scenarios: Record<Kind, EngineScenario>, urls: Record<Kind, string | null>): Promise<Record<Kind, { single: number; perSec: number }>> {
  const times: Record<Kind, number[]> = { sqlite: [], postgres: [] };
  // The setting is process-wide and read whenever a store opens: it follows the engine being driven.
  const launch = (kind: Kind): Promise<void> => { useDatabaseUrl(urls[kind]); return scenarios[kind].launchOne(); };
  for (const kind of KINDS) await launch(kind);
  for (let i = 0; i < SINGLES; i++) {
    for (const kind of i % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const t = performance.now();
      await launch(kind);
      times[kind].push(performance.now() - t);
    }
  }
  const out = { sqlite: { single: median(times.sqlite), perSec: 0 }, postgres: { single: median(times.postgres), perSec: 0 } };
  for (const kind of KINDS) {
    useDatabaseUrl(urls[kind]);
    out[kind].perSec = N / await scenarios[kind].throughput(N);
  }
  return out;
}

const bench: Bench = {
  name: 'runtime-postgres',
  async run(): Promise<BenchResult[]> {
    const base = process.env.XCS_DATABASE_URL
      || execFileSync('bash', ['scripts/postgres-harness.sh'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const schema = `xcs_bench_${randomBytes(4).toString('hex')}`;
    const urls: Record<Kind, string | null> = { sqlite: null, postgres: `${base}?schema=${schema}` };
    const scenarios: Partial<Record<Kind, EngineScenario>> = {};
    let results: Record<Kind, { single: number; perSec: number }>;
    try {
      for (const kind of KINDS) {
        useDatabaseUrl(urls[kind]);
        scenarios[kind] = await openEngineScenario(`xcs-bench-${kind}-`);
      }
      results = await measure(scenarios as Record<Kind, EngineScenario>, urls);
    } finally {
      for (const kind of KINDS) {
        useDatabaseUrl(urls[kind]);
        await scenarios[kind]?.close();
      }
      useDatabaseUrl(undefined);
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
    const { sqlite, postgres } = results;
    return [
      {
        name: `launch-to-complete on PostgreSQL, trivial container (median of ${SINGLES}, alternating with SQLite)`, unit: 'ms', baseline: sqlite.single,
        baselineLabel: 'the same on SQLite', ours: postgres.single, better: 'lower', target: 'ratio <= 1.2',
        met: postgres.single / sqlite.single <= 1.2,
      },
      {
        name: `${N} trivial runs at concurrency 4 on PostgreSQL`, unit: 'runs/s', baseline: sqlite.perSec,
        baselineLabel: 'the same on SQLite', ours: postgres.perSec, better: 'higher', target: 'ratio >= 0.8',
        met: postgres.perSec / sqlite.perSec >= 0.8,
      },
    ];
  },
};

export default bench;
