/** Run set-up and clean-up shared by the tests that launch real containers. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDockerBackend } from '../../src/backends/docker/docker-backend.ts';
import { XCS_LABELS, type ContainerBackend } from '../../src/backends/types.ts';
import type { JsonApi } from './http.ts';

/** Registers a command and enables its first wrapper for the site and `project`; returns the wrapper id. */
export async function registerEnabled(api: JsonApi, command: unknown, project = 'P'): Promise<number> {
  const id = await api<number>('POST', '/xapi/commands', command);
  const wrapperId = (await api<{ xnat: { id: number }[] }>('GET', `/xapi/commands/${id}`)).xnat[0].id;
  await api('PUT', `/xapi/wrappers/${wrapperId}/enabled`);
  await api('PUT', `/xapi/projects/${project}/wrappers/${wrapperId}/enabled`);
  return wrapperId;
}

/** The instance id a server wrote into its data directory; its containers carry it as a label. */
export async function instanceOf(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'instance-id'), 'utf8')).trim();
}

/**
 * Removes every container labelled with the instance of `dataDir`, so a test leaves nothing behind in the
 * engine. A given backend is used and left open; otherwise one is opened and closed here.
 */
export async function removeInstanceContainers(dataDir: string, backend?: ContainerBackend): Promise<void> {
  const instance = await instanceOf(dataDir);
  const b = backend ?? await createDockerBackend();
  try {
    for (const c of await b.list({ labels: { [XCS_LABELS.instance]: instance } })) await b.remove(c.backendId);
  } finally {
    if (!backend) await b.close();
  }
}

/** Closes a test server from `archive-helpers.ts`, removes its containers, then its directory. */
export async function stopWithContainers(s: { dir: string; close(): Promise<void>; stop(): Promise<void> }): Promise<void> {
  await s.close();
  await removeInstanceContainers(join(s.dir, 'data'));
  // `stop` closes again, which a closed server may refuse; only the directory removal matters here.
  await s.stop().catch(() => undefined);
}
