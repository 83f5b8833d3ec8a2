/**
 * The staging job: run the setup containers (if any; `auxiliary.ts`), stage the run, create its container under a deterministic name (so that a restarted
 * XCS finds the container instead of creating a second one), and start it. Each step checks whether an
 * earlier attempt already did it.
 */
import { BackendErrorCode, XCS_LABELS, type ContainerSpec, type ContainerSummary } from '../../backends/types.ts';
import { requireSupported } from '../../backends/capabilities.ts';
import { isXcsError } from '../../core/errors.ts';
import { markWrapupsNotRun, removeAuxiliaries, runAuxiliaries } from './auxiliary.ts';
import { pausePoint } from '../settings/config.ts';
import { handleExit } from '../follow/exit-handler.ts';
import { heldLease, isLeaseLost, type LeaseCheck } from '../store/job-lease.ts';
import { describe, fail, failureCodeOf } from '../store/failures.ts';
import { recordAuxLogPaths } from '../follow/logs.ts';
import { recordPlacement } from '../follow/placement.ts';
import { recordStart } from '../provenance/provenance.ts';
import type { EngineResources } from '../resources.ts';

/** Without a secret source every command secret is missing. */
const NO_SECRETS: SecretSource = { value: () => undefined };
import type { RunRecord } from '../store/run-store.ts';
import type { RunSpec } from '../store/run-spec.ts';
import { stage, type StagedRun } from './staging.ts';
import { resolveSecrets, type SecretSource } from '../secrets/command-secrets.ts';
import { networkOf } from '../settings/isolation.ts';
import { runSettingsOf } from '../resources.ts';
import { isTerminal } from '../store/state-machine.ts';

/** The network a container joins: its command's choice when the site allows it, else the site's (`none` by default). */
export function networkFor(res: EngineResources, run: RunRecord, spec: RunSpec): string {
  return networkOf(spec, runSettingsOf(res, run));
}

/**
 * Where a cluster backend may run the container: the swarm constraints of `s`; the run's Slurm choice (the user's,
 * checked at launch) for every container of the run, setups and wrapups included.
 */
function placementOf(s: RunSpec, main: RunSpec): ContainerSpec['placement'] {
  const constraints = s['swarm-constraints'] ?? [];
  const scheduler = main['slurm-placement'] ?? null;
  if (constraints.length === 0 && scheduler === null) return undefined;
  return { ...(constraints.length > 0 ? { constraints } : {}), ...(scheduler === null ? {} : { scheduler }) };
}

/**
 * The container of `s` (the run's command, or one of its setup/wrapup commands) for `run`, named `name`,
 * with `extraLabels` on top of the run's identifying labels.
 */
export function containerSpec(res: EngineResources, run: RunRecord, staged: StagedRun, s: RunSpec = run.spec,
  name: string = run.containerName, extraLabels: Record<string, string> = {}): ContainerSpec {
  const settings = runSettingsOf(res, run);
  const h = settings.hardening;
  // The spec goes straight to `create` (both callers): the credentials are never part of the run record.
  const registryAuth = res.registryAuth?.(s.image);
  return {
    name,
    image: s.image,
    commandLine: s['command-line'],
    overrideEntrypoint: s.overrideEntrypoint,
    workingDirectory: s['working-directory'] ?? undefined,
    environment: staged.environment,
    mounts: staged.mounts,
    ports: s.ports,
    labels: {
      ...s['container-labels'],
      XNAT_USER_ID: run.userId,
      ...(run.project ? { XNAT_PROJECT: run.project } : {}),
      [XCS_LABELS.instance]: res.config.instanceId,
      [XCS_LABELS.runId]: String(run.id),
      ...extraLabels,
    },
    resources: {
      reserveMemoryMiB: s['reserve-memory'] ?? undefined,
      // The site's ceilings apply to commands that set none.
      limitMemoryMiB: s['limit-memory'] ?? h.defaultLimitMemoryMiB ?? undefined,
      limitCpu: s['limit-cpu'] ?? h.defaultLimitCpu ?? undefined,
      shmSizeBytes: s['shm-size'] ?? undefined,
      ulimits: Object.keys(s.ulimits ?? {}).length > 0 ? s.ulimits : undefined,
      gpus: s.gpus ?? undefined,
      runtime: s.runtime ?? undefined,
      ipcMode: s['ipc-mode'] ?? undefined,
      // Cluster backends place and reserve with them; a single engine ignores them.
      genericResources: Object.keys(s['generic-resources'] ?? {}).length > 0 ? s['generic-resources'] : undefined,
    },
    placement: placementOf(s, run.spec),
    network: networkFor(res, run, s),
    user: settings.containerUser ?? undefined,
    security: { capAdd: h.capAdd, pidsLimit: h.pidsLimit, readOnlyRootfs: h.readOnlyRootfs },
    // Logs must outlive the process: we remove the container ourselves after saving them.
    autoRemove: false,
    ...(run.policy.maxRuntimeMs === null ? {} : { maxRuntimeSeconds: Math.ceil(run.policy.maxRuntimeMs / 1000) }),
    ...(registryAuth === undefined ? {} : { registryAuth }),
  };
}

