/**
 * Setup and wrapup containers (reference §1.12, §3.1, §3.6). Each is a container of its own, named
 * `{run's container name}-{setup|wrapup}-{n}` (deterministic, so a restarted XCS finds it instead of
 * starting it twice), labelled with the run and `org.xcs.aux`, with the two mounts resolution gave it:
 * `/input` read-only and `/output` a fresh build directory. A setup's input is archive files, staged by the run's
 * strategy as the main container's are (bind mount or copy); a wrapup's is the main container's output, a build
 * directory. The network rule is the main container's.
 *
 * All of one kind run at once and are waited for inside the job that needs them — staging for setups,
 * finalization for wrapups — whose lease outlives them. Each step is recorded in the run store
 * (`aux_containers`): after a crash the job runs again, skips the containers that ended, and attaches to
 * those in flight. The first failure kills the siblings still running, as XNAT does, and the parent fails
 * with XNAT's message.
 */
import { chown, mkdir, rm, stat } from 'node:fs/promises';
import { XcsError, isXcsError } from '../../core/errors.ts';
import type { ContainerState } from '../../backends/types.ts';
import { requireSupported } from '../../backends/capabilities.ts';
import type { ResolvedMount } from '../../resolution/index.ts';
import { pausePoint } from '../settings/config.ts';
import { describe } from '../store/failures.ts';
import { saveAuxLogs } from '../follow/logs.ts';
import { runSettingsOf, type EngineResources } from '../resources.ts';
import type { AuxKind, AuxRecord, RunRecord } from '../store/run-store.ts';
import type { RunSpec } from '../store/run-spec.ts';
import { containerSpec } from './starter.ts';
import { environmentFor, numericUser, stageArchiveInput, stagingOf } from './staging.ts';
import { isTerminal } from '../store/state-machine.ts';

/** Label telling setup and wrapup containers (`setup-1`, `wrapup-2`…) from the run's main container. */
export const AUX_LABEL = 'org.xcs.aux';

/** Aux records still open: not ended yet. */
const OPEN = new Set(['Created', 'Running']);

export function auxSpecs(run: RunRecord, kind: AuxKind): RunSpec[] {
  return kind === 'setup' ? run.spec['setup-commands'] : run.spec['wrapup-commands'];
}

export function auxName(run: RunRecord, kind: AuxKind, index: number): string {
  return `${run.containerName}-${kind}-${index + 1}`;
}

function mountOf(spec: RunSpec, name: 'input' | 'output'): ResolvedMount {
  const m = spec.mounts.find((x) => x.name === name);
  if (!m) throw new XcsError('staging-failed', `The ${spec.type} command ${spec['command-name']} has no "${name}" mount`);
  return m;
}

/** Output name → host directory of its wrapup's `/output`: where finalization takes that output from. */
export function wrapupOutputDirs(run: RunRecord): Record<string, string> {
  const dirs: Record<string, string> = {};
  for (const w of run.spec['wrapup-commands']) {
    const source = w['parent-source-object-name'];
    if (source) dirs[source] = mountOf(w, 'output')['xnat-host-path'];
  }
  return dirs;
}

export interface AuxOutcome {
  ok: boolean;
  /** XNAT's message for the parent when not ok (`Failed Setup container db id …`). */
  message: string;
  records: AuxRecord[];
}

/** XNAT's wording (§3.6 step 7), the missing space of the plural form included. */
function failureMessage(kind: AuxKind, failed: AuxRecord[]): string {
  const label = kind === 'setup' ? 'Setup' : 'Wrapup';
  const item = (a: AuxRecord): string => `db id ${a.id}, container id ${a.containerId ?? a.name}`;
  if (failed.length === 1) return `Failed ${label} container ${item(failed[0])}`;
  return `Failed ${label}containers: ${failed.map(item).join('; ')}.`;
}

/** Creates, starts and waits for every container of `kind`; returns once all ended (or one failed). */
export async function runAuxiliaries(res: EngineResources, runId: number, kind: AuxKind): Promise<AuxOutcome> {
  let run = res.store.require(runId);
  const specs = auxSpecs(run, kind);
  const environments: Record<string, string>[] = [];
  for (const spec of specs) environments.push(await environmentFor(res, run, spec['environment-variables']));
  // Issuing the token changed the record: logs must be redacted with the current secrets.
  run = res.store.require(runId);
  const running = new Map<number, string>();
  let siblingFailed = false;
  const killSiblings = async (): Promise<void> => {
    siblingFailed = true;
    for (const id of running.values()) await res.backend.kill(id).catch(() => undefined);
  };
  const current = run;
  await Promise.all(specs.map(async (spec, index) => {
    const ok = await runOne(res, current, kind, index, spec, environments[index], running, () => siblingFailed);
    if (!ok && !siblingFailed) await killSiblings();
  }));
  const records = res.store.auxOf(runId, kind);
  const failed = records.filter((r) => r.status === 'Failed');
  return { ok: failed.length === 0 && records.every((r) => r.status === 'Complete'), message: failureMessage(kind, failed), records };
}

async function isDirectory(path: string): Promise<boolean> {
  try { return (await stat(path)).isDirectory(); } catch { return false; }
}

