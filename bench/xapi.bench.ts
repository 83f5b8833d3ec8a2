/**
 * `GET /xapi/containers` (first page) on 10,000 container records: `bin/xcs serve` runs as a subprocess on a
 * fresh data directory seeded beforehand through the run store (`scripts/seed-runs.ts`, no real
 * containers); 50 concurrent clients on 127.0.0.1 send 2,000 requests in all, after 200 warm-up requests.
 * Reports p50/p99 latency (target p99 <= 50 ms) and the server's VmRSS afterwards (target <= 200 MB, i.e.
 * 190.7 MiB). Latency on this shared machine follows the load of everything else on it, so the server's own
 * CPU time per request (user + system, from /proc) is reported too: it does not.
 *
 * On SQLite, and with `XCS_DATABASE_URL` set, on that PostgreSQL server too (in a schema of its own, dropped
 * afterwards), SQLite's figures then being the baseline of PostgreSQL's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { seedRuns } from '../scripts/seed-runs.ts';
import { PgSyncDatabase } from '../src/core/database/pg-sync.ts';
import { databaseTargetFor, useDatabaseUrl } from '../src/core/database/target.ts';
import { median, percentile, type Bench, type BenchResult } from './lib.ts';

const RECORDS = 10_000;
const CLIENTS = 50;
const REQUESTS = 2_000;
const WARMUP = 200;
/** /proc reports CPU time in USER_HZ ticks, 100 a second on every Linux architecture. */
const CLOCK_TICKS = 100;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** User + system CPU milliseconds the process has used so far. */
function cpuMs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServe(dataDir: string, databaseUrl: string | null): Promise<{ child: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, XCS_ADMIN_USER: 'admin', XCS_ADMIN_PASSWORD: 'bench-pw' };
  if (databaseUrl === null) delete env.XCS_DATABASE_URL;
  else env.XCS_DATABASE_URL = databaseUrl;
  const child = spawn(join(root, 'bin/xcs'), ['serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /https?:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`xcs serve exited (${code}): ${out}`)));
    setTimeout(() => reject(new Error(`xcs serve did not report its port: ${out}`)), 60_000).unref();
  });
  return { child, port };
}

function get(agent: Agent, port: number, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const r = request({ host: '127.0.0.1', port, path: '/xapi/containers', agent, headers: { authorization: auth } }, (res) => {
      let n = 0;
      res.on('data', (b: Buffer) => { n += b.length; });
      res.on('end', () => {
        if (res.statusCode !== 200 || n < 1000) reject(new Error(`GET /xapi/containers: ${res.statusCode}, ${n} bytes`));
        else resolve(performance.now() - t0);
      });
    });
    r.on('error', reject);
    r.end();
  });
}

async function load(port: number, total: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const auth = `Basic ${Buffer.from('admin:bench-pw').toString('base64')}`;
  const times: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < total) {
      next++;
      times.push(await get(agent, port, auth));
    }
  }));
  agent.destroy();
  return times;
}

interface Figures { p50: number; p99: number; cpuPerRequest: number; rss: number; how: string; seedSeconds: number }

/** Seeds a fresh data directory on the database `databaseUrl` (null: SQLite), serves it and loads it. */
async function measure(databaseUrl: string | null): Promise<Figures> {
  const base = await mkdtemp(join(tmpdir(), 'xcs-bench-xapi-'));
  const dataDir = join(base, 'data');
  let child: ChildProcess | undefined;
  useDatabaseUrl(databaseUrl);
  try {
    const t0 = performance.now();
    seedRuns(dataDir, RECORDS);
    const seedSeconds = (performance.now() - t0) / 1000;
    const s = await startServe(dataDir, databaseUrl);
    child = s.child;
    await load(s.port, WARMUP);
    const cpu0 = cpuMs(child.pid!);
    const times = await load(s.port, REQUESTS);
    const cpuPerRequest = (cpuMs(child.pid!) - cpu0) / REQUESTS;
    const rss = rssMiB(child.pid!);
    // bin/xcs falls back to tsx (~50 MB more) when a source changed after the build, as happens on a shared tree.
    const how = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('dist/cli/main.js') ? 'compiled' : 'through tsx: sources newer than dist/';
    return { p50: median(times), p99: percentile(times, 99), cpuPerRequest, rss, how, seedSeconds };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (databaseUrl !== null) {
      const target = databaseTargetFor(dataDir);
      if (target.kind === 'postgres') {
        const db = new PgSyncDatabase({ url: target.url, schema: 'public' });
        try { db.exec(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`); } finally { db.close(); }
      }
    }
    useDatabaseUrl(undefined);
    await rm(base, { recursive: true, force: true });
  }
}

function results(f: Figures, on: string, baseline: Figures | null): BenchResult[] {
  const label = baseline ? { baselineLabel: 'the same on SQLite' } : {};
  return [
    { name: `GET /xapi/containers p50 on ${on} (${RECORDS} records, ${CLIENTS} clients; seeded in ${f.seedSeconds.toFixed(0)} s)`, unit: 'ms',
      baseline: baseline?.p50 ?? null, ...label, ours: f.p50, better: 'lower', target: 'informative', met: true },
    { name: `GET /xapi/containers p99 on ${on} (${RECORDS} records, ${CLIENTS} clients)`, unit: 'ms',
      baseline: baseline?.p99 ?? null, ...label, ours: f.p99, better: 'lower', target: '<= 50 ms', met: f.p99 <= 50 },
    { name: `xcs serve CPU time per request on ${on} (user + system)`, unit: 'ms',
      baseline: baseline?.cpuPerRequest ?? null, ...label, ours: f.cpuPerRequest, better: 'lower', target: 'informative', met: true },
    { name: `xcs serve VmRSS after the load on ${on} (${f.how})`, unit: 'MiB', baseline: baseline?.rss ?? null, ...label,
      ours: f.rss, better: 'lower', target: '<= 200 MB (190.7 MiB)', met: f.rss * 1.048576 <= 200 },
  ];
}

const bench: Bench = {
  name: 'xapi containers listing',
  async run() {
    const sqlite = await measure(null);
    const url = process.env.XCS_DATABASE_URL;
    if (!url) return results(sqlite, 'SQLite', null);
    // A schema of its own (unless XCS_DATABASE_SCHEMA_PER_DATA_DIR=1 names one after the data directory).
    const pgUrl = new URL(url);
    pgUrl.searchParams.set('schema', `xcs_bench_xapi_${randomBytes(4).toString('hex')}`);
    const postgres = await measure(pgUrl.toString());
    return [...results(sqlite, 'SQLite', null), ...results(postgres, 'PostgreSQL', sqlite)];
  },
};

export default bench;
