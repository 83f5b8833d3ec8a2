/**
 * Staging: everything a run needs before its container can be created. Read-only mounts come from the archive
 * through its strategy for the run's `archive-staging` (bind mounts, or copies in the run's build area: `copySlot`);
 * writable mounts get their build directory (chosen at resolution) afresh, with the input files copied in; the
 * callback credentials are issued. Every step can run again after a crash, starting from empty.
 */
import { chown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import type { MountSpec } from '../../backends/types.ts';
import type { ResolvedMount } from '../../resolution/index.ts';
import { sourceKind, sourceMissing } from '../../archive/mount-source.ts';
import { stagingFor, type ArchiveStaging, type CopyTarget } from '../../archive/staging.ts';
import { translateHostPath } from '../../resolution/index.ts';
import type { RunTokenScope } from '../ports.ts';
import { buildDir, runSettingsOf, type EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';
import { sensitiveValues } from '../store/run-spec.ts';

/** `uid` or `uid:gid` → ids; null for a user given by name (the settings refuse those). */
export function numericUser(user: string | null): { uid: number; gid: number } | null {
  const m = user === null ? null : /^(\d+)(?::(\d+))?$/.exec(user.trim());
  return m ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : null;
}

/** Gives `dir` and everything in it to the container's user, so the tool can write its outputs there. */
async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await chown(dir, owner.uid, owner.gid);
  if (!(await lstat(dir)).isDirectory()) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, owner);
    else if (!entry.isSymbolicLink()) await chown(p, owner.uid, owner.gid);
  }
}

/** The archive's strategy for `run` (its `archive-staging`, as launched). */
export function stagingOf(res: EngineResources, run: RunRecord): ArchiveStaging {
  const mode = runSettingsOf(res, run).archiveStaging ?? 'bind';
  return res.staging ? res.staging(mode) : stagingFor(mode);
}

/** The directory of `run`'s copies of archive inputs (copy strategy). */
export function archiveCopiesOf(res: EngineResources, run: Pick<RunRecord, 'id' | 'buildDir'>): string {
  return join(run.buildDir ?? buildDir(res, run.id), 'archive-copies');
}

/**
 * Where the copy strategy puts the read-only input `slot` of `run`: `archive-copies/{slot}` in the run's build area
 * (its build root, or `runs/{id}/build` for a run launched without one), removed with it at clean-up, and new for
 * each attempt (a retry has a build root of its own). The engine's view is path-translated as the build directories are.
 */
export function copySlot(res: EngineResources, run: RunRecord, slot: string): CopyTarget {
  const hostPath = join(archiveCopiesOf(res, run), slot.replace(/[^A-Za-z0-9._-]+/g, '-'));
  return { hostPath, enginePath: translateHostPath(hostPath, runSettingsOf(res, run).pathTranslation) };
}

/** A read-only input from the archive, as the run's strategy makes it available: the path the engine mounts. */
export function stageArchiveInput(res: EngineResources, run: RunRecord, staging: ArchiveStaging, m: ResolvedMount, slot: string): Promise<string> {
  return staging.readOnly({ name: m.name, archivePath: m['xnat-host-path'], enginePath: m['container-host-path'] || null,
    copyTo: copySlot(res, run, slot) });
}

async function stageMount(res: EngineResources, run: RunRecord, staging: ArchiveStaging, m: ResolvedMount, index: number,
  owner: { uid: number; gid: number } | null): Promise<MountSpec> {
  const host = m['xnat-host-path'];
  // Fed by a setup container: its output directory, a build directory the engine sees, whether writable or not.
  if (m['via-setup-command']) {
    const kind = await sourceKind(host);
    if (kind !== 'directory' && kind !== 'file') throw sourceMissing(m.name, host, kind, false);
    return { hostPath: m['container-host-path'] || host, containerPath: m['container-path'], writable: m.writable };
  }
  if (!m.writable) {
    const hostPath = await stageArchiveInput(res, run, staging, m, `${index + 1}-${m.name}`);
    return { hostPath, containerPath: m['container-path'], writable: false };
  }
  const mount: MountSpec = { hostPath: m['container-host-path'] || host, containerPath: m['container-path'], writable: m.writable };
  await staging.writable({ name: m.name, source: m['copy-from'] || null, buildPath: host });
  if (owner) {
    try {
      await chownTree(host, owner);
    } catch (e) {
      throw new XcsError('staging-failed', `The writable mount "${m.name}" cannot be given to the container user ${owner.uid}:${owner.gid}: ${(e as Error).message}`,
        { path: host, hint: 'XCS must run as root to hand build directories to another user; or unset "container-user"' });
    }
  }
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
  // Writable mounts belong to the site's container user, so a tool that is not root can write its outputs.
  const owner = numericUser(runSettingsOf(res, run).containerUser);
  if (!reuseContainer) {
    const staging = stagingOf(res, run);
    for (const [index, m] of run.spec.mounts.entries()) mounts.push(await stageMount(res, run, staging, m, index, owner));
  }
  return { mounts, environment: await environmentFor(res, run, run.spec['environment-variables']) };
}

/** Wrapper input types whose values are archive objects: a run is launched on these, and may write there. */
const OBJECT_INPUT_TYPES = new Set(['project', 'subject', 'session', 'scan', 'assessor', 'resource']);

/** What the run's callback token may reach: its project, and for writes the objects it was launched on. */
export function runTokenScope(run: RunRecord): RunTokenScope {
  const roots = run.spec['external-wrapper-input-values']
    .filter((v) => OBJECT_INPUT_TYPES.has(v.type.toLowerCase()) && v.value.startsWith('/'))
    .map((v) => v.value);
  return { run: String(run.id), project: run.project, roots };
}

/**
 * Setups before the main container and wrapups after it share its token, and may take this long beyond its
 * max-runtime.
 */
const TOKEN_GRACE_SECONDS = 3600;

/**
 * The token lives as long as the run may: its max-runtime plus the grace, capped by the configured lifetime
 * (which alone applies when the command sets no max-runtime). It is invalidated when the run ends anyway.
 */
export function tokenLifetimeSeconds(res: EngineResources, run: RunRecord): number {
  const max = run.policy.maxRuntimeMs;
  if (max === null) return res.config.tokenTtlSeconds;
  return Math.min(res.config.tokenTtlSeconds, Math.ceil(max / 1000) + TOKEN_GRACE_SECONDS);
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
    const token = await res.credentials.issue(run.userId, tokenLifetimeSeconds(res, run), runTokenScope(run));
    alias = token.alias;
    secret = token.secret;
    // The token secret is always first: it is what staging reuses after a crash.
    res.store.setCredentials(run.id, alias, [secret, ...sensitiveValues(run.spec)]);
  }
  return {
    ...env,
    // Ours win over a command that declares the same names: a command must not spoof its own identity.
    // XNAT's processingUrl (site setting `processing-url`), else the server's own URL, as the run was launched with.
    XNAT_HOST: runSettingsOf(res, run).xnatHost,
    XNAT_USER: alias,
    XNAT_PASS: secret,
    XNAT_WORKFLOW_ID: env.XNAT_WORKFLOW_ID ?? '',
    XNAT_EVENT_ID: env.XNAT_EVENT_ID ?? '',
    // XCS addition: which attempt this is (1, then 2, 3… on retries), so a tool can behave differently on a retry.
    XCS_ATTEMPT: String(run.attempt),
  };
}
