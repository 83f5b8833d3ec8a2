/**
 * The backend registry: which kinds of container backend XCS has, and how to make one. `docker` is the only kind so
 * far; selecting another (server setting `backend`) is refused with a message that says so.
 */
import { XcsError } from '../core/errors.ts';
import { createDockerBackend, type DockerBackendOptions } from './docker/docker-backend.ts';
import type { BackendKind, ContainerBackend } from './types.ts';

export type BackendFactory = (options: DockerBackendOptions) => Promise<ContainerBackend>;

const FACTORIES: Partial<Record<BackendKind, BackendFactory>> = {
  docker: (options) => createDockerBackend(options),
};

/** The kinds a backend exists for. */
export function backendKinds(): BackendKind[] {
  return Object.keys(FACTORIES) as BackendKind[];
}

/** Why `kind` cannot be selected, or null when it can. */
export function backendRefusal(kind: string, where = '/backend'): XcsError | null {
  if ((FACTORIES as Record<string, BackendFactory | undefined>)[kind] !== undefined) return null;
  return new XcsError('backend.kind-unavailable', `no backend of kind ${kind} yet`, {
    status: 400, path: where, hint: `XCS runs containers with: ${backendKinds().join(', ')}`,
  });
}

/** A connected backend of `kind` (throws the refusal for a kind XCS has no backend for). */
export async function createBackend(kind: BackendKind, options: DockerBackendOptions = {}): Promise<ContainerBackend> {
  const refusal = backendRefusal(kind);
  if (refusal) throw refusal;
  return (FACTORIES[kind] as BackendFactory)(options);
}
