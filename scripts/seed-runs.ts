/**
 * Test and benchmark hook: writes finished run records into a data directory through the run store (the
 * same transitions the engine makes), without running containers. Run it before the server starts:
 *
 *   node --import tsx scripts/seed-runs.ts DATADIR COUNT
 *
 * Run i (from 0) belongs to project `P{i % projects}` (null every `noProjectEvery`-th), user `u{i % users}`,
 * command `1 + i % 3`, wrapper `10 + i % 5`; it ends `Complete`, or `Failed` every 4th; every 10th has a
 * sensitive input whose value ("seed-secret-{i}") is also in its command line.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openRunDatabase } from '../src/runtime/store/db.ts';
import { JobQueue } from '../src/runtime/store/queue.ts';
import { RunStore } from '../src/runtime/store/run-store.ts';
import { simpleRunSpec } from '../src/runtime/store/simple-spec.ts';
import type { RunStatus } from '../src/runtime/store/state-machine.ts';

export interface SeedOptions {
  projects?: number;
  users?: number;
  noProjectEvery?: number;
}

export function seedRuns(dataDir: string, count: number, opts: SeedOptions = {}): void {
  const projects = opts.projects ?? 10;
  const users = opts.users ?? 5;
  mkdirSync(dataDir, { recursive: true });
  const db = openRunDatabase(join(dataDir, 'runs.sqlite'));
  try {
    const store = new RunStore(db, new JobQueue(db));
    const path: RunStatus[] = ['Staging', 'Created', 'Running', 'Waiting', 'Finalizing'];
    const seed = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        const secret = i % 10 === 0 ? `seed-secret-${i}` : null;
        const spec = simpleRunSpec({
          image: 'xcs-test/busybox:latest', commandLine: `echo run ${i}${secret ? ` --token ${secret}` : ''}`,
          inputs: { session: `/archive/experiments/XNAT_E${String(i).padStart(5, '0')}` },
          commandId: 1 + (i % 3), wrapperId: 10 + (i % 5),
        });
        if (secret) spec['external-wrapper-input-values'].push({ name: 'token', value: secret, type: 'string', sensitive: true });
        const project = opts.noProjectEvery && i % opts.noProjectEvery === 0 ? null : `P${i % projects}`;
        const run = store.create({ spec, userId: `u${i % users}`, project, containerNamePattern: 'xcs-seed-run-{id}' });
        store.setContainer(run.id, `${'0'.repeat(48)}${String(run.id).padStart(16, '0')}`);
        if (secret) store.setCredentials(run.id, `alias-${run.id}`, [secret]);
        for (const to of path) store.transition(run.id, to, { source: 'system' });
        if (i % 4 === 3) {
          store.transition(run.id, 'Failed', { source: 'system', exitCode: '1', failure: { code: 'non-zero-exit', hint: 'seeded failure' } });
        } else store.transition(run.id, 'Complete', { source: 'system', exitCode: '0' });
        // As after the engine's clean-up: a restarted server has nothing left to remove for these runs.
        store.markCleanedUp(run.id);
      }
    };
    // SQLite commits a batch of runs at once. On PostgreSQL every store call would then be a savepoint, and the
    // foreign-key locks its history rows take on the run's row, held by one savepoint while another updates the
    // row, become multixacts: three times the cost of committing each call.
    const batch = db.dialect === 'sqlite' ? db.transaction(seed) : seed;
    for (let i = 0; i < count; i += 1000) batch(i, Math.min(count, i + 1000));
  } finally {
    db.close();
  }
}

if (process.argv[1]?.endsWith('seed-runs.ts')) {
  const [dataDir, count] = process.argv.slice(2);
  if (!dataDir || !/^\d+$/.test(count ?? '')) {
    process.stderr.write('usage: node --import tsx scripts/seed-runs.ts DATADIR COUNT\n');
    process.exit(2);
  }
  seedRuns(dataDir, Number(count));
}
