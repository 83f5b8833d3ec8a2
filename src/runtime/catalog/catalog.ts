/**
 * The container service's application API as its callers see it (http routes, automation, bulk launch): the
 * command registry (commands with their wrappers and enablement) and the launcher (launch one wrapper on one root
 * object, follow runs). `CommandStoreCatalog` (`command-catalog.ts`) and `EngineLauncher` (`launcher.ts`) implement
 * them over the run engine; `MemoryCatalog` is a complete in-process registry for tests that need no database.
 */
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandWrapper } from '../../command/model.ts';
import type { User } from '../../archive/users.ts';

export type MaybePromise<T> = T | Promise<T>;

export interface CommandCatalog {
  list(): MaybePromise<Command[]>;
  get(id: number): MaybePromise<Command | undefined>;
  /** Stores a validated command; assigns the command and wrapper ids. Duplicate (name, image, version) ⇒ 400. */
  create(command: Command): MaybePromise<Command>;
  /** Replaces a command, wrappers matched by name (absent in catalogs that cannot update). */
  update?(id: number, command: Command): MaybePromise<{ command: Command; removedWrappers: number[] }>;
  delete(id: number): MaybePromise<void>;
  siteEnabled(wrapperId: number): MaybePromise<boolean>;
  setSiteEnabled(wrapperId: number, enabled: boolean): MaybePromise<void>;
  /** The project flag alone (a wrapper runs in a project only when site- and project-enabled). */
  projectEnabled(wrapperId: number, project: string): MaybePromise<boolean>;
  setProjectEnabled(wrapperId: number, project: string, enabled: boolean): MaybePromise<void>;
  /** Projects whose flag is set for the wrapper. */
  enabledProjects(wrapperId: number): MaybePromise<string[]>;
  /** The wrapper with this id and its command, by an indexed lookup (absent: `findWrapperById` searches the list). */
  wrapper?(wrapperId: number): MaybePromise<WrapperRef | undefined>;
}

export interface LaunchRequest {
  wrapperId: number;
  /** Name of the external input the root object goes to (XNAT's `rootElement`), or null. */
  rootElement: string | null;
  /** Raw input values, including `rootElement → object URI or id`. */
  inputs: Record<string, string>;
  project: string | null;
  user: User;
}

export interface LaunchOutcome {
  /** Container (run) id. */
  id: number;
  workflowId?: string | null;
}

/** A run as automation needs it: enough to launch the next step of an orchestration on the same object. */
export interface RunSummary {
  id: number;
  wrapperId: number;
  project: string | null;
  /** Login of the launching user. */
  user: string;
  /** The external wrapper input values it ran with (archive URIs for objects). */
  inputs: Record<string, string>;
  /** For a retry (a later attempt of a failed run): the first attempt's id. */
  retryOf?: number | null;
  /** This attempt failed and its retry policy scheduled (or made) another: the next attempt carries on for it. */
  retried?: boolean;
}

/** A run that reached a terminal status. */
export interface EndedRun extends RunSummary {
  /** XNAT's container status: `Complete`, `Failed…`, `Killed`. */
  status: string;
}

/** Groups the runs of one bulk launch, so notifications summarise the batch once (`src/runtime/store/batches.ts`). */
export interface BatchRecorder {
  open(batchId: string, userId: string): void;
  add(batchId: string, runId: number): void;
  close(batchId: string): void;
}

export interface Launcher {
  /** Where bulk launches record their batches, when the launcher has a run engine. */
  batches?: BatchRecorder;
  /** Resolves and submits; throws `XcsError` (with status) when the launch is refused. */
  launch(request: LaunchRequest): Promise<LaunchOutcome>;
  /**
   * Calls back when any run is recorded, however it was launched (REST, bulk, automation, CLI): a run of an
   * orchestration's first wrapper starts the orchestration (§3.1). Returns the unsubscribe function.
   */
  onRunStart?(listener: (run: RunSummary) => void): () => void;
  /** Calls back when any run ends (orchestration chaining); returns the unsubscribe function. */
  onRunEnd?(listener: (run: EndedRun) => void): () => void;
  /**
   * A run as it stands now, by id (undefined when there is no such run): lets automation pick up after a
   * restart the steps that ended while nobody listened. `terminal` says whether `status` is final.
   */
  runState?(id: number): MaybePromise<(EndedRun & { terminal: boolean }) | undefined>;
  /** Runs recorded after run `id` (greater ids, oldest first): finds a successor launched just before a crash. */
  runsAfter?(id: number): MaybePromise<RunSummary[]>;
}

