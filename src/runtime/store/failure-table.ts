/**
 * Why a run did not complete: one row per failure code, the single source of what each failure means —
 * the terminal status it ends the run with, the hint people read, the retry class a policy retries it under
 * (null: never retried), and the error codes of lower layers (`backend.*`, the resolver's) that it stands for.
 *
 * Everything else reads this table: `fail()` (`failures.ts`) ends runs with it, `failureCodeOf` turns a thrown
 * error into a row, `retry-policy.ts` takes the class from it. HTTP statuses are not a run's business: a failed
 * run is a record, not a failed request (http's `error-mapping.ts` chooses statuses for request errors).
 */
import type { RetryClass } from '../../command/index.ts';
import { BackendErrorCode } from '../../backends/types.ts';
import type { RunStatus } from './state-machine.ts';

export interface FailureRow {
  /** The terminal status the run ends with. */
  status: RunStatus;
  /** What to do about it, for people. */
  hint: string;
  /** The class a retry policy's `retry-on` names to retry it; null: no policy retries it. */
  retryClass: RetryClass | null;
  /** Codes of thrown errors (`XcsError.code`) that end a run with this failure. */
  causes?: readonly string[];
}

export const FAILURE_CODES = [
  'image-missing', 'mount-missing', 'oom', 'non-zero-exit', 'killed', 'output-missing', 'upload-failed',
  'resolution-failed', 'setup-failed', 'wrapup-failed', 'launch-failed', 'container-vanished', 'staging-failed', 'disk-full',
  'timeout', 'secret-missing', 'container-removed', 'node-lost', 'engine-unavailable',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** Kills by users, uploads (re-finalization exists for them), setups/wrapups and missing images or inputs: never retried. */
export const FAILURES: { readonly [C in FailureCode]: FailureRow } = {
  'image-missing': {
    status: 'Failed (Container launch)', retryClass: null, causes: [BackendErrorCode.imageMissing, 'image-missing'],
    hint: 'The image is not on this Docker engine. Load or build it (docker load / docker build), then relaunch.',
  },
  'mount-missing': {
    status: 'Failed (Container launch)', retryClass: null, causes: [BackendErrorCode.mountMissing, 'mount-missing'],
    hint: 'A directory to be mounted no longer exists. Check that the input files are still in the archive.',
  },
  oom: {
    status: 'Killed (Out of Memory)', retryClass: 'oom', causes: [BackendErrorCode.oomKilled],
    hint: 'The container used more memory than its limit. Raise limit-memory in the command or use smaller inputs.',
  },
  'non-zero-exit': {
    status: 'Failed', retryClass: 'exit-code',
    hint: 'The tool exited with a non-zero code. Read its stderr log (xcs logs --stderr RUN) for the reason.',
  },
  killed: { status: 'Killed', retryClass: null, hint: 'The run was killed on request.' },
  'output-missing': {
    status: 'Failed (Upload)', retryClass: null,
    hint: 'A required output was not produced. Check the tool wrote to the output mount and path the command declares.',
  },
  'upload-failed': {
    status: 'Failed (Upload)', retryClass: null,
    hint: 'The archive did not store the outputs; the message says why. Fix that, then POST /xapi/containers/ID/finalize.',
  },
  'disk-full': {
    status: 'Failed (Upload)', retryClass: null,
    hint: 'The disk holding the archive is full. Free space, then force finalization (POST /xapi/containers/ID/finalize).',
  },
  'resolution-failed': {
    status: 'Failed (Command resolution)', retryClass: null,
    hint: 'The inputs do not satisfy the command. Check the input values and matchers.',
  },
  'setup-failed': {
    status: 'Failed (Setup)', retryClass: null,
    hint: 'A setup command failed before the main container started; read its logs.',
  },
  'wrapup-failed': {
    status: 'Failed (Wrapup)', retryClass: null,
    hint: 'A wrapup command failed after the main container; nothing it should have processed was uploaded. Read its logs.',
  },
  'launch-failed': {
    status: 'Failed (Container launch)', retryClass: 'engine-error',
    causes: [BackendErrorCode.createFailed, BackendErrorCode.startFailed, BackendErrorCode.invalidSpec,
      BackendErrorCode.mountForbidden, BackendErrorCode.nameConflict, BackendErrorCode.unsupported],
    hint: 'The container engine refused to create or start the container; the message says why.',
  },
  'node-lost': {
    status: 'Failed (Orphaned)', retryClass: 'lost',
    hint: 'The cluster node running the container went down (the message names it). Relaunch the run, or give it a retry policy that retries "lost" runs on another node.',
  },
  'container-vanished': {
    status: 'Failed (Orphaned)', retryClass: 'lost', causes: [BackendErrorCode.containerVanished],
    hint: 'The container disappeared from the engine while the run was active (removed by hand or engine reset).',
  },
  timeout: {
    status: 'Failed (Timeout)', retryClass: 'timeout',
    hint: 'The tool ran longer than the command\'s max-runtime and was stopped. Raise max-runtime in the command or find why the tool hangs.',
  },
  'secret-missing': {
    status: 'Failed (Command resolution)', retryClass: null, causes: ['secret-missing'],
    hint: 'The site does not have a secret the command needs; a site admin provides it (README "Site settings").',
  },
  'container-removed': {
    status: 'Failed', retryClass: 'lost',
    hint: 'The container was removed from the engine (docker rm) while XCS still needed it; its logs and unsaved outputs are lost. Relaunch the run.',
  },
  // Named by staging only (`staging/starter.ts`): an engine lost while finalizing leaves the run `upload-failed`,
  // which can be finalized again once the engine is back.
  'engine-unavailable': {
    status: 'Failed (Container launch)', retryClass: 'engine-error',
    hint: 'The container engine did not answer when the run was to start (the message names it). XCS takes it up again as soon as it answers (GET /health/ready shows when); relaunch the run then, or give the command a retry policy (retry-on "engine-error").',
  },
  'staging-failed': {
    status: 'Failed', retryClass: 'engine-error',
    hint: 'Preparing the run failed (copying inputs or issuing credentials); the message says why.',
  },
};

export function isFailureCode(value: string): value is FailureCode {
  return Object.hasOwn(FAILURES, value);
}

/** The failure an error code stands for, or null when no row names it. */
export function failureOfErrorCode(code: string): FailureCode | null {
  for (const f of FAILURE_CODES) if (FAILURES[f].causes?.includes(code)) return f;
  return null;
}
