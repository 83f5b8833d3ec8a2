/** Turns what went wrong (typed errors, exit states) into a failure code for the state machine. */
import { isXcsError, messageOf } from '../core/errors.ts';
import { BackendErrorCode } from '../backends/types.ts';
import type { FailureCode } from './state-machine.ts';

export function failureCodeOf(e: unknown, fallback: FailureCode): FailureCode {
  if (isXcsError(e)) {
    switch (e.code) {
      case BackendErrorCode.imageMissing: case 'image-missing': return 'image-missing';
      case BackendErrorCode.mountMissing: case 'mount-missing': return 'mount-missing';
      case BackendErrorCode.containerVanished: return 'container-vanished';
      case 'secret-missing': return 'secret-missing';
      case BackendErrorCode.oomKilled: return 'oom';
      case BackendErrorCode.createFailed: case BackendErrorCode.startFailed: case BackendErrorCode.invalidSpec:
      case BackendErrorCode.mountForbidden: case BackendErrorCode.nameConflict: case BackendErrorCode.unsupported: return 'launch-failed';
      default: break;
    }
  }
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOSPC') return 'disk-full';
  return fallback;
}

export function describe(e: unknown): string {
  if (isXcsError(e)) return e.hint ? `${e.message} (${e.hint})` : e.message;
  return messageOf(e);
}
