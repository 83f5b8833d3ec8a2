/**
 * The archive database on PostgreSQL against SQLite (the baseline), same operations through the archive API:
 * (1) listing a resource of 10,000 files (median of 20; target: at most 3× SQLite's);
 * (2) creating subjects one after another (each an accession ID in a transaction; target: at most 5 ms each);
 * (3) two replicas creating subjects at once on PostgreSQL (throughput; target: at least that of one replica alone).
 * PostgreSQL is `XCS_DATABASE_URL`'s, else `scripts/postgres-harness.sh`'s, in a schema of its own dropped after.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { median, timeRuns, type Bench, type BenchResult } from './lib.ts';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import { useDatabaseUrl } from '../src/core/database/target.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Read once and cleared: the SQLite half must not fall back to it. */
const givenUrl = process.env.XCS_DATABASE_URL || undefined;
delete process.env.XCS_DATABASE_URL;
delete process.env.XCS_DATABASE_SCHEMA_PER_DATA_DIR;

function postgresBase(): string {
  return givenUrl || execFileSync('bash', ['scripts/postgres-harness.sh'], { cwd: repoRoot, encoding: 'utf8' }).trim();
}

async function withArchive<T>(kind: 'sqlite' | 'postgres', fn: (open: () => Promise<OpenedArchive>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `xcs-bench-db-${kind}-`));
  const schema = `xcs_bench_${randomBytes(5).toString('hex')}`;
  const base = kind === 'postgres' ? new URL(postgresBase()) : undefined;
  if (base) {
    const u = new URL(base);
    u.searchParams.set('schema', schema);
    useDatabaseUrl(u.toString());
  } else {
    useDatabaseUrl(undefined);
  }
  const opened: OpenedArchive[] = [];
  try {
    return await fn(async () => {
      const o = await openEmbeddedArchive(join(dir, 'data'), { admin: { password: 'bench-pw' } });
      opened.push(o);
      return o;
    });
  } finally {
    for (const o of opened) await o.close();
    // The setting is process-wide: benches after this one open their archives on SQLite again.
    useDatabaseUrl(undefined);
    if (base) {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function listing(kind: 'sqlite' | 'postgres'): Promise<number> {
  return withArchive(kind, async (open) => {
    const a = (await open()).archive;
    await a.createProject({ id: 'B' }, 'admin');
    const stage = join(a.stagingDir(), 'bench');
    await mkdir(stage, { recursive: true });
    for (let i = 0; i < 10_000; i++) await writeFile(join(stage, `IM${String(i).padStart(5, '0')}.dcm`), String(i));
    const r = await a.commitResource({ kind: 'project', project: 'B' }, { label: 'DICOM' }, stage, { idempotencyKey: 'b' }, 'admin');
    await a.listFiles(r.resource);
    return median(await timeRuns(20, async () => {
      if ((await a.listFiles(r.resource)).length !== 10_000) throw new Error('listing lost files');
    }));
  });
}

async function creating(kind: 'sqlite' | 'postgres', replicas: number, perReplica: number): Promise<number> {
  return withArchive(kind, async (open) => {
    const all = [];
    for (let i = 0; i < replicas; i++) all.push(await open());
    await all[0].archive.createProject({ id: 'B' }, 'admin');
    const t0 = performance.now();
    await Promise.all(all.map(async (o, r) => {
      for (let i = 0; i < perReplica; i++) await o.archive.createSubject('B', { label: `S${r}_${i}` }, 'admin');
    }));
    const ms = performance.now() - t0;
    if ((await all[0].archive.listSubjects('B')).length !== replicas * perReplica) throw new Error('subjects lost');
    return ms / (replicas * perReplica);
  });
}

const bench: Bench = {
  name: 'archive database: PostgreSQL against SQLite',
  async run(): Promise<BenchResult[]> {
    const listSqlite = await listing('sqlite');
    const listPg = await listing('postgres');
    const createSqlite = await creating('sqlite', 1, 300);
    const createPg = await creating('postgres', 1, 300);
    const createPg2 = await creating('postgres', 2, 150);
    return [
      { name: 'list a resource of 10,000 files on PostgreSQL (archive API, median of 20)', unit: 'ms', baseline: listSqlite,
        baselineLabel: 'SQLite', ours: listPg, better: 'lower', target: '<= 3x SQLite', met: listPg <= 3 * listSqlite },
      { name: 'create a subject (accession ID, transaction) on PostgreSQL, one after another', unit: 'ms', baseline: createSqlite,
        baselineLabel: 'SQLite', ours: createPg, better: 'lower', target: '<= 5 ms', met: createPg <= 5 },
      { name: 'create a subject on PostgreSQL, two replicas at once (time per subject)', unit: 'ms', baseline: createPg,
        baselineLabel: 'one replica', ours: createPg2, better: 'lower', target: '<= one replica', met: createPg2 <= createPg },
    ];
  },
};

export default bench;
