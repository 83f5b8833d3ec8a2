/**
 * The run engine on the Slurm backend against a shell loop of `sbatch --wait` running the same container, in the
 * same run: 50 trivial runs at concurrency 4 (throughput; target ratio ≥ 0.9). Runs go through the whole engine
 * (durable queue, staging, the job watcher's status queries, log saving, finalization, clean-up); no HTTP.
 * Needs the one-machine cluster of scripts/slurm-harness.sh (skipped with the reason when Slurm is not installed).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createSlurmBackend } from '../src/backends/slurm/index.ts';
import { XCS_LABELS } from '../src/backends/types.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/index.ts';
import { RunEngine } from '../src/runtime/engine.ts';
import { simpleRunSpec } from '../src/runtime/store/simple-spec.ts';
import type { Bench, BenchResult } from './lib.ts';

const run = promisify(execFile);
const IMAGE = 'xcs-test/busybox:latest';
const N = 50;

const bench: Bench = {
  name: 'slurm',
  async run(): Promise<BenchResult[]> {
    if (!existsSync('/usr/sbin/slurmctld')) {
      process.stderr.write('bench slurm: skipped, Slurm is not installed (apt-get install slurm-wlm munge)\n');
      return [];
    }
    await run('bash', ['scripts/slurm-harness.sh']);
    await run('bash', ['scripts/docker-harness.sh']);
    const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-slurm-'));
    const jobRoot = join(dir, 'jobs');
    await mkdir(jobRoot);
    const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'bench-pw' } });
    const backend = await createSlurmBackend({ jobRoot, runnerReachable: true });
    const instance = `bench-${randomBytes(4).toString('hex')}`;
    const engine = RunEngine.open({
      dataDir: join(dir, 'data'), instanceId: instance, serverUrl: () => 'http://127.0.0.1:9', maxRunning: 4,
      maxFinalizing: 4, reconcileIntervalMs: 3_600_000,
    }, {
      backend, credentials: aliasTokenCredentials(opened.users, opened.archive), outputs: archiveOutputs(opened.archive, opened.users),
      log: { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
    });
    await engine.start();
    const launchOne = async (): Promise<void> => {
      const r = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'true' }), 'admin', null);
      const end = await engine.waitForEnd(r.id);
      if (end.status !== 'Complete') throw new Error(`bench run ${r.id} ended ${end.status}`);
    };
    // The same container as a job, four at a time, each waited for by sbatch itself.
    const baseline = `seq ${N} | xargs -P4 -I{} sbatch --wait --quiet --export=NIL --output=/dev/null ` +
      `--wrap 'docker run --rm --network none ${IMAGE} true'`;
    try {
      await launchOne();
      let t = performance.now();
      await run('sh', ['-c', baseline], { maxBuffer: 1 << 24 });
      const baseSecs = (performance.now() - t) / 1000;
      t = performance.now();
      const ids = Array.from({ length: N }, () => engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'true' }), 'admin', null).id);
      const ends = await Promise.all(ids.map((id) => engine.waitForEnd(id)));
      const oursSecs = (performance.now() - t) / 1000;
      const bad = ends.filter((e) => e.status !== 'Complete').length;
      if (bad > 0) throw new Error(`${bad} of ${N} runs did not complete`);
      return [{
        name: `${N} trivial runs at concurrency 4 on Slurm`, unit: 'runs/s', baseline: N / baseSecs,
        baselineLabel: 'xargs -P4 sbatch --wait (docker run --rm)', ours: N / oursSecs, better: 'higher', target: 'ratio >= 0.9',
        met: (N / oursSecs) / (N / baseSecs) >= 0.9,
      }];
    } finally {
      await engine.stop();
      for (const c of await backend.list({ labels: { [XCS_LABELS.instance]: instance } })) await backend.remove(c.backendId);
      await backend.close();
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
