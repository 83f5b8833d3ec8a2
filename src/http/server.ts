/**
 * The REST server: authentication, XNAT-style errors, the `/data` archive API and user management,
 * plus plugins other parts of XCS register (`/xapi/...` container-service routes, DICOM import).
 * Plugins are registered with the server's dependencies as their options.
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyInstance, type FastifyPluginAsync, type FastifyError, type FastifyRequest, type FastifyServerOptions,
} from 'fastify';
import multipart from '@fastify/multipart';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { XcsError } from '../core/errors.ts';
import type { Archive } from '../archive/types.ts';
import type { UnpackLimits } from '../archive/unpack-limits.ts';
import type { UserDirectory } from '../archive/users.ts';
import type { OpenedArchive } from '../archive/open.ts';
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
import { DOCS_PATH, registerOpenApi } from './xapi/openapi.ts';
import { pathScrubber, toClientError } from './error-mapping.ts';
import { registerSecurityHeaders } from './server-headers.ts';
import { registerWebUi, WEB_UI_PATH } from './web-ui.ts';
import importPlugin from './data/import.ts';
import containerServicePlugin from './xapi/index.ts';
import { containerServiceDisabled, isContainerServicePath } from './xapi/disabled-service.ts';
import type { ContainerService } from './xapi/service.ts';
import { registerHealthRoutes } from './health.ts';
import { registerMetricsRoute, ServerMetrics } from './metrics.ts';

export interface ServerDeps {
  archive: Archive;
  users: UserDirectory;
  /** The opened embedded archive, when the server runs on one (gives plugins the shared database). */
  embedded?: OpenedArchive;
  /** Upload limit in bytes per file or zip (default 1 TiB). */
  maxUploadBytes?: number;
  /** Archive-bomb limits for unpacked zips and tars (defaults in `archive/unpack-limits.ts`). */
  unpackLimits?: Partial<UnpackLimits>;
  /** Back-off for failed sign-ins (default: in memory, configured by `XCS_LOGIN_*`, see `login-throttle.ts`). */
  loginThrottle?: LoginThrottle;
  /** Where failed sign-ins are reported (default: one JSON line each on stderr). */
  securityLog?: SecurityLog;
  /** Structured JSON logs (pino) at this level; off when false or absent. */
  logger?: LogLevel | false;
  /** The server's Prometheus registry, for plugins that add metrics. */
  metrics?: ServerMetrics;
  /** The container service the composition root opened (`src/app/`): served under `/xapi` when present. */
  containerService?: ContainerService;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Values never written to the log: credentials in headers, passwords and tokens in bodies or objects logged
 * by a route, and the callback token the containers get (`XNAT_PASS`).
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-xcs-signature"]', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie', 'password', '*.password', 'secret', '*.secret', 'token', '*.token',
  'XNAT_PASS', '*.XNAT_PASS', 'env.XNAT_PASS', '*.env.XNAT_PASS',
];

function loggerOptions(level: LogLevel | false | undefined): FastifyServerOptions['logger'] {
  if (!level) return false;
  // stderr: stdout carries what `xcs serve` tells its operator (the generated admin password, the address).
  return { level, stream: process.stderr, redact: { paths: REDACTED_LOG_PATHS, censor: '[REDACTED]' },
    serializers: { req: requestForLog } };
}

/**
 * A request as logged: the route's pattern, never the URL as sent — query strings carry launch inputs (sensitive
 * ones too) and some paths carry secrets (`/data/services/tokens/invalidate/{alias}/{secret}`).
 */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  const route = request.routeOptions?.url;
  return { id: request.id, method: request.method, route: route ?? '(no route)', remoteAddress: request.ip };
}

export interface BuildOptions extends ServerDeps {
  plugins?: Array<FastifyPluginAsync<ServerDeps>>;
}

const DEFAULT_MAX_UPLOAD = 1024 ** 4;
/** The checkout or installation this server runs from (two levels above this file in src/ and in dist/): never shown in errors. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function wantsJson(url: string, accept: string | undefined): boolean {
  return url.startsWith('/xapi') || (accept ?? '').includes('application/json');
}

export async function buildServer(opts: BuildOptions): Promise<FastifyInstance> {
  // Request ids are ours (a random UUID), never taken from the client; they are echoed as X-Request-Id.
  const app = Fastify({ logger: loggerOptions(opts.logger), bodyLimit: 16 * 1024 * 1024, routerOptions: { maxParamLength: 4096 },
    genReqId: () => randomUUID(), requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }) });
  const metrics = new ServerMetrics();
  const deps: ServerDeps = { archive: opts.archive, users: opts.users, embedded: opts.embedded,
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD, unpackLimits: opts.unpackLimits, logger: opts.logger, metrics,
    containerService: opts.containerService };
  registerSecurityHeaders(app, [WEB_UI_PATH, DOCS_PATH]);
  metrics.instrument(app);
  // One line per request that went wrong (refusals and errors), not per request: a line for every success costs
  // the busy list routes a third of their tail latency, and the metrics count them anyway.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400) {
      request.log.info({ res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    }
  });
  // Before any route: the OpenAPI document is built from the routes added after it.
  await registerOpenApi(app);

  useJsonBodies(app);
  const scrub = pathScrubber([...(opts.embedded ? [opts.embedded.dataDir] : []), tmpdir(), process.cwd(), REPO_ROOT]);
  app.setErrorHandler((err: FastifyError | XcsError, request, reply) => {
    const { error: e } = toClientError(err, scrub);
    // One line per error with its code: server errors with their stack, refusals at info.
    if (e.status >= 500) {
      metrics.errors.inc({ code: e.code });
      request.log.error({ err, code: e.code }, e.message);
    } else {
      request.log.info({ code: e.code, status: e.status, path: e.path }, e.message);
    }
    reply.code(e.status);
    if (wantsJson(request.url, request.headers.accept)) return reply.type('application/json').send(e.toJSON());
    const text = `${e.message}${e.path ? ` (${e.path})` : ''}${e.hint ? `\n${e.hint}` : ''}\n`;
    return reply.type('text/plain; charset=utf-8').send(text);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const e = opts.containerService && !opts.containerService.engine && isContainerServicePath(path)
      ? containerServiceDisabled(path)
      : new XcsError('http.not-found', `no such endpoint: ${request.method} ${path}`, { status: 404 });
    reply.code(e.status);
    if (wantsJson(request.url, request.headers.accept)) return reply.type('application/json').send(e.toJSON());
    return reply.type('text/plain').send(`${e.message}${e.hint ? `\n${e.hint}` : ''}\n`);
  });

  const throttle = registerAuth(app, opts.users, {
    throttle: opts.loginThrottle ?? new MemoryLoginThrottle(throttleOptionsFromEnv()), securityLog: opts.securityLog });
  registerLockoutRoutes(app, throttle);
  registerHealthRoutes(app, { pingArchive: opts.embedded?.pingDatabase, dataDir: opts.embedded?.dataDir, engine: () => opts.containerService?.engine ?? undefined });
  registerMetricsRoute(app, metrics);
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

/** The route plugins every server has besides the archive API: DICOM import and the container service (`/xapi`). */
function defaultPlugins(): Array<FastifyPluginAsync<ServerDeps>> {
  return [
    importPlugin,
    containerServicePlugin,
  ];
}
