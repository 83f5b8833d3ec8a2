/** Why a finished container counts as failed, as an error with a cause code and a hint for people. */
import { XcsError } from '../core/errors.ts';
import { BackendErrorCode, type ContainerState } from './types.ts';

/**
 * Null when the container ended well (exited with code 0); otherwise the cause. OOM wins over the exit code
 * (an OOM-killed process exits 137, which alone would only say "killed").
 */
export function exitFailure(state: ContainerState): XcsError | null {
  const path = state.backendId;
  if (state.oomKilled) {
    return new XcsError(BackendErrorCode.oomKilled, 'The container was killed because it used more memory than its limit', {
      path,
      hint: 'Raise the command\'s limit-memory (or remove it), or give the tool less data at once',
      details: state.exitCode === null ? [] : [{ code: 'exit-code', message: String(state.exitCode) }],
    });
  }
  if (state.status === 'missing') {
    return new XcsError(BackendErrorCode.containerVanished, 'The container disappeared before its end could be recorded', {
      path,
      hint: 'Something removed it (auto-remove, or a manual docker rm); its logs are gone',
    });
  }
  if (state.status === 'dead') {
    return new XcsError(BackendErrorCode.containerDead, `The engine could not stop or remove the container${state.error ? `: ${state.error}` : ''}`, {
      path,
      hint: 'See the engine\'s log',
    });
  }
  if (state.exitCode !== null && state.exitCode !== 0) {
    const bySignal = state.exitCode > 128 && state.exitCode < 160 ? ` (signal ${state.exitCode - 128})` : '';
    return new XcsError(BackendErrorCode.nonZeroExit, `The container exited with code ${state.exitCode}${bySignal}`, {
      path,
      hint: 'The tool reported a failure: see its stderr log',
      details: [{ code: 'exit-code', message: String(state.exitCode) }],
    });
  }
  if (state.error) {
    return new XcsError(BackendErrorCode.startFailed, `The container failed: ${state.error}`, { path });
  }
  return null;
}
