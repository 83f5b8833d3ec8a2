/**
 * Staging: everything a run needs before its container can be created. Read-only mounts come straight from
 * the archive; writable mounts get their build directory (chosen at resolution) afresh, with the input
 * files copied in; the callback credentials are issued. Every step can run again after a crash.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { MountSpec } from '../backends/types.ts';
import type { ResolvedMount } from '../resolution/index.ts';
import { copyMountSource, sourceKind, sourceMissing } from './mount-source.ts';
import type { EngineResources } from './resources.ts';
import type { RunRecord } from './run-store.ts';
import { sensitiveValues } from './run-spec.ts';

async function stageMount(m: ResolvedMount): Promise<MountSpec> {
  const host = m['xnat-host-path'];
  const mount: MountSpec = { hostPath: m['container-host-path'] || host, containerPath: m['container-path'], writable: m.writable };
  // Fed by a setup container (its output directory): the files are there already, whether writable or not.
  // A File input's source is the file itself (mount-source.ts).
  if (!m.writable || m['via-setup-command']) {
    const kind = host ? await sourceKind(host) : 'missing';
    if (kind !== 'directory' && kind !== 'file') throw sourceMissing(m.name, host, kind, false);
    return mount;
  }
  // A previous attempt may have stopped half-way: start the copy afresh.
  await rm(host, { recursive: true, force: true });
  const source = m['copy-from'];
  if (source) await copyMountSource(m.name, source, host);
  else await mkdir(host, { recursive: true });
  return mount;
}

export interface StagedRun {
  mounts: MountSpec[];
  environment: Record<string, string>;
}

/**
 * Prepares the mounts and the environment. When `reuseContainer` is true the container already exists (a
 * restart found it), so its writable directories are kept as they are.
 */
export async function stage(res: EngineResources, run: RunRecord, reuseContainer: boolean): Promise<StagedRun> {
  const mounts: MountSpec[] = [];
  if (!reuseContainer) {
    for (const m of run.spec.mounts) mounts.push(await stageMount(m));
  }
  return { mounts, environment: await environmentFor(res, run, run.spec['environment-variables']) };
}

/**
 * A container's environment: `env` (the command's), then the run's callback identity — issued once per
 * run and shared by its setup, main and wrapup containers, as XNAT gives them the parent's.
 */
export async function environmentFor(res: EngineResources, run: RunRecord, env: Record<string, string>): Promise<Record<string, string>> {
  let alias = run.tokenAlias;
  let secret = run.secrets[0];
  if (!alias || !secret) {
    const current = res.store.require(run.id);
    alias = current.tokenAlias;
    secret = current.secrets[0];
  }
  if (!alias || !secret) {
    const token = await res.credentials.issue(run.userId, res.config.tokenTtlSeconds);
    alias = token.alias;
    secret = token.secret;
    // The token secret is always first: it is what staging reuses after a crash.
    res.store.setCredentials(run.id, alias, [secret, ...sensitiveValues(run.spec)]);
  }
  return {
    ...env,
    // Ours win over a command that declares the same names: a command must not spoof its own identity.
    XNAT_HOST: res.config.serverUrl(),
    XNAT_USER: alias,
    XNAT_PASS: secret,
    XNAT_WORKFLOW_ID: env.XNAT_WORKFLOW_ID ?? '',
    XNAT_EVENT_ID: env.XNAT_EVENT_ID ?? '',
    // XCS addition: which attempt this is (1, then 2, 3… on retries), so a tool can behave differently on a retry.
    XCS_ATTEMPT: String(run.attempt),
  };
}
