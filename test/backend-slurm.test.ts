/**
 * The Slurm backend against the real one-machine cluster (scripts/slurm-harness.sh): the shared conformance
 * suite, then what only Slurm shows — limits in `scontrol show job`, a job stopped at its time limit, the
 * pending reason while the node is full, cancellation outside XCS, secrets kept out of the job script, and a
 * restarted backend finding its jobs again. All of it twice: through the Slurm command-line tools, then through
 * slurmrestd with a JWT (the harness's slurmrestd on 127.0.0.1:6820, a token from `scontrol token` in a file).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exitFailure } from '../src/backends/failure.ts';
import { createSlurmBackend, type SlurmBackend } from '../src/backends/slurm/index.ts';
import { SlurmCli } from '../src/backends/slurm/slurm-cli.ts';
import type { SlurmRestOptions } from '../src/backends/slurm/slurm-rest.ts';
import type { ContainerSpec } from '../src/backends/types.ts';
import { runBackendConformance } from '../src/backends/conformance/backend.case.ts';
import { ENTRYPOINT_MARKER, ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { ensureSlurmHarness, SLURM_REST_URL, slurmHarnessAbsent, slurmRestAbsent } from './helpers/slurm.ts';

const absent = slurmHarnessAbsent();
const restAbsent = absent ?? slurmRestAbsent();
const roots: string[] = [];
const run = promisify(execFile);

/** slurmrestd's options: a fresh token for root, in a 0600 file as a site would keep it. */
let restOptions: Promise<SlurmRestOptions> | undefined;
function rest(): Promise<SlurmRestOptions> {
  restOptions ??= (async () => {
    await ensureSlurmHarness();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'xcs-slurm-token-'));
    roots.push(dir);
    const { stdout } = await run('scontrol', ['token', 'username=root', 'lifespan=7200']);
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, stdout, { mode: 0o600 });
    return { url: SLURM_REST_URL, user: 'root', tokenFile };
  })();
  return restOptions;
}

type Client = 'cli' | 'rest';

async function newBackend(client: Client, jobRoot?: string): Promise<SlurmBackend> {
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness()]);
  const root = jobRoot ?? (await mkdtemp(path.join(os.tmpdir(), 'xcs-slurm-jobs-')));
  if (!roots.includes(root)) roots.push(root);
  return createSlurmBackend({ jobRoot: root, runnerReachable: true, pollIntervalMs: 500, ...(client === 'rest' ? { rest: await rest() } : {}) });
}

after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

if (absent !== null) {
  test('slurm backend', { skip: absent }, () => {});
} else {
  slurmBackendTests('cli');
}
if (restAbsent !== null) {
  test('slurm backend through slurmrestd', { skip: restAbsent }, () => {});
} else {
  slurmBackendTests('rest');
}

