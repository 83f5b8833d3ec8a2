/**
 * The retry job (queue `retry`): queued by the run store in the transaction that ended a run in a failure its
 * policy retries, claimable once the backoff delay has passed (the job's not-before time, so the delay survives
 * a restart). It prepares the next attempt — the same frozen spec, with its own build directories and, after an
 * out-of-memory kill, a raised memory limit — and records it through `RunStore.createRetry`, which creates it at
 * most once however often the job runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import type { ResolvedMount } from '../../resolution/index.ts';
import { cleanupRun } from '../recovery/cleanup.ts';
import { containerNamePattern, pausePoint } from '../settings/config.ts';
import { recordLaunch } from '../provenance/provenance.ts';
import type { EngineResources } from '../resources.ts';
import { decideRetry, raisedMemoryMiB, type RetryClass, type RetryPolicy } from './retry-policy.ts';
import type { NewAttempt, RunRecord } from '../store/run-store.ts';
import type { RunSpec } from '../store/run-spec.ts';
import { isTerminal } from '../store/state-machine.ts';

/** How long the job waits for the failed run's clean-up (started when it ended) before doing it itself. */
const CLEANUP_WAIT_MS = 10_000;

export async function runRetryJob(res: EngineResources, runId: number): Promise<void> {
  const run = res.store.get(runId);
  // Deleted meanwhile, already retried (a crash after the retry was recorded), or not ended: nothing to do.
  if (!run || run.retriedBy !== null || !isTerminal(run.status)) return;
  const d = decideRetry(run.policy.retry, run);
  if (!d.retry || run.policy.retry === null) return;
  await pausePoint(res.config, 'retry');
  await settled(res, run);
  const next = nextAttempt(run, run.policy.retry, d.retryClass);
  const created = res.store.createRetry(run.id, next, containerNamePattern(res.config));
  if (!created) return;
  recordLaunch(res, created);
  res.log.info(`run ${run.id}: retried as run ${created.id} (attempt ${created.attempt}) after ${d.retryClass}`);
}

/**
 * The failed attempt's clean-up must be over before the next one stages: a clean-up running later would remove
 * directories the next attempt shares with it (runs launched without a build root of their own).
 */
async function settled(res: EngineResources, run: RunRecord): Promise<void> {
  const until = Date.now() + CLEANUP_WAIT_MS;
  while (Date.now() < until) {
    if (res.store.get(run.id)?.cleanedUp !== false) return;
    await sleep(100);
  }
  await cleanupRun(res, res.store.require(run.id));
}

/** The spec of the attempt after `run`. */
export function nextAttempt(run: RunRecord, policy: RetryPolicy, cls: RetryClass): NewAttempt {
  let spec: RunSpec = structuredClone(run.spec);
  let buildDir = run.buildDir;
  if (buildDir) {
    // A sibling of the first attempt's build root, named after the failed run: unique, and the same if the job runs twice.
    const root = join(dirname(buildDir), `${basename(buildDir).replace(/\.retry-\d+$/, '')}.retry-${run.id}`);
    spec = moveBuildRoot(spec, buildDir, root);
    buildDir = root;
  }
  let detail: string | undefined;
  if (cls === 'oom') {
    const before = spec['limit-memory'];
    const after = raisedMemoryMiB(policy, before);
    if (after !== before && before !== null) {
      spec['limit-memory'] = after;
      detail = `limit-memory ${after} MiB (was ${before} MiB)`;
    }
  }
  return { spec, buildDir, retryClass: cls, ...(detail ? { detail } : {}) };
}

/**
 * Moves every host path under `from` (the build root chosen at launch) to the same place under `to`, in the
 * run's mounts and those of its setup and wrapup commands. A translated host path (`container-host-path`) ends
 * with the same relative part, so its root is found by what precedes that part.
 */
export function moveBuildRoot(spec: RunSpec, from: string, to: string): RunSpec {
  const move = (m: ResolvedMount): ResolvedMount => {
    const host = m['xnat-host-path'];
    if (host !== from && !host.startsWith(`${from}/`)) return m;
    const rest = host.slice(from.length);
    const translated = m['container-host-path'];
    let container = translated;
    if (translated === host) container = to + rest;
    else if (translated.endsWith(rest)) {
      const oldRoot = translated.slice(0, translated.length - rest.length);
      if (oldRoot.endsWith(basename(from))) container = oldRoot.slice(0, oldRoot.length - basename(from).length) + basename(to) + rest;
    }
    return { ...m, 'xnat-host-path': to + rest, 'container-host-path': container };
  };
  const walk = (s: RunSpec): RunSpec => ({
    ...s,
    mounts: s.mounts.map(move),
    'setup-commands': s['setup-commands'].map(walk),
    'wrapup-commands': s['wrapup-commands'].map(walk),
  });
  return walk(spec);
}