/** Runs (or re-runs) the staging job of one run. Never throws: failures end the run with a cause. */
export async function runStagingJob(res: EngineResources, runId: number, attempt = 2, lease: LeaseCheck = heldLease()): Promise<void> {
  let run = res.store.require(runId);
  if (isTerminal(run.status)) return;
  try {
    res.store.transition(runId, 'Staging', { source: 'system', message: 'Staging inputs and credentials' });
    // Only a job tried before (a crash, a reaped lease) can have left a container: skip the lookup otherwise.
    let existing: ContainerSummary | null = attempt > 1 || run.containerId !== null
      ? await res.backend.findByName(run.containerName) : null;
    const createdNow = existing === null;
    // Setups come first (their outputs are the main container's mounts); once the main container exists they are done.
    if (existing === null && run.spec['setup-commands'].length > 0) {
      lease.hold('running the setup containers');
      const setups = await runAuxiliaries(res, runId, 'setup');
      run = res.store.require(runId);
      if (isTerminal(run.status)) {
        // Killed meanwhile: a setup created after the clean-up looked would otherwise stay.
        await removeAuxiliaries(res, run);
        return;
      }
      if (!setups.ok) {
        markWrapupsNotRun(res, run, 'Failed (Setup)', setups.message);
        recordAuxLogPaths(res, runId);
        fail(res, runId, 'setup-failed', setups.message);
        return;
      }
    }
    const staged = await stage(res, run, existing !== null);
    await pausePoint(res.config, 'staging');
    run = res.store.require(runId);
    if (isTerminal(run.status)) {
      // Killed while staging: nothing to start.
      if (existing) await res.backend.remove(existing.backendId);
      return;
    }
    if (!existing) {
      lease.hold('creating the container');
      try {
        // Secrets join the environment here only: never the run record, its provenance or its history.
        const secretEnv = resolveSecrets(res.secrets ?? NO_SECRETS, run.spec.secrets ?? []);
        const spec = containerSpec(res, run, staged);
        requireSupported(res.backend, spec);
        const created = await res.backend.create({ ...spec, environment: { ...spec.environment, ...secretEnv } });
        existing = { backendId: created.backendId, name: created.name, image: run.spec.image, labels: {}, status: 'created' };
      } catch (e) {
        // Another attempt got there first (a reaped lease racing a slow worker): use its container.
        if (!(isXcsError(e) && e.code === 'backend.name-conflict')) throw e;
        existing = await res.backend.findByName(run.containerName);
        if (!existing) throw e;
      }
    }
    res.store.setContainer(runId, existing.backendId);
    await recordStart(res, run, existing.backendId, staged.environment);
    res.store.transition(runId, 'Created', { source: 'system', entityId: existing.backendId, message: `Container ${existing.name} created` });
    run = res.store.require(runId);
    if (isTerminal(run.status)) {
      await res.backend.remove(existing.backendId);
      return;
    }
    const state = createdNow ? { status: 'created' as const, exitCode: null, oomKilled: false } : await res.backend.inspect(existing.backendId);
    if (state.status === 'created') {
      lease.hold('starting the container');
      await res.backend.start(existing.backendId);
      // On a cluster the container may wait for a node: the run stays Created, with the reason, until it starts.
      if (!(await recordPlacement(res, runId, existing.backendId))) {
        res.store.transition(runId, 'Running', { source: 'system', message: 'Container started' });
      }
    } else if (state.status === 'running') {
      res.store.transition(runId, 'Running', { source: 'system', message: 'Container found running after a restart' });
    } else if (state.status === 'exited' || state.status === 'dead') {
      handleExit(res, runId, state, 'system');
    } else {
      fail(res, runId, 'container-vanished', `Container ${existing.name} disappeared during staging`);
    }
    await pausePoint(res.config, 'running');
  } catch (e) {
    // The job is another replica's now: it stages the run; failing it here would undo that.
    if (isLeaseLost(e)) throw e;
    // An engine that does not answer is the engine's failure, not this run's preparation's.
    const code = isXcsError(e) && e.code === BackendErrorCode.unavailable ? 'engine-unavailable' : failureCodeOf(e, 'staging-failed');
    res.log.warn(`run ${runId}: staging failed: ${describe(e)}`);
    // A missing secret: XNAT's message, and a hint saying where this site reads that secret.
    if (code === 'secret-missing' && isXcsError(e)) fail(res, runId, code, e.message, { hint: e.hint });
    else fail(res, runId, code, describe(e));
  }
}
