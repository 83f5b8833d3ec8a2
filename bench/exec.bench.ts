/**
 * `xcs exec` of a trivial command (busybox `true`, no mounts) against `docker run --rm --network none` of the
 * same image and command, both as processes started from scratch (Node's start-up included), interleaved
 * in the same run; median wall time of each. Target: ratio <= 1.3. bin/xcs runs the bundled build when
 * it is fresh (scripts/build.sh: esbuild, dist/cli/), as an installed xcs would; the bench builds it first.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, type Bench } from './lib.ts';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = 'xcs-test/busybox:latest';
const ROUNDS = 9;
const TARGET = 1.3;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const bench: Bench = {
  name: 'exec',
  async run() {
    spawnSync('bash', ['scripts/docker-harness.sh'], { cwd: root, stdio: 'inherit' });
    spawnSync('bash', ['scripts/build.sh'], { cwd: root, stdio: 'inherit' });
    const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-exec-'));
    try {
      const file = join(dir, 'trivial.json');
      await writeFile(file, JSON.stringify({ name: 'trivial', image: IMAGE, 'command-line': 'true' }));
      const ours = (): Promise<unknown> => run(join(root, 'bin/xcs'), ['exec', file, '--output-dir', join(dir, 'out')]);
      const docker = (): Promise<unknown> => run('docker', ['run', '--rm', '--network', 'none', IMAGE, 'true']);
      // One of each first, unmeasured: caches (page cache, image layers) warm for both.
      await ours();
      await docker();
      const oursMs: number[] = [];
      const dockerMs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        dockerMs.push(await timed(docker));
        oursMs.push(await timed(ours));
      }
      const base = median(dockerMs);
      const mine = median(oursMs);
      return [{
        name: `xcs exec of a trivial command vs docker run --rm, median of ${ROUNDS}`,
        unit: 'ms',
        baseline: base,
        baselineLabel: 'docker run --rm',
        ours: mine,
        better: 'lower',
        target: `ratio <= ${TARGET}`,
        met: mine / base <= TARGET,
      }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
