/** `xcs serve`: the application opened on a data directory, the HTTP server built over it, listening. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { OpenedArchive } from '../archive/open.ts';
import type { UnpackLimits } from '../archive/unpack-limits.ts';
import type { RunEngine } from '../runtime/index.ts';
import type { LoginThrottle } from '../http/login-throttle.ts';
import type { SecurityLog } from '../http/security-log.ts';
import { buildServer, type LogLevel, type ServerDeps } from '../http/server.ts';
import type { ContainerService } from '../http/xapi/service.ts';
import { openApplication } from './index.ts';

export interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  plugins?: Array<FastifyPluginAsync<ServerDeps>>;
  maxUploadBytes?: number;
  unpackLimits?: Partial<UnpackLimits>;
  logger?: LogLevel | false;
  loginThrottle?: LoginThrottle;
  securityLog?: SecurityLog;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  opened: OpenedArchive;
  service: ContainerService;
  /** The run engine, or null when no container backend could be opened. */
  engine: RunEngine | null;
  close(): Promise<void>;
}

/** The URL containers use to call back: loopback on the listening port (host-network containers share it). */
function ownUrl(app: FastifyInstance | undefined): string {
  const addr = app?.server.address() as AddressInfo | null | undefined;
  if (!addr) return '';
  const host = addr.family === 'IPv6' && addr.address !== '::' ? '[::1]' : '127.0.0.1';
  return `http://${host}:${addr.port}`;
}

/** Opens the data directory and everything over it, builds the server and listens (what `xcs serve` runs). */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  // The engine is opened before the server exists: its URL and logger are the server's, looked up when used.
  let app: FastifyInstance | undefined;
  const application = await openApplication({ dataDir: opts.dataDir, maxUploadBytes: opts.maxUploadBytes, unpackLimits: opts.unpackLimits,
    serverUrl: () => ownUrl(app),
    log: { info: (m) => app?.log.info(m), warn: (m) => app?.log.warn(m), error: (m) => app?.log.error(m) } });
  const { opened, service } = application;
  try {
    app = await buildServer({ archive: opened.archive, users: opened.users, embedded: opened, containerService: service,
      maxUploadBytes: opts.maxUploadBytes, unpackLimits: opts.unpackLimits, logger: opts.logger, plugins: opts.plugins,
      loginThrottle: opts.loginThrottle, securityLog: opts.securityLog });
    const host = opts.host ?? '127.0.0.1';
    await app.listen({ port: opts.port ?? 8080, host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 8080;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const server = app;
    return {
      app: server, url, opened, service, engine: service.engine,
      close: async () => {
        await server.close();
        await application.close();
      },
    };
  } catch (e) {
    await app?.close().catch(() => undefined);
    await application.close();
    throw e;
  }
}
