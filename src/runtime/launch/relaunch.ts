/**
 * Relaunch: a new run of an ended one — same wrapper, same launch values (sensitive ones taken from the stored
 * run, never sent by the caller), same project — launched by the caller, through the ordinary launch path (fresh
 * resolution, enablement and permission checks). The new run records which run it repeats, and the old one
 * gets a history item naming the new one.
 */
import { XcsError } from '../../core/errors.ts';
import { launch, type LaunchContext } from './launch.ts';
import type { RunRecord } from '../store/run-store.ts';
import { isTerminal } from '../store/state-machine.ts';

export async function relaunch(ctx: LaunchContext, source: RunRecord, user: string): Promise<RunRecord> {
  if (!isTerminal(source.status)) {
    throw new XcsError('run.not-finished', `Container ${source.id} is ${source.status}; only a run that ended can be relaunched`,
      { path: String(source.id), hint: 'Wait for it to end, or kill it first' });
  }
  if (source.wrapperId === 0) {
    throw new XcsError('run.not-relaunchable', `Container ${source.id} was not launched from a registered wrapper, so it cannot be relaunched`,
      { path: String(source.id) });
  }
  return launch(ctx, {
    wrapper: { wrapperId: source.wrapperId }, rootElement: null, params: { ...source.spec['raw-input-values'] },
    user, project: source.project, relaunchOf: source.id,
  });
}
