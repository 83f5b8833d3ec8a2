/**
 * The run engine on a fresh data directory with the local Docker engine, no HTTP: what the runtime benches time.
 * Where the data directory's state lives follows `core/database/target.ts` (the caller sets the database first).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS } from '../src/backends/types.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/archive-adapters/index.ts';
import { RunEngine } from '../src/runtime/engine.ts';
import { simpleRunSpec } from '../src/runtime/store/simple-spec.ts';

export const BENCH_IMAGE = 'xcs-test/busybox:latest';

export interface EngineScenario {
  dataDir: string;
  /** Launches one trivial run and waits for it to complete. */
  launchOne(): Promise<void>;
  /** Launches `n` trivial runs at once (the engine runs 4 at a time) and waits for all; returns the seconds taken. */
  throughput(n: number): Promise<number>;
  close(): Promise<void>;
}

export async function openEngineScenario(prefix: string): Promise<EngineScenario> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const dataDir = join(dir, 'data');
  const opened = await openEmbeddedArchive(dataDir, { admin: { login: 'admin', password: 'bench-pw' } });
  const backend = await createDockerBackend();
  const instance = `bench-${randomBytes(4).toString('hex')}`;
  const engine = RunEngine.open({
    dataDir, instanceId: instance, serverUrl: () => 'http://127.0.0.1:9', maxRunning: 4,
    maxFinalizing: 4, reconcileIntervalMs: 3_600_000,
  }, {
    backend, credentials: aliasTokenCredentials(opened.users, opened.archive), outputs: archiveOutputs(opened.archive, opened.users),
    log: { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
  });
  await engine.start();
  const spec = () => simpleRunSpec({ image: BENCH_IMAGE, commandLine: 'true' });
  return {
    dataDir,
    launchOne: async () => {
      const r = engine.submit(spec(), 'admin', null);
      const end = await engine.waitForEnd(r.id);
      if (end.status !== 'Complete') throw new Error(`bench run ${r.id} ended ${end.status}`);
    },
    throughput: async (n) => {
      const t = performance.now();
      const ids = Array.from({ length: n }, () => engine.submit(spec(), 'admin', null).id);
      const ends = await Promise.all(ids.map((id) => engine.waitForEnd(id)));
      const secs = (performance.now() - t) / 1000;
      const bad = ends.filter((e) => e.status !== 'Complete').length;
      if (bad > 0) throw new Error(`${bad} of ${n} runs did not complete`);
      return secs;
    },
    close: async () => {
      await engine.stop();
      for (const c of await backend.list({ labels: { [XCS_LABELS.instance]: instance } })) await backend.remove(c.backendId);
      await backend.close();
      await opened.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
