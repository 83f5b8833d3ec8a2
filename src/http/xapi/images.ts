/**
 * Images of the container server (reference §4.5, §5.5): list (with placeholders for command images that
 * are not installed), summaries grouping the registered commands under their images, inspect, delete (also
 * deleting the commands of that image, as XNAT does), import the commands of an image's `org.nrg.commands`
 * label, and pull. XCS runs where no registry may be reachable: a failed pull says so and how to load the
 * image instead.
 */
import type { FastifyInstance } from 'fastify';
import { BackendErrorCode, type ContainerBackend, type ImageInfo } from '../../backends/types.ts';
import { isImageReference } from '../../command/image-reference.ts';
import { XcsError, isXcsError, messageOf } from '../../core/errors.ts';
import type { Command } from '../../command/model.ts';
import { maskCommand } from '../../command/sensitive.ts';
import { readImageCommands } from '../../command/image-labels.ts';
import type { AccessControl } from './access.ts';
import type { CommandCatalog } from '../../runtime/index.ts';
import type { ImageEngine } from './pull-on-init.ts';
import type { Hub, SettingsStore } from './settings.ts';
import { backendFor, operationOf } from './server-backend.ts';

export interface ImageJson {
  'image-id'?: string;
  tags: string[];
  labels: Record<string, string>;
  installed?: boolean;
}

/** The route's answer to a failed image operation of the backend (its codes; the engine's words kept). */
function imageError(e: unknown, ref: string): XcsError {
  const code = isXcsError(e) ? e.code : undefined;
  if (code === BackendErrorCode.imageMissing) return new XcsError('xapi.image.not-found', `No image ${ref} on the container server`, { status: 404, path: ref });
  if (code === BackendErrorCode.invalidReference) {
    return new XcsError('xapi.image.bad-reference', messageOf(e).replace('Docker engine', 'Docker server'), { status: 400, path: ref });
  }
  if (code === BackendErrorCode.imageInUse) {
    return new XcsError('xapi.image.in-use', messageOf(e), { status: 409, path: ref,
      hint: 'remove the containers that use it, or pass ?force=true' });
  }
  if (code === BackendErrorCode.unsupported) return e as XcsError;
  return new XcsError('xapi.docker.error', `The Docker server returned an error:\n${messageOf(e)}`, { status: 500, path: ref });
}

/** An image's inspection, or `xapi.image.not-found`. */
async function requireImage(backend: ContainerBackend, ref: string): Promise<ImageInfo> {
  const info = await backend.inspectImage(ref).catch((e: unknown) => { throw imageError(e, ref); });
  if (info === null) throw imageError(new XcsError(BackendErrorCode.imageMissing, ref), ref);
  return info;
}

function imageJson(i: ImageInfo): ImageJson {
  return { 'image-id': i.id, tags: i.tags, labels: i.labels };
}

/** 400 for a reference the engine could not parse (it would answer 500, or a redirect for `..`). */
function requireReference(ref: string, where = 'image'): string {
  if (!isImageReference(ref)) {
    throw new XcsError('xapi.image.bad-reference', `"${ref.length > 80 ? `${ref.slice(0, 80)}…` : ref}" is not an image reference`, {
      status: 400, path: where, hint: 'name an image as [host[:port]/]repository[:tag], e.g. xnat/dcm2niix:latest, or by its id' });
  }
  return ref;
}

function tagged(ref: string): string {
  return /:[A-Za-z0-9_.-]+$/.test(ref.split('/').pop() ?? ref) || ref.startsWith('sha256:') ? ref : `${ref}:latest`;
}

async function installedImages(backend: Promise<ContainerBackend>): Promise<ImageJson[]> {
  const list = await (await backend).listImages();
  return list.map((i) => ({ 'image-id': i.id, tags: i.tags, labels: i.labels }));
}

/** Commands whose image is this one (by tag, or by the image id recorded on label import). */
function commandsOfImage(commands: Command[], image: { id: string; tags: string[] }): Command[] {
  return commands.filter((c) => image.tags.includes(tagged(c.image)) || c.hash === image.id || c.image === image.id);
}

export interface ImageRouteDeps {
  settings: SettingsStore;
  access: AccessControl;
  catalog: CommandCatalog;
}

