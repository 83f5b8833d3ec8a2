/**
 * A run as XNAT's container record JSON (reference §3.3), with the callback token and sensitive values
 * hidden. Users who neither launched the run nor administer it get the scrubbed form XNAT gives them.
 */
import { formatDuration } from '../../core/duration.ts';
import type { HistoryItem, RunRecord } from '../../runtime/index.ts';
import { REDACTED, redactDeep, runSecrets, SCRUBBED_COMMAND_LINE, SENSITIVE_MASK } from '../../runtime/index.ts';
import { allInputValues } from '../../runtime/index.ts';

/** `yyyy-MM-dd'T'HH:mm:ss.SSSZ` in UTC, as XNAT renders status times. */
export function xnatTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export function containerJson(run: RunRecord, history: HistoryItem[], full: boolean): Record<string, unknown> {
  const s = run.spec;
  const base = {
    id: run.id,
    'command-id': run.commandId,
    status: run.status,
    'status-time': xnatTime(run.statusTime),
    'wrapper-id': run.wrapperId,
    'user-id': run.userId,
    project: run.project,
    'docker-image': s.image,
    ports: s.ports,
    backend: run.placement?.backend ?? 'docker',
  };
  if (!full) {
    return redactDeep({ ...base, 'command-line': s['command-line'] ? SCRUBBED_COMMAND_LINE : '', env: {}, mounts: [], inputs: [], outputs: [],
      history: [], 'container-labels': {} }, runSecrets(run));
  }
  const anySensitive = allInputValues(s).some((v) => v.sensitive);
  const env: Record<string, string> = { ...s['environment-variables'] };
  // The XNAT_HOST the container got (the site's processing URL or the server's own, at launch).
  env.XNAT_HOST = run.settings?.xnatHost ?? env.XNAT_HOST ?? '';
  if (run.tokenAlias) { env.XNAT_USER = run.tokenAlias; env.XNAT_PASS = REDACTED; }
  const inputs = [
    ...(anySensitive ? [] : Object.entries(s['raw-input-values']).map(([name, value]) => ({ type: 'raw', name, value, sensitive: false }))),
    ...s['external-wrapper-input-values'].map((v) => ({ ...v, type: 'wrapper-external' })),
    ...s['derived-input-values'].map((v) => ({ ...v, type: 'wrapper-derived' })),
    ...s['command-input-values'].map((v) => ({ ...v, type: 'command' })),
  ].map((v, i) => ({ id: i + 1, type: v.type, name: v.name, value: v.sensitive ? SENSITIVE_MASK : v.value, sensitive: v.sensitive }));
  const placed = [...history].reverse().find((h) => h.status === 'Placed');
  // Every string of the record goes through the one redaction rule (sensitive values are in the spec, the token
  // secret in the run's secrets once staging recorded it): values built from a secret show with it hidden.
  return redactDeep({
    ...base,
    // On swarm, XNAT's record names the service, its task, the node and the task's container.
    'container-id': run.placement ? run.placement.containerId : run.containerId,
    'workflow-id': null,
    swarm: run.placement?.backend === 'swarm',
    // XCS: where the backend placed the run — a swarm service's ids (`runs.placement`), or a scheduler's job id and
    // node (history item `Placed`, written when the job started).
    'service-id': run.placement?.serviceId ?? placed?.entityId ?? null,
    'task-id': run.placement?.taskId ?? null,
    'node-id': run.placement?.nodeId ?? (placed === undefined ? null : (/ on node (\S+)$/.exec(placed.message ?? '')?.[1] ?? null)),
    'container-name': run.containerName,
    'command-line': s['command-line'],
    'override-entrypoint': s.overrideEntrypoint,
    'working-directory': s['working-directory'],
    subtype: s.type || 'docker',
    'parent-source-object-name': s['parent-source-object-name'],
    env,
    mounts: s.mounts.map((m, i) => ({
      id: i + 1, name: m.name, writable: m.writable, 'xnat-host-path': m['xnat-host-path'],
      'container-host-path': m['container-host-path'], 'container-path': m['container-path'], 'mount-pvc-name': m['mount-pvc-name'],
      'input-files': [],
    })),
    inputs,
    outputs: s.outputs.map((o, i) => ({
      id: i + 1, name: o.name, 'from-command-output': o['from-command-output'], 'from-output-handler': o['from-output-handler'],
      type: o.type, required: o.required, mount: o.mount, path: o.path, glob: o.glob, label: o.label, format: o.format,
      description: o.description, content: o.content, tags: o.tags, created: run.createdOutputs[o.name] ?? null,
      'handled-by': o['handled-by'], 'via-wrapup-container': o['via-wrapup-command'],
    })),
    history: history.map((h) => ({
      id: h.id, status: h.status, 'entity-type': h.entityType, 'entity-id': h.entityId, 'time-recorded': xnatTime(h.timeRecorded),
      'external-timestamp': h.externalTimestamp, message: h.message, exitCode: h.exitCode,
    })),
    'log-paths': run.logPaths,
    'reserve-memory': s['reserve-memory'],
    'limit-memory': s['limit-memory'],
    'limit-cpu': s['limit-cpu'],
    'swarm-constraints': s['swarm-constraints'],
    runtime: s.runtime,
    'ipc-mode': s['ipc-mode'],
    'auto-remove': s['auto-remove'],
    'shm-size': s['shm-size'],
    network: s.network,
    'container-labels': s['container-labels'],
    gpus: s.gpus,
    'generic-resources': s['generic-resources'],
    ulimits: s.ulimits,
    secrets: s.secrets,
    // XCS additions: why a run failed, and what to do.
    'exit-code': run.exitCode,
    'failure-code': run.failureCode,
    'failure-hint': run.failureHint,
    // The attempt chain of automatic retries, relaunches, and the policy the run was launched with.
    attempt: run.attempt,
    'retry-of': run.retryOf,
    'retried-by': run.retriedBy,
    'relaunch-of': run.relaunchOf,
    'max-runtime': run.policy.maxRuntimeMs === null ? null : formatDuration(run.policy.maxRuntimeMs),
    'maximum-attempts': run.policy.retry?.maximumAttempts ?? 1,
    // XCS addition: where a cluster placed the run, and why it waits (in words) while it is not placed.
    placement: run.placement === null ? null : {
      node: run.placement.node, state: run.placement.state, 'pending-reason': run.placement.pendingReason,
    },
    // XCS addition: the site settings the run was made with (network, user, clean-up, hardening…).
    'run-settings': run.settings,
  }, runSecrets(run));
}