/** One container, from wherever an earlier attempt left it. Resolves with whether it completed. */
async function runOne(res: EngineResources, run: RunRecord, kind: AuxKind, index: number, spec: RunSpec,
  environment: Record<string, string>, running: Map<number, string>, siblingFailed: () => boolean): Promise<boolean> {
  const name = auxName(run, kind, index);
  const rec = res.store.ensureAux(run.id, kind, index, name);
  if (!OPEN.has(rec.status)) return rec.status === 'Complete';
  const label = kind === 'setup' ? 'Setup' : 'Wrapup';
  let backendId: string | null = null;
  try {
    // Always looked up: an attempt may have died between creating the container and recording it.
    const found = await res.backend.findByName(name);
    let state: ContainerState | null = null;
    if (found) {
      backendId = found.backendId;
      state = await res.backend.inspect(backendId);
    } else {
      const input = mountOf(spec, 'input');
      const output = mountOf(spec, 'output');
      if (!(await isDirectory(input['xnat-host-path']))) {
        throw new XcsError('mount-missing', `The input files of ${kind} ${index + 1} are gone: ${input['xnat-host-path']}`);
      }
      // A previous attempt may have written part of it before its container was created.
      await rm(output['xnat-host-path'], { recursive: true, force: true });
      await mkdir(output['xnat-host-path'], { recursive: true });
      // Written by the site's container user when there is one, like the main container's writable mounts.
      const owner = numericUser(runSettingsOf(res, run).containerUser);
      if (owner) await chown(output['xnat-host-path'], owner.uid, owner.gid);
      if (isTerminal(res.store.require(run.id).status) || siblingFailed()) {
        res.store.endAux(rec.id, 'Killed', null, 'Not started: the run ended');
        return false;
      }
      const inputPath = kind === 'setup'
        ? await stageArchiveInput(res, run, stagingOf(res, run), { ...input, name: `input of setup ${index + 1}` }, `setup-${index + 1}-input`)
        : input['container-host-path'] || input['xnat-host-path'];
      const mounts = [
        { hostPath: inputPath, containerPath: input['container-path'], writable: false },
        { hostPath: output['container-host-path'] || output['xnat-host-path'], containerPath: output['container-path'], writable: true },
      ];
      try {
        const auxSpec = containerSpec(res, run, { mounts, environment }, spec, name, { [AUX_LABEL]: `${kind}-${index + 1}` });
        requireSupported(res.backend, auxSpec);
        backendId = (await res.backend.create(auxSpec)).backendId;
      } catch (e) {
        if (!(isXcsError(e) && e.code === 'backend.name-conflict')) throw e;
        const again = await res.backend.findByName(name);
        if (!again) throw e;
        backendId = again.backendId;
      }
    }
    res.store.setAuxContainer(rec.id, backendId);
    running.set(index, backendId);
    if (state === null || state.status === 'created') {
      await res.backend.start(backendId);
      res.store.note(run.id, label, { source: 'system', entityId: backendId, message: `${label} container ${name} started` });
    }
    await pausePoint(res.config, kind);
    const end = await res.backend.wait(backendId);
    running.delete(index);
    if (end.status === 'missing') {
      res.store.endAux(rec.id, 'Failed', null, `${label} container ${name} disappeared`);
      return false;
    }
    const logs = await saveAuxLogs(res, run, rec, backendId);
    const exitCode = end.exitCode === null ? null : String(end.exitCode);
    const ok = end.exitCode === 0 && !end.oomKilled;
    const killed = !ok && siblingFailed();
    const message = ok ? `${label} container ${name} completed`
      : killed ? `${label} container ${name} killed: a sibling failed`
        : `${label} container ${name} exited with code ${exitCode ?? 'unknown'}${end.oomKilled ? ' (out of memory)' : ''}`;
    res.store.endAux(rec.id, ok ? 'Complete' : killed ? 'Killed' : 'Failed', exitCode, message, logs);
    res.store.note(run.id, label, { source: 'system', entityId: backendId, exitCode, message });
    return ok;
  } catch (e) {
    running.delete(index);
    const message = `${label} container ${name} could not run: ${describe(e)}`;
    res.log.warn(`run ${run.id}: ${message}`);
    res.store.endAux(rec.id, 'Failed', null, message);
    res.store.note(run.id, label, { source: 'system', entityId: backendId, message });
    return false;
  }
}

/** Records that the wrapups will never run (XNAT's `Failed (Parent)` / `Failed (Setup)` children). */
export function markWrapupsNotRun(res: EngineResources, run: RunRecord, status: 'Failed (Parent)' | 'Failed (Setup)', message: string): void {
  run.spec['wrapup-commands'].forEach((_, index) => {
    const rec = res.store.ensureAux(run.id, 'wrapup', index, auxName(run, 'wrapup', index));
    res.store.endAux(rec.id, status, null, message);
  });
}

/** Removes the run's setup and wrapup containers (clean-up); those never recorded are found by name. */
export async function removeAuxiliaries(res: EngineResources, run: RunRecord): Promise<void> {
  for (const kind of ['setup', 'wrapup'] as const) {
    const specs = auxSpecs(run, kind);
    for (let index = 0; index < specs.length; index++) {
      const rec = res.store.aux(run.id, kind, index);
      if (rec?.containerId) await res.backend.remove(rec.containerId);
      else if (rec && OPEN.has(rec.status)) {
        const found = await res.backend.findByName(auxName(run, kind, index));
        if (found) await res.backend.remove(found.backendId);
      }
    }
  }
}
