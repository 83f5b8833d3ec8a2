/**
 * The REST server: authentication, XNAT-style errors, the `/data` archive API and user management,
 * plus plugins other parts of XCS register (`/xapi/...` container-service routes, DICOM import).
 * Plugins are registered with the server's dependencies as their options.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyError } from 'fastify';
import multipart from '@fastify/multipart';
import { isXcsError, XcsError } from '../core/errors.ts';
import type { Archive } from '../archive/types.ts';
import type { UserStore } from '../archive/users.ts';
import { defaultDataDir, openEmbeddedArchive, type OpenedArchive } from '../archive/open.ts';
import { registerAuth } from './auth.ts';
import { registerLockoutRoutes } from './lockout-routes.ts';
import { MemoryLoginThrottle, throttleOptionsFromEnv, type LoginThrottle } from './login-throttle.ts';
import type { SecurityLog } from './security-log.ts';
import { useJsonBodies } from './json-body.ts';
import { registerAccessibilityRoutes } from './data/accessibility-routes.ts';
import { registerArchiveRoutes } from './data/archive-routes.ts';
import { registerSearchRoutes } from './data/search-routes.ts';
import { registerSessionRoutes } from './data/session-routes.ts';
import { registerUserRoutes } from './users-routes.ts';
import { registerOpenApi } from './xapi/openapi.ts';
import { registerWebUi } from './web-ui.ts';
import importPlugin from './data/import.ts';
import containerServicePlugin from './xapi/index.ts';
import serverManagementPlugin from './xapi/engine-adapters.ts';

export interface ServerDeps {
  archive: Archive;
  users: UserStore;
  /** The opened embedded archive, when the server runs on one (gives plugins the shared database). */
  embedded?: OpenedArchive;
  /** Upload limit in bytes per file or zip (default 1 TiB). */
  maxUploadBytes?: number;
  logger?: boolean;
  /** Back-off for failed sign-ins (default: in memory, configured by `XCS_LOGIN_*`, see `login-throttle.ts`). */
  loginThrottle?: LoginThrottle;
  /** Where failed sign-ins are reported (default: one JSON line each on stderr). */
  securityLog?: SecurityLog;
}

export interface BuildOptions extends ServerDeps {
  plugins?: Array<FastifyPluginAsync<ServerDeps>>;
}

const DEFAULT_MAX_UPLOAD = 1024 ** 4;

function wantsJson(url: string, accept: string | undefined): boolean {
  return url.startsWith('/xapi') || (accept ?? '').includes('application/json');
}

export async function buildServer(opts: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 16 * 1024 * 1024, routerOptions: { maxParamLength: 4096 } });
  const deps: ServerDeps = { archive: opts.archive, users: opts.users, embedded: opts.embedded,
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD, logger: opts.logger };
  // Before any route: the OpenAPI document is built from the routes added after it.
  await registerOpenApi(app);

  useJsonBodies(app);
  app.setErrorHandler((err: FastifyError | XcsError, request, reply) => {
    let e: XcsError;
    if (isXcsError(err)) e = err;
    else if (typeof err.statusCode === 'number' && err.statusCode < 500) {
      e = new XcsError(`http.${(err.code ?? 'bad-request').toLowerCase()}`, err.message, { status: err.statusCode });
    } else {
      request.log.error(err);
      e = new XcsError('http.internal', `internal error: ${err.message}`, { status: 500 });
    }
    reply.code(e.status);
    if (wantsJson(request.url, request.headers.accept)) return reply.type('application/json').send(e.toJSON());
    const text = `${e.message}${e.path ? ` (${e.path})` : ''}${e.hint ? `\n${e.hint}` : ''}\n`;
    return reply.type('text/plain; charset=utf-8').send(text);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404);
    const e = new XcsError('http.not-found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`, { status: 404 });
    if (wantsJson(request.url, request.headers.accept)) return reply.type('application/json').send(e.toJSON());
    return reply.type('text/plain').send(`${e.message}\n`);
  });

  const throttle = registerAuth(app, opts.users, {
    throttle: opts.loginThrottle ?? new MemoryLoginThrottle(throttleOptionsFromEnv()), securityLog: opts.securityLog });
  registerLockoutRoutes(app, throttle);
  registerSessionRoutes(app, opts.users);
  registerUserRoutes(app, opts.users, opts.archive);
  registerAccessibilityRoutes(app, opts.users, opts.archive);
  registerSearchRoutes(app, opts.users, opts.archive);
  // The archive API reads bodies itself (uploads stream to disk), so its context parses nothing but multipart.
  await app.register(async (sub) => {
    sub.removeAllContentTypeParsers();
    await sub.register(multipart, { limits: { fileSize: deps.maxUploadBytes, files: 10_000, fields: 1000 } });
    sub.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    registerArchiveRoutes(sub, { archive: opts.archive, users: opts.users, maxUploadBytes: deps.maxUploadBytes! });
  });
  await registerWebUi(app);
  for (const p of defaultPlugins()) await app.register(p, deps);
  for (const p of opts.plugins ?? []) await app.register(p, deps);
  return app;
}

/** The route plugins every server has besides the archive API: DICOM import and the container service. */
function defaultPlugins(): Array<FastifyPluginAsync<ServerDeps>> {
  return [
    importPlugin,
    containerServicePlugin,
    serverManagementPlugin,
  ];
}

export interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  plugins?: Array<FastifyPluginAsync<ServerDeps>>;
  maxUploadBytes?: number;
  logger?: boolean;
  loginThrottle?: LoginThrottle;
  securityLog?: SecurityLog;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  opened: OpenedArchive;
  close(): Promise<void>;
}

/** Opens the data directory, builds the server and listens (what `xcs serve` runs). */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const opened = await openEmbeddedArchive(opts.dataDir ?? defaultDataDir(), { maxUploadBytes: opts.maxUploadBytes });
  const app = await buildServer({ archive: opened.archive, users: opened.users, embedded: opened,
    maxUploadBytes: opts.maxUploadBytes, logger: opts.logger, plugins: opts.plugins,
    loginThrottle: opts.loginThrottle, securityLog: opts.securityLog });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 8080, host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 8080;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    app, url, opened,
    close: async () => {
      await app.close();
      await opened.close();
    },
  };
}
