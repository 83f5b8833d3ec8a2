/**
 * The one `/xapi` plugin: one route table over the container service the composition root opened
 * (`ServerDeps.containerService`, see `src/app/`). The command registry, roles, settings, images, configuration,
 * availability, the launch UI, bulk launch and automation are always served; the run routes (launch, containers,
 * logs, provenance, status stream, webhooks) when a container backend could be opened. The engine starts once the
 * server listens (containers need the server's URL as `XNAT_HOST`) and stops when the server closes.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ServerDeps } from '../server.ts';
import { registerRoleRoutes } from './access.ts';
import { Availability, registerAvailabilityRoutes } from './availability.ts';
import { registerAutomationRoutes } from './automation.ts';
import { BulkLauncher, registerBulkLaunchRoutes } from './bulk-launch.ts';
import { registerCommandAdminRoutes } from './commands-admin.ts';
import { registerCommandRoutes } from './commands-routes.ts';
import { registerConfigurationRoutes } from './configuration.ts';
import { registerContainerAdminRoutes } from './containers-admin.ts';
import { registerContainerRoutes } from './containers-routes.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';
import { registerImageRoutes } from './images.ts';
import { registerLaunchRoutes } from './launch-routes.ts';
import { registerLaunchUiRoutes } from './launch-ui.ts';
import { registerObjectSourceRoutes } from './object-source-routes.ts';
import { wireOperations } from './operations.ts';
import { registerProvenanceRoutes } from './provenance-routes.ts';
import { emptyPullReport, pullEnabledImages, type PullReport } from './pull-on-init.ts';
import { backendImageEngine } from './images.ts';
import { backendFor } from './server-backend.ts';
import { pingServer, registerSettingsRoutes } from './settings.ts';
import { callbackNote, isolationNote, placementNote } from './site-settings-keys.ts';
import { registerSubscriptionRoutes } from './subscriptions.ts';
import type { ContainerService } from './service.ts';
import { ArchiveObjectSource } from '../../runtime/index.ts';

/** XNAT accepts form-encoded bodies on some POSTs (`/jms_queues`); read them as a flat map. */
function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

/**
 * At start-up, when the setting is on and the engine answers, pulls the enabled commands' images in the background
 * (start-up does not wait for registries) and keeps the report for `GET /xapi/docker/server/pull-on-init`.
 */
function pullOnInit(app: FastifyInstance, service: ContainerService): () => PullReport {
  let report = emptyPullReport();
  app.addHook('onListen', async () => {
    const server = service.settings.server();
    if (!server['pull-images-on-xnat-init'] || !(await pingServer(server))) return;
    void backendFor(server).then((backend) => pullEnabledImages(backendImageEngine(backend), service.catalog)).then((r) => {
      report = r;
      for (const f of r.failed) app.log.warn(`pull-images-on-xnat-init: could not pull ${f.image}: ${f.message}`);
      if (r.failed.length > 0) {
        process.stderr.write(`xcs: pull-images-on-xnat-init: ${r.failed.length} image(s) could not be pulled: ` +
          `${r.failed.map((f) => f.image).join(', ')} (GET /xapi/docker/server/pull-on-init)\n`);
      }
    });
  });
  return () => report;
}

export const containerServicePlugin: FastifyPluginAsync<ServerDeps> = async (app, deps) => {
  const service = deps.containerService;
  // A server over another archive (no data directory) serves the archive only.
  if (!service) return;
  const { access, settings, catalog, planner, configs, automation, engine, launcher, dispatcher } = service;
  acceptForms(app);
  const registry = { commands: service.commands, archive: deps.archive };
  registerCommandAdminRoutes(app, { ctx: registry, access, automation });
  registerCommandRoutes(app, registry, access);
  let operations: ReturnType<typeof wireOperations> | null = null;
  if (engine && service.launchContext) {
    const ctx = service.launchContext;
    registerLaunchRoutes(app, ctx, access);
    registerContainerAdminRoutes(app, { ctx, access });
    const metrics = deps.metrics;
    registerContainerRoutes(app, ctx, access, metrics && { onOpen: () => metrics.logFollowers.inc(), onClose: () => metrics.logFollowers.dec() });
    registerProvenanceRoutes(app, ctx, access);
    registerDashboardRoutes(app, ctx, access);
    operations = wireOperations(app, deps, ctx, access, settings);
    const report = pullOnInit(app, service);
    app.get('/xapi/docker/server/pull-on-init', { schema: { tags: ['server'],
      summary: 'What pull-images-on-xnat-init pulled at start-up, found present, or could not pull (container managers)' } },
    async (request) => {
      await access.requireContainerManager(request);
      return report();
    });
  }
  const source = () => new ArchiveObjectSource(deps.archive, deps.users);
  registerRoleRoutes(app, access);
  registerSettingsRoutes(app, { settings, access });
  registerImageRoutes(app, { settings, access, catalog });
  registerConfigurationRoutes(app, { catalog, configs, access });
  registerAvailabilityRoutes(app, new Availability({ catalog, planner, access, archive: deps.archive,
    callbackNote: (command) => callbackNote(command, settings.server()),
    isolationNote: (command) => isolationNote(command, settings.server()),
    placementNote: () => placementNote(settings.server()) }), access);
  registerBulkLaunchRoutes(app, new BulkLauncher({ planner, access, launcher }), { catalog, planner, access });
  registerAutomationRoutes(app, { store: automation, catalog, access });
  registerSubscriptionRoutes(app, { store: automation, catalog, access, archive: deps.archive });
  registerLaunchUiRoutes(app, { catalog, planner, access, settings });
  registerObjectSourceRoutes(app, { source, access });

  app.addHook('onListen', async () => {
    await engine?.start();
    operations?.start();
    // Chains left by a stop or crash resume once the engine runs.
    void dispatcher?.resume();
  });
  app.addHook('onClose', async () => {
    dispatcher?.stop();
    await dispatcher?.idle();
    await operations?.stop();
    await engine?.stop();
  });
};

export default containerServicePlugin;
