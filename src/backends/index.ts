/**
 * The backend registry: which kinds of container backend XCS has, and how to make one. Selecting a kind without
 * a factory (server setting `backend`) is refused with a message that says so.
 *
 * A new backend plugs in here and nowhere else: its options type in `BackendOptionsByKind` and its factory in
 * `FACTORIES`. The run engine only ever sees the `ContainerBackend` it gets back.
 */
import { XcsError } from '../core/errors.ts';
import { createDockerBackend, type DockerBackendOptions } from './docker/docker-backend.ts';
import { createSlurmBackend, type SlurmBackendOptions } from './slurm/index.ts';
import { createSwarmBackend, type SwarmBackendOptions } from './swarm/swarm-backend.ts';
import { BackendErrorCode, type BackendKind, type ContainerBackend } from './types.ts';

/** What every factory accepts: where its engine or controller is (the server setting `host`), when it has one. */
export interface BackendEndpointOptions {
  host?: string;
}

/** Each kind's factory options (a kind without its own yet takes the endpoint only). */
export interface BackendOptionsByKind {
  docker: DockerBackendOptions;
  swarm: SwarmBackendOptions;
  slurm: SlurmBackendOptions;
  kubernetes: BackendEndpointOptions;
}

/** One backend choice: a kind with its own options (a discriminated union on `kind`). */
export type BackendSelection = { [K in BackendKind]: { kind: K; options?: BackendOptionsByKind[K] } }[BackendKind];

export type BackendFactory<K extends BackendKind = BackendKind> = (options: BackendOptionsByKind[K]) => Promise<ContainerBackend>;

const FACTORIES: { [K in BackendKind]?: BackendFactory<K> } = {
  docker: (options) => createDockerBackend(options),
  swarm: (options) => createSwarmBackend(options),
  slurm: (options) => createSlurmBackend(options),
};

export type { SlurmBackendOptions } from './slurm/index.ts';

/** The kinds a backend exists for. */
export function backendKinds(): BackendKind[] {
  return Object.keys(FACTORIES) as BackendKind[];
}

/** Why `kind` cannot be selected, or null when it can. */
export function backendRefusal(kind: string, where = '/backend'): XcsError | null {
  if ((FACTORIES as Record<string, unknown>)[kind] !== undefined) return null;
  return new XcsError(BackendErrorCode.kindUnavailable, `no backend of kind ${kind} yet`, {
    path: where, hint: `XCS runs containers with: ${backendKinds().join(', ')}`,
  });
}

/** A connected backend of `kind` (throws the refusal for a kind XCS has no backend for). */
export async function createBackend<K extends BackendKind>(kind: K, options: BackendOptionsByKind[K] = {}): Promise<ContainerBackend> {
  const refusal = backendRefusal(kind);
  if (refusal) throw refusal;
  return (FACTORIES[kind] as BackendFactory<K>)(options);
}

/** `createBackend` for a selection made elsewhere (settings, a test matrix). */
export function selectBackend(selection: BackendSelection): Promise<ContainerBackend> {
  return createBackend(selection.kind, selection.options ?? {});
}
