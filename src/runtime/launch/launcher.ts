/**
 * The in-process launcher: bulk launch and automation launch a wrapper on one root object by calling the launch
 * path directly, as the user, with the checks of the REST launch route — the user's account must still be enabled
 * (as signing in would require), the command visible to them (§6.4), then `launch()` (enablement, resolution,
 * project permission). A refusal is thrown as the `XcsError` the route would have answered, its message redacted of
 * the sensitive launch values. It also reports every run's start and end from the engine's own transitions, so that
 * a run launched by any route (REST, CLI, bulk, automation) starts and chains orchestrations.
 */
import type { UserDirectory } from '../../archive/users.ts';
import { sensitiveInputNames } from '../../command/sensitive.ts';
import { isXcsError, messageOf, XcsError } from '../../core/errors.ts';
import { addToBatch, closeBatch, openBatch } from '../store/batches.ts';
import type { BatchRecorder, EndedRun, LaunchOutcome, LaunchRequest, Launcher, RunSummary, WrapperRef } from '../catalog/catalog.ts';
import { launch, SENSITIVE_MASK, type LaunchContext } from './launch.ts';
import { redactError } from '../secrets/redact.ts';
import type { RunRecord } from '../store/run-store.ts';
import { isTerminal } from '../store/state-machine.ts';
import { commandVisible, notVisible, type RoleChecks } from '../catalog/visibility.ts';

export interface EngineLauncherDeps {
  /** The launch path's context (engine, command store, archive, users, configuration). */
  ctx: LaunchContext & { users: UserDirectory };
  /** The site roles visibility asks about. */
  roles: RoleChecks;
}

export class EngineLauncher implements Launcher {
  readonly #ctx: LaunchContext & { users: UserDirectory };
  readonly #roles: RoleChecks;
  readonly batches: BatchRecorder;

  constructor({ ctx, roles }: EngineLauncherDeps) {
    this.#ctx = ctx;
    this.#roles = roles;
    const db = ctx.engine.database;
    this.batches = {
      open: (id, user) => openBatch(db, id, user),
      add: (id, runId) => addToBatch(db, id, runId),
      close: (id) => closeBatch(db, id),
    };
  }

  async launch(request: LaunchRequest): Promise<LaunchOutcome> {
    // The account as it is now (it may have been disabled since the caller read it), as signing in would check.
    const user = await this.#ctx.users.getUser(request.user.login);
    if (!user?.enabled) throw new XcsError('auth.required', 'authentication required');
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.inputs)) if (v !== undefined && v !== null) params[k] = String(v);
    const wrapper = { wrapperId: request.wrapperId };
    let secrets: string[] = []; // no such wrapper: nothing is known to be sensitive, and the launch fails on it anyway
    try {
      // The one lookup of the wrapper for this launch.
      const found = await this.#ctx.planner.wrapper(wrapper, '');
      secrets = secretsOf(found, params);
      if (!(await commandVisible(this.#roles, (id) => this.#ctx.commands.enabledProjects(id), user, found.command))) {
        throw notVisible(wrapper);
      }
      const run = await launch(this.#ctx, { wrapper, found, rootElement: request.rootElement, params, user: user.login, project: request.project,
        ...(request.user.scope ? { confinedTo: request.user.scope.project } : {}) });
      return { id: run.id };
    } catch (e) {
      const error = isXcsError(e) ? e : new XcsError('launch.failed', messageOf(e), { cause: e });
      throw redactError(error, secrets);
    }
  }

  /*
   * Transitions are heard synchronously, right after they committed (a listener is called inside the engine's
   * transition path), so the summaries given to listeners read the engine's store directly; queries go through
   * the run state interface.
   */
  #summaryOf(run: RunRecord, retried: boolean): RunSummary {
    const inputs: Record<string, string> = {};
    for (const v of run.spec['external-wrapper-input-values']) inputs[v.name] = v.value;
    return { id: run.id, wrapperId: run.wrapperId, project: run.project, user: run.userId, inputs, retryOf: run.retryOf, retried };
  }

  /** The retry is scheduled in the same transaction as the failure, so its history item is there by the time anyone hears of the end. */
  #retriedNow(run: RunRecord): boolean {
    return run.retriedBy !== null || this.#ctx.engine.store.hasHistoryStatus(run.id, 'Retry scheduled');
  }

  /*
   * Both follow the engine's own transitions rather than the runs launched here. Listener errors are contained:
   * automation must never break the engine's transition path.
   */
  onRunStart(listener: (run: RunSummary) => void): () => void {
    return this.#ctx.engine.store.onTransition((run, item) => {
      if (item?.status !== 'Queued') return;
      try { listener(this.#summaryOf(run, this.#retriedNow(run))); } catch { /* see above */ }
    });
  }

  async runState(id: number): Promise<(EndedRun & { terminal: boolean }) | undefined> {
    const state = this.#ctx.engine.state;
    const run = await state.get(id);
    if (!run) return undefined;
    const retried = run.retriedBy !== null || await state.hasHistoryStatus(run.id, 'Retry scheduled');
    return { ...this.#summaryOf(run, retried), status: run.status, terminal: isTerminal(run.status) };
  }

  async runsAfter(id: number): Promise<RunSummary[]> {
    // Bounded: only the runs launched right after a step are candidates for its successor.
    return (await this.#ctx.engine.state.listAfter(id, 1000)).map((r) => this.#summaryOf(r, r.retriedBy !== null));
  }

  onRunEnd(listener: (run: EndedRun) => void): () => void {
    // A terminal status cannot change again, but a replayed transition must not launch the next step twice.
    const seen = new Set<number>();
    return this.#ctx.engine.store.onTransition((run) => {
      if (!isTerminal(run.status) || seen.has(run.id)) return;
      seen.add(run.id);
      if (seen.size > 10_000) seen.delete(seen.values().next().value as number);
      try { listener({ ...this.#summaryOf(run, this.#retriedNow(run)), status: run.status }); } catch { /* see above */ }
    });
  }
}

/** The values of the wrapper's sensitive inputs in this launch: never quoted back in a refusal. */
function secretsOf({ command, wrapper }: WrapperRef, params: Record<string, string>): string[] {
  const names = sensitiveInputNames(command, wrapper);
  return Object.entries(params).filter(([k, v]) => names.has(k) && v !== SENSITIVE_MASK).map(([, v]) => v);
}
