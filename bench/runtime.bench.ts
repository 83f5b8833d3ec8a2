/**
 * The run engine against plain `docker run --rm` of the same image, measured in the same run:
 * - launch-to-complete of a trivial container (median of 10; target: ratio ≤ 1.15);
 * - 200 trivial runs at concurrency 4 against `xargs -P4 docker run --rm` (throughput; target ≥ 0.9).
 * Runs go through the whole engine (durable queue, staging, events, log saving, finalization, clean-up);
 * no HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS } from '../src/backends/types.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/archive-adapters/index.ts';
import { RunEngine } from '../src/runtime/engine.ts';
import { simpleRunSpec } from '../src/runtime/simple-spec.ts';
import { median, type Bench, type BenchResult } from './lib.ts';

const run = promisify(execFile);
const IMAGE = 'xcs-test/busybox:latest';

const bench: Bench = {
  name: 'runtime',
  async run(): Promise<BenchResult[]> {
    const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-runtime-'));
    const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'bench-pw' } });
    const backend = await createDockerBackend();
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
    const dockerOne = async (): Promise<void> => { await run('docker', ['run', '--rm', '--network', 'none', IMAGE, 'true']); };
    try {
      // Warm both paths (image layers, connection, module loading).
      await dockerOne();
      await launchOne();
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < 10; i++) {
        let t = performance.now(); await dockerOne(); base.push(performance.now() - t);
        t = performance.now(); await launchOne(); ours.push(performance.now() - t);
      }
      const single = { ours: median(ours), base: median(base) };

      const N = 200;
      let t = performance.now();
      await run('sh', ['-c', `seq ${N} | xargs -P4 -I{} docker run --rm --network none ${IMAGE} true`], { maxBuffer: 1 << 24 });
      const baseSecs = (performance.now() - t) / 1000;
      t = performance.now();
      const ids = Array.from({ length: N }, () => engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'true' }), 'admin', null).id);
      const ends = await Promise.all(ids.map((id) => engine.waitForEnd(id)));
      const oursSecs = (performance.now() - t) / 1000;
      const bad = ends.filter((e) => e.status !== 'Complete').length;
      if (bad > 0) throw new Error(`${bad} of ${N} runs did not complete`);

      return [
        {
          name: 'launch-to-complete, trivial container (median of 10)', unit: 'ms', baseline: single.base,
          baselineLabel: 'docker run --rm', ours: single.ours, better: 'lower', target: 'ratio <= 1.15',
          met: single.ours / single.base <= 1.15,
        },
        {
          name: `${N} trivial runs at concurrency 4`, unit: 'runs/s', baseline: N / baseSecs,
          baselineLabel: 'xargs -P4 docker run --rm', ours: N / oursSecs, better: 'higher', target: 'ratio >= 0.9',
          met: (N / oursSecs) / (N / baseSecs) >= 0.9,
        },
      ];
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
