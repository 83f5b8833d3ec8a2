/**
 * Registry credentials for a run's image (XNAT passes the image hub's auth when it creates a swarm service, so a
 * node without the image can pull it). The hubs are the server settings' (`/xapi/docker/hubs`); the composition
 * root gives the run engine a `RegistryAuthSource` over them. The credentials go to the backend's `create` only:
 * never the run record, its spec, its provenance, its history or a log line.
 */
import type { RegistryAuth } from '../../backends/types.ts';

/** The registry auth for an image reference, or undefined when no hub with credentials serves it. */
export type RegistryAuthSource = (image: string) => RegistryAuth | undefined;

/** A hub as far as matching needs it (the settings' `Hub`, whose module the run engine does not import). */
export interface HubCredentials {
  url: string;
  username: string | null;
  password: string | null;
}

const DOCKER_HUB = 'docker.io';

/** `index.docker.io`, `registry-1.docker.io` and `docker.io` are one registry: Docker Hub. */
function canonicalRegistry(host: string): string {
  const h = host.toLowerCase();
  return h === DOCKER_HUB || h.endsWith('.docker.io') ? DOCKER_HUB : h;
}

/**
 * The registry an image reference names: its first component when that looks like a host (has a dot or a port, or
 * is `localhost`), else Docker Hub — the engine's own rule. Null for an image id (`sha256:…`), which no registry serves.
 */
export function registryOfImage(image: string): string | null {
  const ref = image.trim();
  if (ref === '' || /^sha256:[0-9a-f]+$/i.test(ref) || /^[0-9a-f]{64}$/i.test(ref)) return null;
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB;
  const first = ref.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' ? canonicalRegistry(first) : DOCKER_HUB;
}

/** The registry a hub's URL points at (`https://index.docker.io/v1/` → `docker.io`); null for a URL that is not one. */
export function registryOfHub(url: string): string | null {
  try {
    const host = new URL(url.includes('://') ? url : `https://${url}`).host;
    return host === '' ? null : canonicalRegistry(host);
  } catch {
    return null;
  }
}

/**
 * The credentials of the first hub that serves `image`'s registry and has a username (a hub without one pulls
 * anonymously: nothing to pass). The hub's URL is the server address, as for a pull.
 */
export function registryAuthFor(image: string, hubs: readonly HubCredentials[]): RegistryAuth | undefined {
  const registry = registryOfImage(image);
  if (registry === null) return undefined;
  const hub = hubs.find((h) => h.username !== null && h.username !== '' && registryOfHub(h.url) === registry);
  if (hub === undefined || hub.username === null) return undefined;
  return { username: hub.username, password: hub.password ?? '', serverAddress: hub.url };
}