export function registerImageRoutes(app: FastifyInstance, { settings, access, catalog }: ImageRouteDeps): void {
  const tags = ['images'];
  const backend = (): Promise<ContainerBackend> => backendFor(settings.server());

  async function saveCommands(image: string): Promise<Command[]> {
    const report = await readImageCommands(image, await backend());
    if (!report.hasLabel) {
      throw new XcsError('xapi.image.no-commands', `Image ${image} has no org.nrg.commands label`, { status: 400, path: image });
    }
    const errors = [...report.result.errors, ...report.result.commands.flatMap((c) => c.errors)];
    if (errors.length > 0) {
      throw new XcsError('command.invalid', `Invalid command:\n\t${errors.map((e) => `${e.path || '/'}: ${e.message}`).join('\n\t')}`,
        { status: 400, path: image, details: errors.map((e) => ({ code: e.code, message: e.message, path: e.path })) });
    }
    const existing = await catalog.list();
    const created: Command[] = [];
    for (const v of report.result.commands) {
      const c = v.command!;
      const dup = existing.find((x) => x.name === c.name && x.image === c.image && (x.version ?? '') === (c.version ?? ''));
      created.push(dup ? await resave(dup, c, image) : await catalog.create(c));
    }
    return created.map(maskCommand);
  }

  /**
   * Saving a label again whose command is already stored (same name, image, version): the stored command
   * takes the label's content, wrappers keeping their ids (and enablement) by name — XNAT keeps the old
   * command silently. A label that drops wrappers is refused, saying why: their configurations would go.
   */
  async function resave(stored: Command, fromLabel: Command, image: string): Promise<Command> {
    if (!catalog.update || sameContent(stored, fromLabel)) return stored;
    const names = new Set(fromLabel.xnat.map((w) => w.name));
    const dropped = stored.xnat.filter((w) => !names.has(w.name)).map((w) => w.name);
    if (dropped.length > 0) {
      throw new XcsError('xapi.image.resave-drops-wrappers', `The label of ${image} no longer has wrapper(s) ${dropped.join(', ')} `
        + `of the stored command "${stored.name}" ${stored.version ?? ''} (id ${stored.id}); saving it would delete them and their settings`, {
        status: 409, path: image,
        hint: `Give the label's command a new "version" (both are kept), or delete the stored one first (DELETE /xapi/commands/${stored.id}).`,
      });
    }
    return (await catalog.update(stored.id!, fromLabel)).command;
  }

  app.get<{ Querystring: { installed?: string } }>('/xapi/docker/images', {
    schema: { tags, summary: 'Images on the server, plus placeholders for command images not installed',
      querystring: { type: 'object', properties: { installed: { type: 'string', enum: ['true', 'false'] } } } },
  }, async (request) => {
    const images = await installedImages(backend()).catch((e: unknown) => { throw imageError(e, 'images'); });
    if (request.query.installed === 'true') return images;
    const known = new Set(images.flatMap((i) => i.tags));
    const missing = [...new Set((await catalog.list()).map((c) => tagged(c.image)))].filter((t) => !known.has(t));
    return [...images, ...missing.map((t) => ({ tags: [t], labels: {}, installed: false }))];
  });

  app.get('/xapi/docker/image-summaries', { schema: { tags, summary: 'Images with their registered commands' } }, async () => {
    const server = settings.server().name;
    const commands = await catalog.list();
    const images = await installedImages(backend()).catch((e: unknown) => { throw imageError(e, 'images'); });
    const used = new Set<number>();
    const out: Array<{ 'image-id'?: string; names: string[]; server: string | null; commands: Command[] }> = [];
    for (const i of images) {
      const cs = commandsOfImage(commands, { id: i['image-id']!, tags: i.tags });
      cs.forEach((c) => used.add(c.id));
      out.push({ 'image-id': i['image-id'], names: i.tags, server, commands: cs.map(maskCommand) });
    }
    const absent = new Map<string, Command[]>();
    for (const c of commands) if (!used.has(c.id)) absent.set(tagged(c.image), [...(absent.get(tagged(c.image)) ?? []), c]);
    for (const [name, cs] of absent) out.push({ names: [name], server: null, commands: cs.map(maskCommand) });
    return out;
  });

  app.get<{ Params: { '*': string } }>('/xapi/docker/images/*', { schema: { tags, summary: 'Inspect one image (id or name:tag)' } },
    async (request) => {
      const ref = request.params['*'];
      if (ref === 'save') {
        throw new XcsError('xapi.image.save-is-post', 'To save commands from image labels POST to /images/save.', { status: 400, path: ref });
      }
      requireReference(ref);
      const b = await backend().catch((e: unknown) => { throw imageError(e, ref); });
      return imageJson(await requireImage(b, ref));
    });

  app.delete<{ Params: { '*': string }; Querystring: { force?: string } }>('/xapi/docker/images/*', {
    schema: { tags, summary: 'Remove an image and the commands registered for it (container managers)',
      querystring: { type: 'object', properties: { force: { type: 'string', enum: ['true', 'false'] } } } },
  }, async (request, reply) => {
    await access.requireContainerManager(request);
    const ref = requireReference(request.params['*']);
    const b = await backend().catch((e: unknown) => { throw imageError(e, ref); });
    const info = await requireImage(b, ref);
    await operationOf(b, 'removeImage')(ref, { force: request.query.force === 'true' }).catch((e: unknown) => { throw imageError(e, ref); });
    // XNAT deletes the commands of the image id, whichever tag was named.
    for (const c of commandsOfImage(await catalog.list(), { id: info.id, tags: info.tags })) await catalog.delete(c.id);
    return reply.code(204).send();
  });

  app.post<{ Querystring: { image?: string } }>('/xapi/docker/images/save', {
    schema: { tags, summary: "Register the commands of a local image's org.nrg.commands label (container managers)",
      querystring: { type: 'object', properties: { image: { type: 'string' } }, required: ['image'] } },
  }, async (request) => {
    await access.requireContainerManager(request);
    return saveCommands(requireReference(request.query.image ?? ''));
  });

  async function pull(image: string, hub: Hub, saveCmds: boolean, creds: { username?: string; password?: string }): Promise<unknown> {
    if (image.trim() === '') throw new XcsError('xapi.pull.no-image', 'Say which image to pull: ?image=repo/name:tag', { status: 400, path: 'image' });
    if (image.startsWith('sha256:')) {
      throw new XcsError('xapi.pull.by-id', 'Cannot pull an image by sha256 ID. Use image label instead.', { status: 400, path: image });
    }
    requireReference(image);
    const registry = new URL(hub.url).host;
    const isDockerHub = /(^|\.)docker\.io$/.test(registry);
    const ref = isDockerHub || image.startsWith(`${registry}/`) ? tagged(image) : `${registry}/${tagged(image)}`;
    const b = await backend().catch((e: unknown) => { throw imageError(e, image); });
    const pullImage = operationOf(b, 'pullImage');
    try {
      const auth = creds.username ?? hub.username ? { username: creds.username ?? hub.username ?? '', password: creds.password ?? hub.password ?? '', serverAddress: hub.url } : undefined;
      await pullImage(ref, auth ? { auth } : {});
    } catch (e) {
      const reason = isXcsError(e) && e.code === BackendErrorCode.pullFailed ? messageOf(e).replace(`Could not pull image ${ref}: `, '') : messageOf(e);
      throw new XcsError('xapi.pull.failed', `Could not pull image ${ref} from ${hub.name} (${hub.url}): ${reason}`, {
        status: 502, path: image,
        hint: 'no image registry may be reachable from this machine: load the image into the engine instead (docker load / docker build), then POST /xapi/docker/images/save?image=' + tagged(image) });
    }
    const info = await requireImage(b, ref);
    if (saveCmds && info.labels['org.nrg.commands'] !== undefined) return saveCommands(ref);
    return imageJson(info);
  }

  const pullQuery = { type: 'object', properties: { image: { type: 'string' }, 'save-commands': { type: 'string' },
    username: { type: 'string' }, password: { type: 'string' } }, required: ['image'] };
  type PullQuery = { image: string; 'save-commands'?: string; username?: string; password?: string };
  app.post<{ Querystring: PullQuery }>('/xapi/docker/pull', { schema: { tags, summary: 'Pull from the default image host', querystring: pullQuery } },
    async (request) => {
      await access.requireContainerManager(request);
      const q = request.query;
      return pull(q.image, settings.defaultHub(), q['save-commands'] !== 'false', q);
    });
  app.post<{ Params: { hub: string }; Querystring: PullQuery }>('/xapi/docker/hubs/:hub/pull', {
    schema: { tags, summary: 'Pull from an image host', querystring: pullQuery,
      params: { type: 'object', properties: { hub: { type: 'string' } }, required: ['hub'] } },
  }, async (request) => {
    await access.requireContainerManager(request);
    const q = request.query;
    return pull(q.image, settings.hub(request.params.hub), q['save-commands'] !== 'false', q);
  });
}

/** Whether a stored command says what a label's command says (ids aside). */
function sameContent(stored: Command, fromLabel: Command): boolean {
  const strip = (c: Command) => JSON.stringify({ ...c, id: undefined, xnat: c.xnat.map((w) => ({ ...w, id: undefined })) });
  return strip(stored) === strip(fromLabel);
}

/** The configured container server as the image engine of `pull-images-on-xnat-init` (`pull-on-init.ts`). */
export function backendImageEngine(backend: ContainerBackend): ImageEngine {
  return {
    async has(image) {
      return (await backend.inspectImage(image).catch(() => null)) !== null;
    },
    async pull(image) {
      await operationOf(backend, 'pullImage')(image);
    },
  };
}