export interface WrapperRef {
  command: Command;
  wrapper: CommandWrapper;
}

export async function findWrapperById(catalog: CommandCatalog, wrapperId: number): Promise<WrapperRef | undefined> {
  if (catalog.wrapper) return catalog.wrapper(wrapperId);
  for (const command of await catalog.list()) {
    const wrapper = command.xnat.find((w) => w.id === wrapperId);
    if (wrapper) return { command, wrapper };
  }
  return undefined;
}

export async function requireWrapper(catalog: CommandCatalog, wrapperId: number): Promise<WrapperRef> {
  const found = await findWrapperById(catalog, wrapperId);
  if (!found) throw new XcsError('xapi.wrapper.not-found', `No wrapper with id ${wrapperId}`, { path: String(wrapperId) });
  return found;
}

export async function requireWrapperByName(catalog: CommandCatalog, commandId: number, wrapperName: string): Promise<WrapperRef> {
  const command = await catalog.get(commandId);
  if (!command) throw new XcsError('xapi.command.not-found', `No command with id ${commandId}`, { path: String(commandId) });
  const wrapper = command.xnat.find((w) => w.name === wrapperName);
  if (!wrapper) {
    throw new XcsError('xapi.wrapper.not-found', `Command ${commandId} has no wrapper named "${wrapperName}"`,
      { path: wrapperName });
  }
  return { command, wrapper };
}

/** An in-process registry with XNAT's semantics (ids from 1, site enablement off for a new wrapper). */
export class MemoryCatalog implements CommandCatalog {
  readonly #commands = new Map<number, Command>();
  readonly #site = new Set<number>();
  readonly #projects = new Map<number, Set<string>>();
  #nextCommand = 1;
  #nextWrapper = 1;

  list(): Command[] {
    return [...this.#commands.values()].map((c) => structuredClone(c));
  }

  get(id: number): Command | undefined {
    const c = this.#commands.get(id);
    return c ? structuredClone(c) : undefined;
  }

  create(command: Command): Command {
    for (const c of this.#commands.values()) {
      if (c.name === command.name && c.image === command.image && (c.version ?? '') === (command.version ?? '')) {
        throw new XcsError('command.duplicate', 'This command duplicates a command already in the database.',
          { path: '/name' });
      }
    }
    const stored = structuredClone(command);
    stored.id = this.#nextCommand++;
    for (const w of stored.xnat) w.id = this.#nextWrapper++;
    this.#commands.set(stored.id, stored);
    return structuredClone(stored);
  }

  delete(id: number): void {
    const c = this.#commands.get(id);
    if (!c) throw new XcsError('xapi.command.not-found', `No command with id ${id}`, { path: String(id) });
    for (const w of c.xnat) {
      this.#site.delete(w.id);
      this.#projects.delete(w.id);
    }
    this.#commands.delete(id);
  }

  siteEnabled(wrapperId: number): boolean {
    return this.#site.has(wrapperId);
  }

  setSiteEnabled(wrapperId: number, enabled: boolean): void {
    if (enabled) this.#site.add(wrapperId);
    else this.#site.delete(wrapperId);
  }

  projectEnabled(wrapperId: number, project: string): boolean {
    return this.#projects.get(wrapperId)?.has(project) ?? false;
  }

  setProjectEnabled(wrapperId: number, project: string, enabled: boolean): void {
    const set = this.#projects.get(wrapperId) ?? new Set<string>();
    if (enabled) set.add(project);
    else set.delete(project);
    this.#projects.set(wrapperId, set);
  }

  enabledProjects(wrapperId: number): string[] {
    return [...(this.#projects.get(wrapperId) ?? [])].sort();
  }
}