function slurmBackendTests(client: Client): void {
  const suffix = client === 'rest' ? ' (slurmrestd)' : '';

  // Slurm checks time limits about every 30 s and counts whole minutes: the time-limit job starts first and
  // is checked last, while everything else runs.
  const suiteId = `${client}-${randomUUID().slice(0, 8)}`;
  const label = { 'org.xcs.test.slurm-backend': suiteId };
  let counter = 0;
  const spec = (over: Partial<ContainerSpec> & { commandLine: string }): ContainerSpec => ({
    name: `xcs-slurm-${suiteId}-${++counter}`,
    image: TEST_IMAGES.busybox,
    overrideEntrypoint: true,
    environment: {},
    mounts: [],
    resources: {},
    labels: label,
    ...over,
  });
  const timeLimited = (async (): Promise<{ backend: SlurmBackend; id: string }> => {
    const backend = await newBackend(client);
    const { backendId } = await backend.create(spec({ commandLine: 'echo begun; exec sleep 600', maxRuntimeSeconds: 30 }));
    await backend.start(backendId);
    return { backend, id: backendId };
  })();

  runBackendConformance({
    name: `slurm${suffix}`,
    newBackend: () => newBackend(client),
    images: { busybox: TEST_IMAGES.busybox, entrypoint: TEST_IMAGES.entrypoint, entrypointMarker: ENTRYPOINT_MARKER },
    skip: [{ reason: 'a job\'s log files carry no time per line (capability logTimestamps: false)', tests: ['reads logs since a time'] }],
  });

  describe(`slurm backend: what only Slurm shows${suffix}`, () => {
    let backend: SlurmBackend;
    const cli = new SlurmCli();

    before(async () => {
      backend = await newBackend(client);
    });

    after(async () => {
      for (const c of await backend.list({ labels: label })) await backend.remove(c.backendId);
      await backend.close();
    });

    test('memory, CPU and time limits are the job\'s, visible in scontrol show job', async () => {
      const { backendId } = await backend.create(spec({ commandLine: 'exec sleep 600', maxRuntimeSeconds: 600,
        resources: { limitMemoryMiB: 96, limitCpu: 2 } }));
      await backend.start(backendId);
      const job = await backend.jobOf(backendId);
      assert.ok(job?.jobId);
      const shown = await cli.showJob(job.jobId);
      assert.equal(shown.MinMemoryNode, '96M');
      assert.equal(shown['CPUs/Task'], '2');
      assert.equal(shown.TimeLimit, '00:10:00');
      assert.equal(shown.JobName, backendId);
      // The node's engine holds the container to the same limits.
      await waitFor(async () => (await containerState(backendId)) === 'running');
      const { stdout } = await run('docker', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.NetworkMode}}', backendId]);
      assert.equal(stdout.trim(), `${96 * 1024 * 1024} 2000000000 none`);
      await backend.kill(backendId);
      assert.equal((await backend.wait(backendId)).exitCode, 137);
      assert.equal(await containerState(backendId), 'gone');
    });

    test('while the node is full the run waits with Slurm\'s reason, and a pending job can be killed', async () => {
      const big = await backend.create(spec({ commandLine: 'exec sleep 600', resources: { limitCpu: 8 } }));
      await backend.start(big.backendId);
      const queued = await backend.create(spec({ commandLine: 'echo never', resources: { limitCpu: 8 } }));
      await backend.start(queued.backendId);
      let reason: string | undefined;
      await waitFor(async () => {
        reason = (await backend.jobOf(queued.backendId))?.pending?.text;
        return reason !== undefined && reason !== 'PENDING (None)';
      });
      assert.match(reason ?? '', /^PENDING \((Resources|Priority)\)$/);
      assert.equal((await backend.inspect(queued.backendId)).status, 'running');
      await backend.kill(queued.backendId);
      const state = await backend.wait(queued.backendId);
      assert.equal(state.exitCode, 137);
      assert.equal(await readFile(path.join(backend.dirs.files(queued.backendId).stdout), 'utf8').catch(() => ''), '');
      await backend.kill(big.backendId);
      await backend.wait(big.backendId);
    });

    test('a job cancelled outside XCS removes its container and ends as cancelled', async () => {
      const { backendId } = await backend.create(spec({ commandLine: 'echo up; exec sleep 600' }));
      await backend.start(backendId);
      await waitFor(async () => (await containerState(backendId)) === 'running');
      const job = await backend.jobOf(backendId);
      await run('scancel', [job?.jobId ?? '']);
      const state = await backend.wait(backendId);
      assert.equal(state.status, 'exited');
      assert.equal(state.exitCode, 137);
      assert.equal((await backend.jobOf(backendId))?.slurmEnd?.code, 'cancelled');
      assert.equal(await containerState(backendId), 'gone');
    });

    test('secrets stay out of the job script, and the environment file is gone once the job started', async () => {
      const secret = `s3cret-${randomUUID()}`;
      const { backendId } = await backend.create(spec({ commandLine: 'printf "%s" "$XNAT_PASS"', environment: { XNAT_PASS: secret } }));
      const files = backend.dirs.files(backendId);
      assert.doesNotMatch(await readFile(files.script, 'utf8'), new RegExp(secret));
      const { stdout: mode } = await run('stat', ['-c', '%a', files.env]);
      assert.equal(mode.trim(), '600');
      await backend.start(backendId);
      await backend.wait(backendId);
      assert.equal(existsSync(files.env), false);
      let out = '';
      for await (const c of backend.logs(backendId, { stream: 'stdout' })) out += c.toString();
      assert.equal(out, secret);
    });

    test('a restarted backend finds its jobs by name, even one whose job id was never recorded', async () => {
      const { backendId } = await backend.create(spec({ commandLine: 'echo up; exec sleep 600' }));
      await backend.start(backendId);
      const jobId = (await backend.jobOf(backendId))?.jobId;
      // As if XCS died between sbatch and writing the job id down.
      await unlink(path.join(backend.dirs.files(backendId).dir, 'job-id'));
      const again = await newBackend(client, backend.dirs.root);
      try {
        const found = await again.findByName(backendId);
        assert.equal(found?.status, 'running');
        assert.equal((await again.jobOf(backendId))?.jobId, jobId);
        assert.ok((await again.list({ labels: label })).some((c) => c.name === backendId));
        const sub = again.events({ labels: label });
        await again.kill(backendId);
        const state = await again.wait(backendId);
        assert.equal(state.exitCode, 137);
        const seen: string[] = [];
        for await (const e of sub) {
          if (e.backendId === backendId) seen.push(e.status);
          if (e.status === 'died') break;
        }
        sub.close();
        assert.deepEqual(seen, ['killed', 'died']);
      } finally {
        await again.close();
      }
    });

    test('a job over its time limit is stopped by Slurm: TIMEOUT, with the cause and a hint', async () => {
      const { backend: b, id } = await timeLimited;
      try {
        const state = await b.wait(id);
        const job = await b.jobOf(id);
        assert.equal(job?.slurmEnd?.code, 'timeout');
        assert.match(job?.slurmEnd?.hint ?? '', /max-runtime/);
        assert.equal(state.exitCode, 137);
        assert.match(state.error ?? '', /time limit/);
        assert.ok(exitFailure(state));
        assert.equal(await containerState(id), 'gone');
        let out = '';
        for await (const c of b.logs(id, { stream: 'stdout' })) out += c.toString();
        assert.equal(out, 'begun\n');
      } finally {
        await b.remove(id);
        await b.close();
      }
    });
  });
}

async function containerState(name: string): Promise<string> {
  try {
    const { stdout } = await run('docker', ['inspect', '--format', '{{.State.Status}}', name]);
    return stdout.trim();
  } catch {
    return 'gone';
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition not met in time');
}
