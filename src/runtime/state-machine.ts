/**
 * The lifecycle of a run: its statuses (XNAT's names), which transitions are allowed, which statuses are
 * terminal, and how each failure cause maps to a final status and a hint for people.
 *
 *   Queued → Staging → Created → Running → Waiting → Finalizing → Complete | Failed… | Killed…
 *
 * `Waiting` (XNAT's name for "exited, queued for finalization") separates the container's exit, which the
 * engine learns from an event, from the finalization work, which a worker does under a concurrency limit.
 * Any non-terminal status may end in a failure or a kill; a terminal status is never left.
 */

export const RUN_STATUSES = [
  'Queued', 'Staging', 'Created', 'Running', 'Waiting', 'Finalizing',
  'Complete', 'Failed', 'Failed (Upload)', 'Failed (Setup)', 'Failed (Wrapup)', 'Failed (Command resolution)',
  'Failed (Container launch)', 'Failed (Orphaned)', 'Failed (Timeout)', 'Killed', 'Killed (Out of Memory)',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Who caused a transition; XNAT's history `entity-type`. */
export type HistorySource = 'system' | 'event' | 'user';

/** Terminal as XNAT defines it: the status starts with `Complete`, `Failed` or `Killed`. */
export function isTerminal(status: string): boolean {
  return status.startsWith('Complete') || status.startsWith('Failed') || status.startsWith('Killed');
}

/** Statuses in which a container may exist and be running. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['Staging', 'Created', 'Running'];

const FORWARD: Record<string, readonly RunStatus[]> = {
  Queued: ['Staging'],
  Staging: ['Created'],
  Created: ['Running', 'Waiting'],
  // A container that exits before we record `Running` goes straight from Created to Waiting.
  Running: ['Waiting'],
  Waiting: ['Finalizing'],
  Finalizing: [],
};

/**
 * Whether `from → to` is allowed. Terminal statuses are reachable from any non-terminal one (failures and
 * kills can happen in every phase); nothing leaves a terminal status.
 */
export function canTransition(from: string, to: RunStatus): boolean {
  if (isTerminal(from)) return false;
  if (isTerminal(to)) return true;
  return (FORWARD[from] ?? []).includes(to);
}

/** Why a run did not complete. Every code has exactly one final status and a hint. */
export const FAILURE_CODES = [
  'image-missing', 'mount-missing', 'oom', 'non-zero-exit', 'killed', 'output-missing', 'upload-failed',
  'resolution-failed', 'setup-failed', 'wrapup-failed', 'launch-failed', 'container-vanished', 'staging-failed', 'disk-full',
  'timeout', 'secret-missing', 'container-removed',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

interface FailureRule {
  status: RunStatus;
  hint: string;
}

const FAILURE_RULES: Record<FailureCode, FailureRule> = {
  'image-missing': {
    status: 'Failed (Container launch)',
    hint: 'The image is not on this Docker engine. Load or build it (docker load / docker build), then relaunch.',
  },
  'mount-missing': {
    status: 'Failed (Container launch)',
    hint: 'A directory to be mounted no longer exists. Check that the input files are still in the archive.',
  },
  oom: {
    status: 'Killed (Out of Memory)',
    hint: 'The container used more memory than its limit. Raise limit-memory in the command or use smaller inputs.',
  },
  'non-zero-exit': {
    status: 'Failed',
    hint: 'The tool exited with a non-zero code. Read its stderr log (xcs logs --stderr RUN) for the reason.',
  },
  killed: { status: 'Killed', hint: 'The run was killed on request.' },
  'output-missing': {
    status: 'Failed (Upload)',
    hint: 'A required output was not produced. Check the tool wrote to the output mount and path the command declares.',
  },
  'upload-failed': {
    status: 'Failed (Upload)',
    hint: 'The archive did not store the outputs; the message says why. Fix that, then POST /xapi/containers/ID/finalize.',
  },
  'disk-full': {
    status: 'Failed (Upload)',
    hint: 'The disk holding the archive is full. Free space, then force finalization (POST /xapi/containers/ID/finalize).',
  },
  'resolution-failed': {
    status: 'Failed (Command resolution)',
    hint: 'The inputs do not satisfy the command. Check the input values and matchers.',
  },
  'setup-failed': {
    status: 'Failed (Setup)',
    hint: 'A setup command failed before the main container started; read its logs.',
  },
  'wrapup-failed': {
    status: 'Failed (Wrapup)',
    hint: 'A wrapup command failed after the main container; nothing it should have processed was uploaded. Read its logs.',
  },
  'launch-failed': {
    status: 'Failed (Container launch)',
    hint: 'The container engine refused to create or start the container; the message says why.',
  },
  'container-vanished': {
    status: 'Failed (Orphaned)',
    hint: 'The container disappeared from the engine while the run was active (removed by hand or engine reset).',
  },
  timeout: {
    status: 'Failed (Timeout)',
    hint: 'The tool ran longer than the command\'s max-runtime and was stopped. Raise max-runtime in the command or find why the tool hangs.',
  },
  'secret-missing': {
    status: 'Failed (Command resolution)',
    hint: 'The site does not have a secret the command needs; a site admin provides it (README "Site settings").',
  },
  'container-removed': {
    status: 'Failed',
    hint: 'The container was removed from the engine (docker rm) while XCS still needed it; its logs and unsaved outputs are lost. Relaunch the run.',
  },
  'staging-failed': {
    status: 'Failed',
    hint: 'Preparing the run failed (copying inputs or issuing credentials); the message says why.',
  },
};

export function failureRule(code: FailureCode): FailureRule {
  return FAILURE_RULES[code];
}

export function isFailureCode(value: string): value is FailureCode {
  return (FAILURE_CODES as readonly string[]).includes(value);
}
