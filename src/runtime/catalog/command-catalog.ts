/** The command registry (`CommandCatalog`) over the run engine's command store: one database, one connection. */
import type { Command } from '../../command/model.ts';
import type { CommandCatalog, WrapperRef } from './catalog.ts';
import type { CommandStore } from './command-store.ts';

export class CommandStoreCatalog implements CommandCatalog {
  readonly #store: CommandStore;

  constructor(store: CommandStore) {
    this.#store = store;
  }

  list(): Command[] { return this.#store.list(); }
  get(id: number): Command | undefined { return this.#store.get(id); }
  create(command: Command): Command { return this.#store.register(command); }
  update(id: number, command: Command): { command: Command; removedWrappers: number[] } { return this.#store.update(id, command); }
  // wrappers and wrapper_projects go with it (ON DELETE CASCADE).
  delete(id: number): void { this.#store.delete(id); }

  siteEnabled(wrapperId: number): boolean { return this.#store.enabledForSite(wrapperId); }
  setSiteEnabled(wrapperId: number, enabled: boolean): void { this.#store.setEnabled(wrapperId, enabled, null); }
  projectEnabled(wrapperId: number, project: string): boolean { return this.#store.enabledForProject(wrapperId, project); }
  setProjectEnabled(wrapperId: number, project: string, enabled: boolean): void { this.#store.setEnabled(wrapperId, enabled, project); }
  enabledProjects(wrapperId: number): string[] { return this.#store.enabledProjects(wrapperId); }
  wrapper(wrapperId: number): WrapperRef | undefined { return this.#store.findWrapper(wrapperId); }
}
