// Retry policies and max-runtime in the run engine, against the real Docker engine and a real SQLite store (no
// HTTP): a tool failing once then succeeding, non-retryable exit codes, maximum attempts with backoff, memory
// raised after an out-of-memory kill, a user's kill never retried, the watchdog stopping a hung tool, and the
// watchdog re-armed by a new engine over the same data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import { createDockerBackend } from '../src/backends/docker/docker-backend.ts';
import { XCS_LABELS, type ContainerBackend } from '../src/backends/types.ts';
import { validateCommand, type Command } from '../src/command/index.ts';
import { RunEngine, type EngineDeps } from '../src/runtime/engine.ts';
import { aliasTokenCredentials, archiveOutputs } from '../src/runtime/archive-adapters/index.ts';
import { backoffDelayMs, compileRunPolicy, type RunPolicy } from '../src/runtime/retry/retry-policy.ts';
import type { RunRecord } from '../src/runtime/store/run-store.ts';
import { simpleRunSpec } from '../src/runtime/store/simple-spec.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';

const IMAGE = TEST_IMAGES.busybox;
let dir: string;
let opened: OpenedArchive;
let backend: ContainerBackend;
let engine: RunEngine;
const instance = `t-retry-${randomBytes(4).toString('hex')}`;

function openEngine(): RunEngine {
  const deps: EngineDeps = {
    backend, credentials: aliasTokenCredentials(opened.users, opened.archive), outputs: archiveOutputs(opened.archive, opened.users),
    log: { info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`${m}\n`) },
  };
  return RunEngine.open({ dataDir: join(dir, 'data'), instanceId: instance, serverUrl: () => 'http://127.0.0.1:9', reconcileIntervalMs: 3_600_000 }, deps);
}

/** The policy of a command with these XCS keys, compiled as a launch compiles it. */
function policy(keys: Record<string, unknown>): RunPolicy {
  const r = validateCommand({ name: 'p', image: IMAGE, 'limit-memory': 16, ...keys });
  assert.deepEqual(r.errors, []);
  return compileRunPolicy(r.command as Command);
}

before(async () => {
  await ensureDockerHarness();
  dir = await mkdtemp(join(tmpdir(), 'xcs-runtime-retry-'));
  opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'admin-pw' } });
  await opened.archive.createProject({ id: 'P1' }, 'admin');
  backend = await createDockerBackend();
  engine = openEngine();
  await engine.start();
});

after(async () => {
  await engine.stop();
  for (const c of await backend.list({ labels: { [XCS_LABELS.instance]: instance } })) await backend.remove(c.backendId);
  await backend.close();
  await opened.close();
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every attempt of the chain starting at `first`, each once it ended; waits until the chain's last run ended unretried. */
async function chain(first: RunRecord, timeoutMs = 60_000): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let id: number | null = first.id;
  while (id !== null) {
    const ended = await engine.waitForEnd(id);
    const retried = (): boolean => engine.get(ended.id)?.retriedBy !== null;
    // A retry is decided in the transaction that ended the run: its history says which it will be.
    const scheduled = engine.history(ended.id).some((h) => h.status === 'Retry scheduled');
    if (scheduled) await waitFor(retried, `the retry of run ${ended.id}`, timeoutMs);
    const run = engine.get(ended.id) as RunRecord;
    runs.push(run);
    id = run.retriedBy;
  }
  return runs;
}

const messages = (id: number): string[] => engine.history(id).map((h) => `${h.status}: ${h.message ?? ''}`);

test('a tool failing on its first attempt completes on the second, the attempts linked both ways', async () => {
  const first = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'echo attempt $XCS_ATTEMPT; [ "$XCS_ATTEMPT" -ge 2 ] || exit 75' }),
    'admin', 'P1', null, { policy: policy({ retry: { 'maximum-attempts': 3, 'initial-interval': '200ms', 'retryable-exit-codes': [75, 137] } }) });
  const [a1, a2, ...rest] = await chain(first);
  assert.equal(rest.length, 0);
  assert.equal(a1.status, 'Failed');
  assert.equal(a1.exitCode, '75');
  assert.equal(a2.status, 'Complete', messages(a2.id).join('\n'));
  assert.equal(a1.attempt, 1);
  assert.equal(a2.attempt, 2);
  assert.equal(a2.retryOf, a1.id);
  assert.equal(a1.retriedBy, a2.id);
  assert.equal(a2.retriedBy, null);
  assert.equal(a2.userId, a1.userId);
  assert.equal(a2.project, 'P1');
  assert.deepEqual(a2.policy, a1.policy, 'the policy goes with the attempts');
  assert.equal(await engine.readLog(a2, 'stdout'), 'attempt 2\n');
  assert.ok(messages(a1.id).includes(`Retrying: Retrying as container ${a2.id} (attempt 2 of 3) after exit-code`), messages(a1.id).join('\n'));
  assert.ok(messages(a1.id).some((m) => /^Retry scheduled: Attempt 2 of 3 in \d+ms after exit-code$/.test(m)), messages(a1.id).join('\n'));
  assert.ok(a2.createdAt - a1.statusTime >= backoffDelayMs(a1.policy.retry!, 1, a1.id) - 5, 'not before the backoff delay');
});

