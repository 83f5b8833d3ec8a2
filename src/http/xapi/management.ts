/**
 * The `/xapi` plugin for everything around the run engine: roles, server settings, images, configuration
 * and enablement, availability, the launch UI, bulk launch and automation. It needs the shared database
 * (`ServerDeps.embedded`), the command registry and, for launching, a `Launcher`.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { ServerDeps } from '../server.ts';
import { AccessControl, registerRoleRoutes } from './access.ts';
import { MemoryCatalog, type CommandCatalog, type Launcher } from './catalog.ts';
import { registerImageRoutes } from './images.ts';
import { registerObjectSourceRoutes } from './object-source-routes.ts';
import { registerSettingsRoutes, SettingsStore } from './settings.ts';
import { callbackNote, isolationNote, placementNote } from './site-settings-keys.ts';
import { ConfigStore, registerConfigurationRoutes } from './configuration.ts';
import { Availability, registerAvailabilityRoutes } from './availability.ts';
import { BulkLauncher, registerBulkLaunchRoutes } from './bulk-launch.ts';
import { registerAutomationRoutes } from './automation.ts';
import { registerLaunchUiRoutes } from './launch-ui.ts';
import { AutomationStore } from '../../automation/store.ts';
import { AutomationDispatcher } from '../../automation/dispatcher.ts';
import { SubscriptionRunner } from '../../automation/subscriptions.ts';
import type { JsonValue } from '../../matcher/index.ts';
import { registerSubscriptionRoutes } from './subscriptions.ts';
import { ArchiveObjectSource } from '../../runtime/archive-object-source.ts';

export interface ManagementOptions {
  /** The command registry; an in-process one when absent. */
  catalog?: CommandCatalog;
  /** How wrappers are launched (bulk launch, automation); those routes answer 503 without one. */
  launcher?: Launcher;
  /** Called once the stores are open (e.g. for the engine to follow the queue settings). */
  onOpen?: (stores: ManagementStores) => void;
}

export interface ManagementStores {
  access: AccessControl;
  settings: SettingsStore;
  catalog: CommandCatalog;
  configs: ConfigStore;
  automation: AutomationStore;
  /** Present when a launcher is: runs the mappings and orchestrations. */
  dispatcher: AutomationDispatcher | null;
}

/** XNAT accepts form-encoded bodies on some POSTs (`/jms_queues`); read them as a flat map. */
function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

export function managementPlugin(options: ManagementOptions = {}): FastifyPluginAsync<ServerDeps> {
  return async (app, deps) => {
    if (!deps.embedded) {
      throw new XcsError('xapi.no-database', 'the /xapi management routes need the embedded archive database');
    }
    const access = await AccessControl.open(deps.users, deps.embedded.db);
    const settings = await SettingsStore.open(deps.embedded.db);
    const catalog = options.catalog ?? new MemoryCatalog();
    const configs = await ConfigStore.open(deps.embedded.db);
    const automation = await AutomationStore.open(deps.embedded.db);
    const launcher = options.launcher ?? null;
    const source = () => new ArchiveObjectSource(deps.archive, deps.users);
    const dispatcher = launcher ? new AutomationDispatcher({ store: automation, catalog, launcher, users: deps.users }) : null;
    if (dispatcher && launcher) {
      dispatcher.use(new SubscriptionRunner({ store: automation, catalog, launcher, users: deps.users,
        objectJson: async (uri) => (await source().getByUri(uri)) as JsonValue | null }));
    }
    dispatcher?.start(deps.archive);
    // Launching goes through the server itself, so chains left by a stop or crash resume once it listens.
    app.addHook('onListen', async () => { void dispatcher?.resume(); });
    app.addHook('onClose', async () => {
      dispatcher?.stop();
      await dispatcher?.idle();
    });
    options.onOpen?.({ access, settings, catalog, configs, automation, dispatcher });
    acceptForms(app);
    registerRoleRoutes(app, access);
    registerSettingsRoutes(app, { settings, access });
    registerImageRoutes(app, { settings, access, catalog });
    registerConfigurationRoutes(app, { catalog, configs, access });
    registerAvailabilityRoutes(app, new Availability({ catalog, configs, access, archive: deps.archive, source,
      callbackNote: (command) => callbackNote(command, settings.server()),
      isolationNote: (command) => isolationNote(command, settings.server()),
      placementNote: () => placementNote(settings.server()) }), access);
    registerBulkLaunchRoutes(app, new BulkLauncher({ catalog, configs, access, source, launcher }), { catalog, access });
    registerAutomationRoutes(app, { store: automation, catalog, access });
    registerSubscriptionRoutes(app, { store: automation, catalog, access, archive: deps.archive });
    registerLaunchUiRoutes(app, { catalog, configs, access, settings, source });
    registerObjectSourceRoutes(app, { source, access });
  };
}
