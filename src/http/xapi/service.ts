/**
 * The container service as `/xapi` serves it: everything the composition root (`src/app/`) opened — the command
 * registry, the stores, the run engine and the in-process launcher — handed to the one `/xapi` plugin. http only
 * routes to it; it opens and closes nothing of it.
 */
import type { AutomationDispatcher } from '../../automation/dispatcher.ts';
import type { AutomationStore } from '../../automation/store.ts';
import type { CommandCatalog, Launcher, LaunchPlanner } from '../../runtime/index.ts';
import type { CommandStore } from '../../runtime/index.ts';
import type { RunEngine } from '../../runtime/index.ts';
import type { LaunchContext } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import type { ConfigStore } from './configuration.ts';
import type { SettingsStore } from './settings.ts';

export interface ContainerService {
  /** The command registry: the store and its `CommandCatalog` view. */
  commands: CommandStore;
  catalog: CommandCatalog;
  /** The launch-planning pipeline (wrapper, enablement, configuration, resolution) behind launch, the launch UI, availability and bulk dry-run. */
  planner: LaunchPlanner;
  access: AccessControl;
  settings: SettingsStore;
  configs: ConfigStore;
  automation: AutomationStore;
  /** Null when no container backend could be opened: the registry, settings and configuration are still served. */
  engine: RunEngine | null;
  /** The launch path's context (present with the engine). */
  launchContext: LaunchContext | null;
  /** Launches in-process (bulk launch, automation); null without an engine (those routes answer 503). */
  launcher: Launcher | null;
  /** Runs the mappings, subscriptions and orchestrations; present with the launcher. */
  dispatcher: AutomationDispatcher | null;
}
