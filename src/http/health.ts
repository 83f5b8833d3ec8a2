/**
 * Probes for process managers and Kubernetes, anonymous and small. `GET /health/live`: the process answers.
 * `GET /health/ready`: it can do its work — the databases answer, the archive directory is writable and the
 * container backend answers — 200 when all do, else 503. Each check says only ok or failing: no paths, versions
 * or error texts (those go to the log).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { pingRunDatabase, type RunEngine } from '../runtime/index.ts';

const CHECK_TIMEOUT_MS = 3000;

type Check = () => Promise<void>;

function withTimeout(p: Promise<void>): Promise<void> {
  return Promise.race([p, new Promise<void>((_r, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref())]);
}

export interface HealthDeps {
  /** Asks the archive database something trivial; throws when it cannot answer. */
  pingArchive?: () => Promise<void>;
  dataDir?: string;
  engine: () => RunEngine | undefined;
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  const opts = { config: { public: true }, schema: { hide: true } };
  app.get('/health/live', opts, async () => ({ status: 'ok' }));
  app.get('/health/ready', opts, async (request, reply) => {
    const checks: Record<string, Check> = {};
    if (deps.pingArchive) checks.database = deps.pingArchive;
    if (deps.dataDir) {
      const dir = deps.dataDir;
      checks.storage = async () => { await access(dir, constants.W_OK); };
    }
    const engine = deps.engine();
    if (engine) {
      checks.database = ((archive) => async () => {
        await archive?.();
        pingRunDatabase(engine);
      })(checks.database);
      checks.backend = async () => { await engine.resources.backend.ping(); };
    } else {
      checks.backend = async () => { throw new Error('no container backend'); };
    }
    const results: Record<string, 'ok' | 'failing'> = {};
    await Promise.all(Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check());
        results[name] = 'ok';
      } catch (e) {
        results[name] = 'failing';
        request.log.warn({ check: name, err: e }, 'readiness check failed');
      }
    }));
    const ready = Object.values(results).every((r) => r === 'ok');
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'unavailable', checks: results };
  });
}
