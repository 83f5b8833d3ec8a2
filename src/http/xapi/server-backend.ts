/**
 * The container backend of the configured container server (`/xapi/docker/server`), for the routes that manage
 * images and image hosts. It comes from the backend registry like the run engine's, so these routes speak only
 * the `ContainerBackend` contract. One connected backend is kept per server setting (kind + host): a request does
 * not pay the connection's version probe again, and a changed setting gets a fresh one.
 */
import { XcsError } from '../../core/errors.ts';
import { backendRefusal, createBackend, type BackendOptionsByKind } from '../../backends/index.ts';
import { BackendErrorCode, type BackendKind, type ContainerBackend } from '../../backends/types.ts';
import type { DockerServerSettings } from './settings.ts';
import { defaultSlurmKeys, slurmOptionsOf, type SlurmServerKeys } from './slurm-settings.ts';

/** Few servers are ever configured one after the other; older connections are closed. */
const KEPT = 4;
const connected = new Map<string, Promise<ContainerBackend>>();

type ServerChoice = Pick<DockerServerSettings, 'backend' | 'host'> & Partial<SlurmServerKeys>;

function keyOf(server: ServerChoice): string {
  return [server.backend, server.host, server['slurm-job-root'] ?? '', server['slurm-rest-url'] ?? '', server['slurm-rest-user'] ?? '',
    server['slurm-rest-token-file'] ?? ''].join('\n');
}

/** The registry's factory options for a server setting. */
export function backendOptionsOf(server: ServerChoice): BackendOptionsByKind[BackendKind] {
  if (server.backend !== 'slurm') return { host: server.host };
  return slurmOptionsOf({ ...defaultSlurmKeys(), ...server });
}

/** The backend of `server`; throws the registry's refusal or `backend.unavailable`. */
export function backendFor(server: ServerChoice): Promise<ContainerBackend> {
  const key = keyOf(server);
  let backend = connected.get(key);
  if (backend === undefined) {
    const refusal = backendRefusal(server.backend);
    if (refusal) return Promise.reject(refusal);
    backend = createBackend(server.backend as BackendKind, backendOptionsOf(server));
    connected.set(key, backend);
    // A failed connection is not kept: the next request tries again.
    backend.catch(() => { if (connected.get(key) === backend) connected.delete(key); });
    for (const old of [...connected.keys()].slice(0, Math.max(0, connected.size - KEPT))) {
      const closing = connected.get(old);
      connected.delete(old);
      void closing?.then((b) => b.close(), () => undefined);
    }
  }
  return backend;
}

/** Whether the configured server answers within `ms`. */
export async function pingServer(server: ServerChoice, ms = 5000): Promise<boolean> {
  try {
    await withTimeout(backendFor(server).then((b) => b.ping()), ms);
    return true;
  } catch {
    return false;
  }
}

/** The optional operation `name` of `backend`, or a clear refusal when its kind has none. */
export function operationOf<K extends 'pullImage' | 'removeImage' | 'checkRegistryAuth'>(backend: ContainerBackend, name: K):
  NonNullable<ContainerBackend[K]> {
  const op = backend[name];
  if (op === undefined) {
    throw new XcsError(BackendErrorCode.unsupported, `The ${backend.kind} backend cannot ${name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}`, {
      hint: 'put the image on the engine some other way (docker load / docker build)' });
  }
  return op.bind(backend) as NonNullable<ContainerBackend[K]>;
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}
