/**
 * The run engine on the swarm backend against the Docker CLI driving the same swarm, measured in the same run:
 * - launch-to-complete of a trivial run (median of 10), both figures reported;
 * - 100 trivial runs at concurrency 4 against `xargs -P4` of a shell loop `docker service create` + wait for the
 *   task to complete + `docker service rm` (throughput; target ratio ≥ 0.9).
 * Runs go through the whole engine (durable queue, staging, task following, log saving, finalization, clean-up
 * that removes the service); no HTTP. Needs the swarm of `scripts/swarm-harness.sh`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createSwarmBackend } from '../src/backends/swarm/swarm-backend.ts';
import { XCS_LABELS } from '../src/backends/types.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/archive-adapters/index.ts';
import { RunEngine } from '../src/runtime/engine.ts';
import { simpleRunSpec } from '../src/runtime/store/simple-spec.ts';
import { median, type Bench, type BenchResult } from './lib.ts';

const run = promisify(execFile);
const IMAGE = 'xcs-test/busybox:latest';
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** One service the way a script drives a swarm: create, wait until its task completed, remove. */
const SHELL_ONE = `
id=$(docker service create -d -q --no-resolve-image --restart-condition none --name "xcs-bench-swarm-$1-$2" --label xcs-bench=$1 "$3" true)
while :; do
  state=$(docker service ps -q --format '{{.CurrentState}}' "$id" 2>/dev/null | head -n 1)
  case "$state" in Complete*) break ;; Failed*|Rejected*|Shutdown*) echo "task $state" >&2; exit 1 ;; esac
  sleep 0.1
done
docker service rm "$id" >/dev/null
`;

const bench: Bench = {
  name: 'swarm',
  async run(): Promise<BenchResult[]> {
    await run('bash', ['scripts/swarm-harness.sh'], { cwd: repoRoot, maxBuffer: 1 << 24 });
    const imageId = (await run('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE])).stdout.trim();
    const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-swarm-'));
    const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'bench-pw' } });
    const backend = await createSwarmBackend();
    const instance = `bench-${randomBytes(4).toString('hex')}`;
    const engine = RunEngine.open({
      dataDir: join(dir, 'data'), instanceId: instance, serverUrl: () => 'http://127.0.0.1:9', maxRunning: 4,
      maxFinalizing: 4, reconcileIntervalMs: 3_600_000,
    }, {
      backend, credentials: aliasTokenCredentials(opened.users, opened.archive), outputs: archiveOutputs(opened.archive, opened.users),
      log: { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
    });
    await engine.start();
    const tag = randomBytes(4).toString('hex');
    let n = 0;
    const launchOne = async (): Promise<void> => {
      const r = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'true' }), 'admin', null);
      const end = await engine.waitForEnd(r.id);
      if (end.status !== 'Complete') throw new Error(`bench run ${r.id} ended ${end.status}`);
    };
    const shellOne = async (): Promise<void> => {
      await run('sh', ['-c', SHELL_ONE, 'sh', tag, String(++n), imageId]);
    };
    try {
      await shellOne();
      await launchOne();
      const ours: number[] = [];
      const base: number[] = [];
      for (let i = 0; i < 10; i++) {
        let t = performance.now(); await shellOne(); base.push(performance.now() - t);
        t = performance.now(); await launchOne(); ours.push(performance.now() - t);
      }
      const single = { ours: median(ours), base: median(base) };

      const N = 100;
      let t = performance.now();
      await run('sh', ['-c', `seq 1000 $((1000 + ${N} - 1)) | xargs -P4 -I{} sh -c '${SHELL_ONE.replace(/'/g, `'"'"'`)}' sh ${tag} {} ${imageId}`],
        { maxBuffer: 1 << 24 });
      const baseSecs = (performance.now() - t) / 1000;
      t = performance.now();
      const ids = Array.from({ length: N }, () => engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'true' }), 'admin', null).id);
      const ends = await Promise.all(ids.map((id) => engine.waitForEnd(id)));
      const oursSecs = (performance.now() - t) / 1000;
      const bad = ends.filter((e) => e.status !== 'Complete').length;
      if (bad > 0) throw new Error(`${bad} of ${N} runs did not complete`);

      return [
        {
          name: 'swarm: launch-to-complete, trivial run (median of 10)', unit: 'ms', baseline: single.base,
          baselineLabel: 'docker service create + wait + rm', ours: single.ours, better: 'lower', target: 'reported (both figures)',
          met: true,
        },
        {
          name: `swarm: ${N} trivial runs at concurrency 4`, unit: 'runs/s', baseline: N / baseSecs,
          baselineLabel: 'xargs -P4 docker service create + wait + rm', ours: N / oursSecs, better: 'higher', target: 'ratio >= 0.9',
          met: (N / oursSecs) / (N / baseSecs) >= 0.9,
        },
      ];
    } finally {
      await engine.stop();
      for (const c of await backend.list({ labels: { [XCS_LABELS.instance]: instance } })) await backend.remove(c.backendId);
      await backend.close();
      await opened.close();
      await rm(dir, { recursive: true, force: true });
      const left = (await run('docker', ['service', 'ls', '-q', '--filter', `label=xcs-bench=${tag}`])).stdout.trim();
      if (left !== '') await run('sh', ['-c', `docker service rm ${left.split('\n').join(' ')} >/dev/null`]);
    }
  },
};

export default bench;
