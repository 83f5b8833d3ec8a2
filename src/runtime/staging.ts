/**
 * Staging: everything a run needs before its container can be created. Read-only mounts come straight from
 * the archive; writable mounts get a directory of their own in the run's build directory, with the input
 * files copied in; the callback credentials are issued. Every step can run again after a crash.
 */
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError } from '../core/errors.ts';
import type { MountSpec } from '../backends/types.ts';
import { buildDir, type EngineResources } from './resources.ts';
import type { RunRecord } from './run-store.ts';
import type { RunMount } from './run-spec.ts';

/** Where a writable mount lives on this machine. */
export function writableMountDir(res: EngineResources, runId: number, mountName: string): string {
  return join(buildDir(res, runId), mountName);
}

/** Host directory of each mount, by mount name (what output finalization collects from). */
export function mountHostPaths(res: EngineResources, run: RunRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of run.spec.mounts) {
    out[m.name] = m.writable ? writableMountDir(res, run.id, m.name) : (m.hostPath ?? '');
  }
  return out;
}

async function isDirectory(path: string): Promise<boolean> {
  try { return (await stat(path)).isDirectory(); } catch { return false; }
}

async function stageMount(res: EngineResources, run: RunRecord, m: RunMount): Promise<MountSpec> {
  if (!m.writable) {
    if (!m.hostPath) {
      // An input mount nothing provides files for: give it an empty directory rather than fail.
      const empty = writableMountDir(res, run.id, m.name);
      await mkdir(empty, { recursive: true });
      return { hostPath: empty, containerPath: m.containerPath, writable: false };
    }
    if (!(await isDirectory(m.hostPath))) {
      throw new XcsError('mount-missing', `The files for mount "${m.name}" are gone: ${m.hostPath} does not exist`,
        { path: m.hostPath });
    }
    return { hostPath: m.hostPath, containerPath: m.containerPath, writable: false };
  }
  const dir = writableMountDir(res, run.id, m.name);
  // A previous attempt may have stopped half-way: start the copy afresh.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const source = m.inputFilesPath ?? m.hostPath;
  if (source) {
    if (!(await isDirectory(source))) {
      throw new XcsError('mount-missing', `The input files for writable mount "${m.name}" are gone: ${source}`, { path: source });
    }
    await cp(source, dir, { recursive: true });
  }
  return { hostPath: dir, containerPath: m.containerPath, writable: true };
}

export interface StagedRun {
  mounts: MountSpec[];
  environment: Record<string, string>;
}

/**
 * Prepares the mounts and the environment. When `reuseContainer` is true the container already exists (a
 * restart found it), so its credentials and writable directories are kept as they are.
 */
export async function stage(res: EngineResources, run: RunRecord, reuseContainer: boolean): Promise<StagedRun> {
  const mounts: MountSpec[] = [];
  if (!reuseContainer) {
    await mkdir(buildDir(res, run.id), { recursive: true });
    res.store.setBuildDir(run.id, buildDir(res, run.id));
    for (const m of run.spec.mounts) mounts.push(await stageMount(res, run, m));
  }
  let alias = run.tokenAlias;
  let secret = run.secrets[0];
  if (!alias || !secret) {
    const token = await res.credentials.issue(run.userId, res.config.tokenTtlSeconds);
    alias = token.alias;
    secret = token.secret;
    const sensitive = run.spec.inputs.filter((i) => i.sensitive && i.value).map((i) => i.value);
    // The token secret is always first: it is what staging reuses after a crash.
    res.store.setCredentials(run.id, alias, [secret, ...sensitive]);
  }
  const environment: Record<string, string> = {
    ...run.spec.environment,
    // Ours win over a command that declares the same names: a command must not spoof its own identity.
    XNAT_HOST: res.config.serverUrl(),
    XNAT_USER: alias,
    XNAT_PASS: secret,
    XNAT_WORKFLOW_ID: run.spec.environment.XNAT_WORKFLOW_ID ?? '',
    XNAT_EVENT_ID: run.spec.environment.XNAT_EVENT_ID ?? '',
  };
  return { mounts, environment };
}
