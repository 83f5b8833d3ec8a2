/**
 * The run engine on PostgreSQL against the same engine on SQLite (the baseline), in the same run: launch-to-complete
 * of a trivial container (median of 10) and 200 trivial runs at concurrency 4. Everything but the database is the
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

async function measure(scenario: EngineScenario): Promise<{ single: number; perSec: number }> {
  await scenario.launchOne();
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await scenario.launchOne();
    times.push(performance.now() - t);
  }
  return { single: median(times), perSec: N / await scenario.throughput(N) };
}

const bench: Bench = {
  name: 'runtime-postgres',
  async run(): Promise<BenchResult[]> {
    const base = process.env.XCS_DATABASE_URL
      || execFileSync('bash', ['scripts/postgres-harness.sh'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const schema = `xcs_bench_${randomBytes(4).toString('hex')}`;
    const results: Record<'sqlite' | 'postgres', { single: number; perSec: number }> = {
      sqlite: { single: 0, perSec: 0 }, postgres: { single: 0, perSec: 0 },
    };
    try {
      for (const kind of ['sqlite', 'postgres'] as const) {
        useDatabaseUrl(kind === 'sqlite' ? null : `${base}?schema=${schema}`);
        const scenario = await openEngineScenario(`xcs-bench-${kind}-`);
        try {
          results[kind] = await measure(scenario);
        } finally {
          await scenario.close();
        }
      }
    } finally {
      useDatabaseUrl(undefined);
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
    const { sqlite, postgres } = results;
    return [
      {
        name: 'launch-to-complete on PostgreSQL, trivial container (median of 10)', unit: 'ms', baseline: sqlite.single,
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
