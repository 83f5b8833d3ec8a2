/**
 * The composition root: the one place that opens things. `openApplication` opens the data directory and its
 * embedded archive, the run database (one connection, shared by the command registry and the engine), the stores
 * (settings, wrapper configuration, site roles, automation), the container backend the server settings select
 * (through the backend registry), the run engine, the in-process launcher and the automation dispatcher.
 * `startServer` (what `xcs serve` runs) builds the HTTP server over them and listens; closing it closes them.
 *
 * Engine settings from the environment: `XCS_MAX_RUNNING`, `XCS_MAX_FINALIZING`, `XCS_LEASE_MS` (how soon another
 * replica takes over a dead one's work); `XCS_SECRETS_FILE` (command secrets,
 * besides `XCS_SECRET_*` variables). The site settings of runs (network, user, hardening…) follow the server settings
 * (`follow-settings.ts`); `XCS_CONTAINER_NETWORK` and `XCS_CONTAINER_USER` are their defaults.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir, openEmbeddedArchive, type EmbeddedOptions, type OpenedArchive } from '../archive/open.ts';
import { AutomationDispatcher } from '../automation/dispatcher.ts';
import { AutomationStore } from '../automation/store.ts';
import { SubscriptionRunner } from '../automation/subscriptions.ts';
import type { BackendKind } from '../backends/types.ts';
import { SelectedBackend } from './selected-backend.ts';
import { backendOptionsOf } from '../http/xapi/server-backend.ts';
import { positiveIntFromEnv } from '../core/env.ts';
import { messageOf } from '../core/errors.ts';
import type { JsonValue } from '../matcher/index.ts';
import {
  aliasTokenCredentials, archiveInventory, archiveOutputs, ArchiveObjectSource, CommandStore, CommandStoreCatalog,
  defaultSiteSettings, EngineLauncher, LaunchPlanner, openRunDatabase, registryAuthFor, RunEngine, secretSource, type EngineLogger, type LaunchContext,
  type RunDatabase,
} from '../runtime/index.ts';
import { AccessControl } from '../http/xapi/access.ts';
import { ConfigStore } from '../http/xapi/configuration.ts';
import { SettingsStore } from '../http/xapi/settings.ts';
import type { ContainerService } from '../http/xapi/service.ts';
import { followQueueSettings, followServerSettings } from './follow-settings.ts';

export interface ApplicationOptions extends EmbeddedOptions {
  dataDir?: string;
  /** The URL containers call back (known once the server listens). */
  serverUrl: () => string;
  /** Where the engine logs (the server's logger once it exists). */
  log: EngineLogger;
}

export interface Application {
  opened: OpenedArchive;
  /** The container service over the data directory; its `engine` is null when no backend could be opened. */
  service: ContainerService;
  close(): Promise<void>;
}

/** How often the server settings are read again, for changes another replica saved. */
const SETTINGS_REFRESH_MS = 2000;

/**
 * A stable id per data directory, so a restarted server recognises its own containers. Replicas on one data
 * directory share it: they are one service, and any of them may take over another's containers.
 */