test('an exit code in non-retryable-exit-codes is not retried, and the history says why', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'exit 2' }), 'admin', 'P1', null,
    { policy: policy({ retry: { 'maximum-attempts': 3, 'initial-interval': '0s', 'non-retryable-exit-codes': [2] } }) });
  const runs = await chain(run);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].status, 'Failed');
  assert.ok(messages(run.id).includes('Not retried: exit code 2 is non-retryable'), messages(run.id).join('\n'));
});

test('maximum-attempts is honoured, each retry after its growing backoff delay', async () => {
  const p = policy({ retry: { 'maximum-attempts': 3, 'initial-interval': '300ms', 'backoff-coefficient': 2 } });
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'exit 1' }), 'admin', 'P1', null, { policy: p });
  const runs = await chain(run);
  assert.deepEqual(runs.map((r) => [r.attempt, r.status, r.retryOf]), [[1, 'Failed', null], [2, 'Failed', run.id], [3, 'Failed', run.id]]);
  for (let i = 0; i < 2; i++) {
    const delay = backoffDelayMs(p.retry!, i + 1, runs[i].id);
    assert.ok(runs[i + 1].createdAt - runs[i].statusTime >= delay - 5, `attempt ${i + 2} waited its ${delay} ms`);
  }
  assert.ok(backoffDelayMs(p.retry!, 2, 1) > backoffDelayMs(p.retry!, 1, 1), 'the delay grows');
  assert.ok(messages(runs[2].id).includes('Not retried: attempt 3 of 3 was the last'), messages(runs[2].id).join('\n'));
  assert.ok(messages(runs[1].id).includes(`Retrying: Retrying as container ${runs[2].id} (attempt 3 of 3) after exit-code`));
});

test('after an out-of-memory kill the next attempt gets limit-memory × oom-memory-factor, up to the cap', async () => {
  const p = policy({ 'limit-memory': 16, retry: { 'maximum-attempts': 2, 'initial-interval': '0s', 'oom-memory-factor': 16, 'oom-memory-limit': '512m' } });
  const run = engine.submit(simpleRunSpec({ image: IMAGE, limitMemoryMiB: 16, commandLine: 'exec dd if=/dev/zero of=/dev/null bs=128M count=1' }),
    'admin', 'P1', null, { policy: p });
  const [a1, a2] = await chain(run);
  assert.equal(a1.status, 'Killed (Out of Memory)', messages(a1.id).join('\n'));
  assert.equal(a2.spec['limit-memory'], 256);
  assert.equal(a2.status, 'Complete', messages(a2.id).join('\n'));
  assert.ok(messages(a1.id).includes(`Retrying: Retrying as container ${a2.id} (attempt 2 of 2) after oom, limit-memory 256 MiB (was 16 MiB)`),
    messages(a1.id).join('\n'));
});

test('a run killed by a user is never retried', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'sleep 60' }), 'admin', 'P1', null,
    { policy: policy({ retry: { 'maximum-attempts': 3, 'initial-interval': '0s' } }) });
  await waitFor(() => engine.get(run.id)?.status === 'Running', 'Running');
  await engine.kill(run.id, 'admin');
  const runs = await chain(run);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].status, 'Killed');
  assert.ok(messages(run.id).includes('Not retried: killed on request'));
});

test('max-runtime: the watchdog kills a hung tool, which ends Failed (Timeout) with a hint; timeouts are not retried by default', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'sleep 60' }), 'admin', 'P1', null,
    { policy: policy({ 'max-runtime': '2s', retry: { 'maximum-attempts': 2, 'initial-interval': '0s' } }) });
  const t0 = Date.now();
  const [end, ...rest] = await chain(run);
  assert.equal(rest.length, 0);
  assert.equal(end.status, 'Failed (Timeout)', messages(run.id).join('\n'));
  assert.equal(end.failureCode, 'timeout');
  assert.match(end.failureHint ?? '', /raise max-runtime in the command or find why the tool hangs/i);
  assert.ok(end.timedOut);
  assert.ok(Date.now() - t0 < 30_000, 'long before sleep 60 would end');
  assert.ok(messages(run.id).includes('Timeout: Ran longer than max-runtime 2s; killing the container'), messages(run.id).join('\n'));
  assert.ok(messages(run.id).includes('Not retried: retry-on does not include timeout'));
});

test('a timeout is retried when retry-on names it', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: '[ "$XCS_ATTEMPT" -ge 2 ] || sleep 60' }), 'admin', 'P1', null,
    { policy: policy({ 'max-runtime': '1s', retry: { 'maximum-attempts': 2, 'initial-interval': '0s', 'retry-on': ['timeout'] } }) });
  const [a1, a2] = await chain(run);
  assert.equal(a1.status, 'Failed (Timeout)');
  assert.equal(a2.status, 'Complete');
});

test('the watchdog survives a restart: a new engine over the same data re-arms the deadline from the stored start', async () => {
  const run = engine.submit(simpleRunSpec({ image: IMAGE, commandLine: 'sleep 60' }), 'admin', 'P1', null, { policy: policy({ 'max-runtime': '3s' }) });
  await waitFor(() => engine.get(run.id)?.status === 'Running', 'Running');
  const running = engine.get(run.id) as RunRecord;
  // Stopping leaves containers running, as a crash would; the deadline passes while no engine watches.
  await engine.stop();
  await new Promise((r) => setTimeout(r, 3500));
  engine = openEngine();
  await engine.start();
  const end = await engine.waitForEnd(run.id);
  assert.equal(end.status, 'Failed (Timeout)', messages(run.id).join('\n'));
  assert.ok(end.statusTime - running.statusTime >= 3000);
});
