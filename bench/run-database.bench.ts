/**
 * The run database on PostgreSQL against SQLite (the baseline), through the same `RunStore` calls the engine makes:
 * one run's life (recorded `Queued` with its staging job, then Staging, Created, Running, Finalizing, Complete: six
 * synchronous transactions) and the event-loop time of one trivial query (the round trip each query blocks for).
 * PostgreSQL is Debian's cluster started by `scripts/postgres-harness.sh` on 127.0.0.1, in a schema dropped afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgSyncDatabase } from '../src/core/database/pg-sync.ts';
import { parseDatabaseUrl, type DatabaseTarget } from '../src/core/database/target.ts';
import { openRunDatabaseAt, type RunDatabase } from '../src/runtime/store/db.ts';
import { JobQueue } from '../src/runtime/store/queue.ts';
import { RunStore } from '../src/runtime/store/run-store.ts';
import type { RunSpec } from '../src/runtime/store/run-spec.ts';
import { median, type Bench } from './lib.ts';

const RUNS = 300;
const PINGS = 2000;
const PATH = ['Staging', 'Created', 'Running', 'Finalizing', 'Complete'] as const;

function lifecycleMs(db: RunDatabase): number {
  const store = new RunStore(db, new JobQueue(db));
  const spec = { 'command-id': 1, 'wrapper-id': 1, image: 'bench/none:1' } as unknown as RunSpec;
  const each: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const run = store.create({ spec, userId: 'bench', project: 'P', containerNamePattern: 'bench-{id}' });
    for (const status of PATH) store.transition(run.id, status, { source: 'system' });
    each.push(performance.now() - t0);
  }
  return median(each);
}

function pingUs(db: RunDatabase): number {
  const each: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const t0 = performance.now();
    db.ping();
    each.push((performance.now() - t0) * 1000);
  }
  return median(each);
}

const bench: Bench = {
  name: 'run database: PostgreSQL against SQLite',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'xcs-bench-rundb-'));
    const url = parseDatabaseUrl(process.env.XCS_DATABASE_URL || execFileSync('bash', ['scripts/postgres-harness.sh'], { encoding: 'utf8' }).trim()).url;
    const schema = `xcs_bench_${process.pid}`;
    const pgTarget: DatabaseTarget = { kind: 'postgres', url, schema };
    const sqlite = openRunDatabaseAt({ kind: 'sqlite' }, join(dir, 'runs.sqlite'));
    const pg = openRunDatabaseAt(pgTarget, 'unused');
    try {
      const [sqliteLife, pgLife] = [lifecycleMs(sqlite), lifecycleMs(pg)];
      const [sqlitePing, pgPing] = [pingUs(sqlite), pingUs(pg)];
      return [
        { name: 'one run\'s life: create + 5 transitions (median)', unit: 'ms', baseline: sqliteLife, baselineLabel: 'SQLite',
          ours: pgLife, better: 'lower', target: 'PostgreSQL <= 15 ms', met: pgLife <= 15 },
        { name: 'event loop blocked by one query (SELECT 1, median)', unit: 'µs', baseline: sqlitePing, baselineLabel: 'SQLite',
          ours: pgPing, better: 'lower', target: 'PostgreSQL <= 500 µs on 127.0.0.1', met: pgPing <= 500 },
      ];
    } finally {
      sqlite.close();
      pg.close();
      const admin = new PgSyncDatabase({ url, schema: 'public' });
      admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