function instanceIdOf(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomBytes(4).toString('hex');
  writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * The backend the server settings select. One that does not answer yet is waited for (the service runs, its
 * launches fail with the reason until it answers); one that cannot work (a bad host, slurm without its tools)
 * gives null, with the reason on stderr: the server still serves the archive.
 */
async function openBackend(settings: SettingsStore, log: EngineLogger, onConnected: () => void): Promise<SelectedBackend | null> {
  const server = settings.server();
  try {
    // A selection that follows the settings (`selected-backend.ts`): `POST /xapi/docker/server` may switch it.
    const backend = await SelectedBackend.open(server.backend as BackendKind, backendOptionsOf(server), {
      onConnected: (kind) => {
        log.info(`xcs: the ${kind} backend answers now; the container service runs`);
        onConnected();
      },
      onStillWaiting: (reason) => log.warn(`xcs: the ${server.backend} backend still does not answer: ${messageOf(reason)}`),
    });
    const reason = backend.waitingReason;
    if (reason) {
      process.stderr.write(`xcs: the ${server.backend} backend does not answer yet (${messageOf(reason)}); `
        + 'waiting for it: runs launched until then fail with that reason\n');
    }
    return backend;
  } catch (e) {
    process.stderr.write(`xcs: container service disabled: ${messageOf(e)}\n`);
    return null;
  }
}

export async function openApplication(opts: ApplicationOptions): Promise<Application> {
  const opened = await openEmbeddedArchive(opts.dataDir ?? defaultDataDir(),
    { maxUploadBytes: opts.maxUploadBytes, unpackLimits: opts.unpackLimits });
  const { archive, users, dataDir } = opened;
  const runDb: RunDatabase = openRunDatabase(join(dataDir, 'runs.sqlite'));
  const commands = new CommandStore(runDb);
  const catalog = new CommandStoreCatalog(commands);
  const settings = await SettingsStore.open(opened.db);
  const configs = await ConfigStore.open(opened.db);
  const access = await AccessControl.open(users, opened.db);
  const automation = await AutomationStore.open(opened.db);
  // Once a backend that did not answer at start-up does: catch up on what its containers did meanwhile.
  let reconcile = (): void => undefined;
  const backend = await openBackend(settings, opts.log, () => reconcile());
  const engine = backend && RunEngine.open({
    dataDir, instanceId: instanceIdOf(dataDir), serverUrl: opts.serverUrl,
    maxRunning: positiveIntFromEnv('XCS_MAX_RUNNING'), maxFinalizing: positiveIntFromEnv('XCS_MAX_FINALIZING'),
    leaseMs: positiveIntFromEnv('XCS_LEASE_MS'),
    // Until the server settings are applied (below): the environment's defaults.
    site: { ...defaultSiteSettings(), containerNetwork: process.env.XCS_CONTAINER_NETWORK || 'none',
      containerUser: process.env.XCS_CONTAINER_USER || null },
  }, {
    // Read once at start-up (a bad file stops the server with the reason); variables are read at each launch.
    secrets: secretSource({ file: process.env.XCS_SECRETS_FILE || null }),
    // The hubs as they are at each container's creation (a hub changed later applies to later containers).
    registryAuth: (image) => registryAuthFor(image, settings.hubs()),
    backend, credentials: aliasTokenCredentials(users, archive), outputs: archiveOutputs(archive, users),
    inventory: archiveInventory(archive), staging: (mode) => archive.staging(mode), log: opts.log, database: runDb,
  });
  // The one launch-planning pipeline: launch, the launch UI, availability and bulk dry-run all plan through it.
  const planner = new LaunchPlanner({ catalog, configs, source: () => new ArchiveObjectSource(archive, users) });
  const launchContext: (LaunchContext & { users: typeof users }) | null = engine && { engine, commands, archive, users, planner };
  const launcher = launchContext && new EngineLauncher({ ctx: launchContext, roles: access });
  let dispatcher: AutomationDispatcher | null = null;
  if (launcher) {
    dispatcher = new AutomationDispatcher({ store: automation, catalog, launcher, users });
    dispatcher.use(new SubscriptionRunner({ store: automation, catalog, launcher, users,
      objectJson: async (uri) => (await new ArchiveObjectSource(archive, users).getByUri(uri)) as JsonValue | null }));
    dispatcher.start(archive);
    // An orchestration whose run ended on a replica that died before it launched the next step goes on here.
    const resumer = dispatcher;
    engine?.onTakeover(() => { void resumer.resume(); });
  }
  // Replicas on one database: a setting saved through another replica reaches this one within this time.
  const settingsRefresh = setInterval(() => {
    settings.refresh().catch((e: unknown) => opts.log?.error(`xcs: cannot re-read the server settings: ${messageOf(e)}`));
  }, SETTINGS_REFRESH_MS);
  settingsRefresh.unref();
  if (engine) {
    reconcile = () => {
      engine.reconcileNow().catch((e: unknown) => opts.log.warn(`xcs: reconciliation failed: ${messageOf(e)}`));
    };
    followQueueSettings(engine, settings);
    followServerSettings(engine, settings, backend ?? undefined, (m) => opts.log?.error(m) ?? process.stderr.write(`${m}\n`));
  }
  return {
    opened,
    service: { commands, catalog, planner, access, settings, configs, automation, engine, launchContext, launcher, dispatcher },
    close: async () => {
      // The server stopped the engine and the dispatcher when it closed (its onClose hook).
      clearInterval(settingsRefresh);
      await backend?.close();
      runDb.close();
      await opened.close();
    },
  };
}
