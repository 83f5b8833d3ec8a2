/**
 * The run engine against plain `docker run --rm` of the same image, measured in the same run:
 * - launch-to-complete of a trivial container (median of 10; target: ratio ≤ 1.15);
 * - 200 trivial runs at concurrency 4 against `xargs -P4 docker run --rm` (throughput; target ≥ 0.9).
 * Runs go through the whole engine (durable queue, staging, events, log saving, finalization, clean-up);
 * no HTTP.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BENCH_IMAGE, openEngineScenario } from './engine-scenario.ts';
import { median, type Bench, type BenchResult } from './lib.ts';

const run = promisify(execFile);

const bench: Bench = {
  name: 'runtime',
  async run(): Promise<BenchResult[]> {
    const scenario = await openEngineScenario('xcs-bench-runtime-');
    const dockerOne = async (): Promise<void> => { await run('docker', ['run', '--rm', '--network', 'none', BENCH_IMAGE, 'true']); };
    try {
      // Warm both paths (image layers, connection, module loading).
      await dockerOne();
      await scenario.launchOne();
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < 10; i++) {
        let t = performance.now(); await dockerOne(); base.push(performance.now() - t);
        t = performance.now(); await scenario.launchOne(); ours.push(performance.now() - t);
      }
      const single = { ours: median(ours), base: median(base) };

      const N = 200;
      const t = performance.now();
      await run('sh', ['-c', `seq ${N} | xargs -P4 -I{} docker run --rm --network none ${BENCH_IMAGE} true`], { maxBuffer: 1 << 24 });
      const baseSecs = (performance.now() - t) / 1000;
      const oursSecs = await scenario.throughput(N);

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
      await scenario.close();
    }
  },
};

export default bench;
