/**
 * The container-service part of `/xapi` as a Fastify plugin for `buildServer({plugins})`. It opens the run
 * engine on the server's data directory (Docker backend, embedded archive), starts it once the server
 * listens (containers need the server's URL as `XNAT_HOST`) and stops it when the server closes.
 *
 * Engine settings from the environment: `XCS_MAX_RUNNING`, `XCS_MAX_FINALIZING`; `XCS_SECRETS_FILE` (command secrets,
 * besides `XCS_SECRET_*` variables). The site settings of runs (network, user, hardening…) are the server settings
 * (`POST /xapi/docker/server`), applied by the management plugin (`engine-adapters.ts`); `XCS_CONTAINER_NETWORK` and
 * `XCS_CONTAINER_USER` are their defaults.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { SelectedBackend } from './engine-backend.ts';
import { secretSource } from '../../runtime/command-secrets.ts';
import { defaultSiteSettings } from '../../runtime/site-settings.ts';
import { messageOf } from '../../core/errors.ts';
import { archiveInventory } from '../../runtime/archive-inventory.ts';
import { aliasTokenCredentials, archiveOutputs } from '../../runtime/archive-ports.ts';
import { CommandStore } from '../../runtime/command-store.ts';
import { RunEngine } from '../../runtime/engine.ts';
import type { ServerDeps } from '../server.ts';
import { AutomationStore } from '../../automation/store.ts';
import { AccessControl } from './access.ts';
import { registerCommandAdminRoutes } from './commands-admin.ts';
import { registerCommandRoutes } from './commands-routes.ts';
import { applyConfiguration, ConfigStore } from './configuration.ts';
import { registerContainerAdminRoutes } from './containers-admin.ts';
import { registerContainerRoutes } from './containers-routes.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';
import type { XapiContext } from './context.ts';
import { registerLaunchRoutes } from './launch-routes.ts';
import { registerProvenanceRoutes } from './provenance-routes.ts';
import { wireOperations } from './operations.ts';
import { positiveIntFromEnv } from '../../core/env.ts';

/** A stable id per data directory, so a restarted server recognises its own containers. */
function instanceIdOf(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomBytes(4).toString('hex');
  writeFileSync(file, `${id}\n`);
  return id;
}

/** The URL containers use to call back: loopback on the listening port (host-network containers share it). */
function ownUrl(app: FastifyInstance): string {
  const addr = app.server.address() as AddressInfo | null;
  if (!addr) return '';
  const host = addr.family === 'IPv6' && addr.address !== '::' ? '[::1]' : '127.0.0.1';
  return `http://${host}:${addr.port}`;
}

/** The engine serving each HTTP server, for sibling plugins (the management routes' queue settings). */
const engines = new WeakMap<object, RunEngine>();

export function engineOf(server: object): RunEngine | undefined {
  return engines.get(server);
}

/** The run engine's backend of each HTTP server, which the server settings select. */
const selectedBackends = new WeakMap<object, SelectedBackend>();

export function selectedBackendOf(server: object): SelectedBackend | undefined {
  return selectedBackends.get(server);
}

export const containerServicePlugin: FastifyPluginAsync<ServerDeps> = async (app, deps) => {
  // Without a data directory (a server over another archive) or a Docker engine there is nothing to run
  // containers with: the server still serves the archive.
  if (!deps.embedded) return;
  const dataDir = deps.embedded.dataDir;
  let backend: SelectedBackend;
  try {
    // The local engine until the server settings (the management plugin) select their backend.
    backend = await SelectedBackend.connect('docker');
  } catch (e) {
    process.stderr.write(`xcs: container service disabled: ${messageOf(e)}\n`);
    return;
  }
  const engine = RunEngine.open({
    dataDir, instanceId: instanceIdOf(dataDir), serverUrl: () => ownUrl(app),
    maxRunning: positiveIntFromEnv('XCS_MAX_RUNNING'), maxFinalizing: positiveIntFromEnv('XCS_MAX_FINALIZING'),
    // Until the server settings are applied (the management plugin), or without them: the environment's defaults.
    site: { ...defaultSiteSettings(), containerNetwork: process.env.XCS_CONTAINER_NETWORK || 'none',
      containerUser: process.env.XCS_CONTAINER_USER || null },
  }, {
    // Read once at start-up (a bad file stops the server with the reason); variables are read at each launch.
    secrets: secretSource({ file: process.env.XCS_SECRETS_FILE || null }),
    backend, credentials: aliasTokenCredentials(deps.users, deps.archive), outputs: archiveOutputs(deps.archive, deps.users),
    inventory: archiveInventory(deps.archive),
    log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) },
  });
  const configs = await ConfigStore.open(deps.embedded.db);
  const ctx: XapiContext = {
    engine, commands: new CommandStore(engine.database), archive: deps.archive, users: deps.users,
    configure: async (command, wrapperId, project) => applyConfiguration(command, wrapperId, await configs.effective(wrapperId, project)),
  };
  const access = await AccessControl.open(deps.users, deps.embedded.db);
  const automation = await AutomationStore.open(deps.embedded.db);
  engines.set(app.server, engine);
  selectedBackends.set(app.server, backend);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  registerCommandAdminRoutes(app, { ctx, access, automation });
  registerCommandRoutes(app, ctx, access);
  registerLaunchRoutes(app, ctx, access);
  registerContainerAdminRoutes(app, { ctx, access });
  registerContainerRoutes(app, ctx, access);
  registerProvenanceRoutes(app, ctx, access);
  registerDashboardRoutes(app, ctx, access);
  const operations = wireOperations(app, deps, ctx, access);

  app.addHook('onListen', async () => {
    // The backend the stored settings select is connected before anything is reconciled against it.
    await backend.settled();
    await engine.start();
    operations.start();
  });
  app.addHook('onClose', async () => {
    engines.delete(app.server);
    selectedBackends.delete(app.server);
    await operations.stop();
    await engine.stop();
    await backend.close();
  });
};

export default containerServicePlugin;
