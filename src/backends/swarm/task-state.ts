/**
 * What a swarm task's state means for a run (reference §3.5): the container state the run engine reads, XNAT's
 * status for the raw task state, a swarm node error, and why a task is still pending — in words. Pure.
 */
import type { ContainerState, ContainerStatus } from '../types.ts';

/** The part of the Engine's task object we read. */
export interface SwarmTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Version?: { Index?: number };
  CreatedAt?: string;
  DesiredState?: string;
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** The part of a node we name in messages. */
export interface SwarmNodeInfo {
  id: string;
  hostname: string;
  addr: string;
  /** `ready`, `down`, `disconnected`, `unknown`. */
  state: string;
}

/** The exit code XNAT records for a task that ended without one of its own (a swarm node error, a rejection). */
export const SWARM_FAILURE_EXIT_CODE = 126;

/** Task states after which nothing more happens (swarm's own, lower case). */
export const TERMINAL_TASK_STATES = new Set(['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'remove']);
/** Task states of a task whose process runs, or ran. */
const STARTED_TASK_STATES = new Set(['running', 'complete', 'failed', 'shutdown', 'orphaned', 'remove']);

/** A task's state as the run engine sees it, plus where it runs. */
export interface TaskView extends ContainerState {
  taskId: string | null;
  nodeId: string | null;
  /** The task's container (on whichever node runs it). */
  containerId: string | null;
  /** The raw task state (`pending`, `running`, `complete`…), null before the service has a task. */
  taskState: string | null;
  /** Why the task is not running yet, in words (set only while it waits to be placed or prepared). */
  pendingReason: string | null;
  /** The process was started (a `started` event is due). */
  started: boolean;
}

/** The newest task of a one-replica service (a service re-scaled after a kill could have several). */
export function latestTask(tasks: SwarmTask[]): SwarmTask | undefined {
  const rank = (x: SwarmTask): number => x.Version?.Index ?? (Date.parse(x.CreatedAt ?? '') || 0);
  let best: SwarmTask | undefined;
  for (const t of tasks) {
    if (best === undefined || rank(t) > rank(best)) best = t;
  }
  return best;
}

function dateOf(value: string | undefined): Date | null {
  if (value === undefined || value === '' || value.startsWith('0001-01-01')) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `node vm (127.0.0.3, id abc123)`: enough to find the machine. */
export function nodeName(node: SwarmNodeInfo | undefined, nodeId: string | null): string {
  if (node === undefined) return nodeId === null ? 'an unknown node' : `node ${nodeId}`;
  return `node ${node.hostname} (${node.addr}, id ${node.id.slice(0, 12)})`;
}

/**
 * Why a task waits, in words: swarm's scheduler message ("no suitable node (scheduling constraints not satisfied
 * on 2 nodes)", "insufficient resources on 3 nodes") with what it means for the run.
 */
export function pendingReasonOf(task: SwarmTask | undefined): string | null {
  if (task === undefined) return 'the service has no task yet (it is created with 0 replicas and scaled to 1 when started)';
  const state = task.Status?.State ?? '';
  const err = (task.Status?.Err ?? '').trim();
  if (state === 'pending' || state === 'new') {
    if (/scheduling constraints not satisfied/i.test(err)) return `no node satisfies the run's placement constraints: ${err}`;
    if (/insufficient resources/i.test(err)) return `no node has the memory, CPUs or generic resources the run reserves: ${err}`;
    if (err !== '') return `the swarm cannot place the task yet: ${err}`;
    return 'waiting for the swarm scheduler to place the task on a node';
  }
  if (state === 'assigned' || state === 'accepted' || state === 'preparing' || state === 'ready' || state === 'starting') {
    return `assigned to a node, ${state === 'preparing' ? 'preparing the image and mounts' : state}`;
  }
  return null;
}

/**
 * A swarm node error (XNAT §3.5): the task stopped without exiting by itself — its node went down, or the
 * orchestrator shut it down or orphaned it.
 */
export function nodeErrorOf(task: SwarmTask, node: SwarmNodeInfo | undefined): string | null {
  const state = task.Status?.State ?? '';
  const nodeId = task.NodeID === undefined || task.NodeID === '' ? null : task.NodeID;
  if (!TERMINAL_TASK_STATES.has(state) && node !== undefined && node.state !== 'ready' && nodeId !== null) {
    return `${nodeName(node, nodeId)} went down while the task was ${state} (node state: ${node.state})`;
  }
  if (state === 'orphaned') return `the task was orphaned: ${nodeName(node, nodeId)} stopped answering`;
  return null;
}

/** The container state of a service whose newest task is `task` (undefined: no task yet), on `node`. */
export function viewOf(serviceId: string, task: SwarmTask | undefined, node: SwarmNodeInfo | undefined): TaskView {
  const base = {
    backendId: serviceId,
    taskId: task?.ID ?? null,
    nodeId: task?.NodeID === undefined || task.NodeID === '' ? null : task.NodeID,
    containerId: task?.Status?.ContainerStatus?.ContainerID || null,
    taskState: task?.Status?.State ?? null,
    oomKilled: false,
    startedAt: null,
    finishedAt: null,
  };
  if (task === undefined) {
    return { ...base, status: 'created', exitCode: null, pendingReason: pendingReasonOf(undefined), started: false };
  }
  const state = task.Status?.State ?? 'new';
  const when = dateOf(task.Status?.Timestamp);
  const nodeError = nodeErrorOf(task, node);
  if (nodeError !== null) {
    return { ...base, status: 'exited', exitCode: SWARM_FAILURE_EXIT_CODE, finishedAt: when, error: `Swarm node error: ${nodeError}`, pendingReason: null,
      started: STARTED_TASK_STATES.has(state) };
  }
  let status: ContainerStatus = 'created';
  if (state === 'running') status = 'running';
  else if (TERMINAL_TASK_STATES.has(state)) status = 'exited';
  const view: TaskView = {
    ...base,
    status,
    exitCode: null,
    pendingReason: status === 'created' ? pendingReasonOf(task) : null,
    started: STARTED_TASK_STATES.has(state) && (state !== 'shutdown' || base.containerId !== null),
  };
  if (status === 'running') view.startedAt = when;
  if (status === 'exited') {
    view.finishedAt = when;
    const code = task.Status?.ContainerStatus?.ExitCode;
    // A rejected task never ran: it has no exit code of its own, only the reason. It did not succeed either, so it
    // gets XNAT's exit code for swarm failures (a run engine that reads only exit codes must not call it complete).
    const err = (task.Status?.Err ?? '').trim();
    if (state === 'rejected' || typeof code !== 'number') {
      view.exitCode = state === 'complete' ? 0 : SWARM_FAILURE_EXIT_CODE;
      view.error = err !== '' ? err : `the task ended ${state} without an exit code`;
    } else {
      view.exitCode = code;
    }
  }
  return view;
}

/** XNAT's container status for a raw task state on a swarm record (§3.4); history keeps the raw value. */
export function xnatStatusOfTaskState(state: string): string | null {
  switch (state) {
    case 'complete':
      return 'Waiting';
    case 'new':
    case 'pending':
    case 'assigned':
    case 'accepted':
    case 'preparing':
    case 'ready':
      return 'Created';
    case 'starting':
    case 'running':
      return 'Running';
    case 'failed':
      return 'Failed';
    case 'rejected':
    case 'shutdown':
    case 'orphaned':
    case 'remove':
      return `Waiting (Failed (${state[0].toUpperCase()}${state.slice(1)}))`;
    default:
      return null;
  }
}
