/**
 * Commands and wrappers (reference §5.1, §1.10, §6.4): register, list with filters, get, update (whole
 * command re-validated, wrappers matched by name), delete, and add/update/delete single wrappers.
 *
 * Every write needs a container manager and a JSON body (415 otherwise). A body that is not a valid command
 * is refused with every message and its JSON path (400) and nothing is stored — also when adding a wrapper,
 * which XNAT stores before validating. Deleting a wrapper (alone, by a command update or with its command)
 * removes it from orchestrations: an orchestration left empty is deleted, any other one disabled.
 * Visibility (`visibility.ts`): container managers see every command; others see public and protected ones,
 * and a private one only when one of its wrappers is enabled in a project they can read. An invisible command
 * answers 404 (XNAT: an empty 200).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { keepMaskedDefaults, maskCommand, maskWrapper, parseCommandValue, unmaskCommandBody, VISIBILITIES, type Command, type Diagnostic } from '../../command/index.ts';
import { XcsError } from '../../core/errors.ts';
import type { AutomationStore } from '../../automation/store.ts';
import type { AccessControl } from './access.ts';
import { intParam, requireJson, userOf, type RegistryContext } from './context.ts';
import { commandVisible, enabledProjectsOf } from './visibility.ts';
import { registerCommandValidateRoute } from './commands-validate.ts';

export interface CommandAdminDeps {
  ctx: RegistryContext;
  access: AccessControl;
  /** Orchestrations to update when wrappers are deleted; absent when automation is not installed. */
  automation?: AutomationStore;
}

interface CommandQuery {
  name?: string;
  version?: string;
  image?: string;
  restrictToEnabledForSite?: string;
}


function invalid(errors: Diagnostic[], rebase: (path: string) => string = (p) => p): XcsError {
  const details = errors.map((e) => ({ code: e.code, message: e.message, path: rebase(e.path) }));
  return new XcsError('command.invalid', `Invalid command:\n${details.map((e) => `\t${e.path || '/'}: ${e.message}`).join('\n')}`,
    { status: 400, path: details[0]?.path ?? '', details });
}

/** Validates one command object as POSTed (`?image=` overrides the image); throws every error. */
function validated(body: unknown, image: string | undefined, rebase?: (path: string) => string): Command {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new XcsError('command.invalid', 'Invalid command:\n\tthe body must be one command object {...}', { status: 400, path: '' });
  }
  const parsed = parseCommandValue(body, { mode: 'rest', image });
  const one = parsed.commands[0];
  if (!one?.command) throw invalid(one?.errors.length ? one.errors : parsed.errors, rebase);
  return one.command;
}

function isWrapperBody(body: unknown): body is Record<string, unknown> {
  return body !== null && typeof body === 'object' && !Array.isArray(body);
}

export function registerCommandAdminRoutes(app: FastifyInstance, { ctx, access, automation }: CommandAdminDeps): void {
  const tags = ['commands'];
  const store = ctx.commands;
  const idParams = (keys: string[]) => ({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'string' }])), required: keys });

  const manager = async (request: FastifyRequest): Promise<void> => { await access.requireContainerManager(request); };

  async function visible(request: FastifyRequest, command: Command): Promise<boolean> {
    return commandVisible(access, projectsEnabled, userOf(request), command);
  }

  const projectsEnabled = enabledProjectsOf(ctx);

  /** §1.10: a deleted wrapper leaves every orchestration; an emptied one is deleted, others disabled. */
  async function dropFromOrchestrations(wrapperIds: readonly number[]): Promise<void> {
    if (!automation || wrapperIds.length === 0) return;
    const gone = new Set(wrapperIds);
    for (const o of await automation.orchestrations()) {
      if (!o.wrapperIds.some((id) => gone.has(id))) continue;
      const rest = o.wrapperIds.filter((id) => !gone.has(id));
      if (rest.length === 0) await automation.deleteOrchestration(o.id);
      else {
        await automation.saveOrchestration({ ...o, wrapperIds: rest, enabled: false });
        await automation.clearSelections(o.id);
      }
    }
  }

  function requireCommand(idText: string): Command {
    return store.require(intParam(idText, 'command id'));
  }

  app.post<{ Querystring: { image?: string } }>('/xapi/commands', {
    schema: { tags, summary: 'Register a command (container managers); answers its id', querystring: { type: 'object', properties: { image: { type: 'string' } } } },
  }, async (request, reply) => {
    await manager(request);
    requireJson(request);
    const stored = store.register(validated(request.body, request.query.image));
    return reply.code(201).send(stored.id);
  });

  registerCommandValidateRoute(app);

  app.get<{ Querystring: CommandQuery }>('/xapi/commands', {
    schema: {
      tags, summary: 'Commands the caller can see, filtered by name, version, image',
      querystring: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, image: { type: 'string' }, restrictToEnabledForSite: { type: 'string' } } },
    },
  }, async (request) => {
    const q = request.query;
    if (q.version !== undefined && q.name === undefined) {
      throw new XcsError('command.query', 'If "version" is specified, must specify "name" as well.', { status: 400, path: 'version' });
    }
    const out: Command[] = [];
    for (const c of store.list()) {
      if (q.name !== undefined && c.name !== q.name) continue;
      if (q.version !== undefined && (c.version ?? '') !== q.version) continue;
      if (q.image !== undefined && c.image !== q.image) continue;
      if (!(await visible(request, c))) continue;
      if (q.restrictToEnabledForSite === 'true') {
        const wrappers = c.xnat.filter((w) => store.enabledForSite(w.id));
        if (wrappers.length === 0) continue;
        out.push({ ...c, xnat: wrappers });
      } else out.push(c);
    }
    return out.map(maskCommand);
  });

  app.get<{ Params: { id: string } }>('/xapi/commands/:id', { schema: { tags, params: idParams(['id']) } }, async (request) => {
    const command = requireCommand(request.params.id);
    if (!(await visible(request, command))) throw new XcsError('command.not-found', `No command with id ${command.id}`, { status: 404, path: String(command.id) });
    return maskCommand(command);
  });

  app.post<{ Params: { id: string }; Querystring: { image?: string } }>('/xapi/commands/:id', {
    schema: { tags, summary: 'Replace a command; wrappers keep their ids by name (container managers)', params: idParams(['id']) },
  }, async (request) => {
    await manager(request);
    requireJson(request);
    const old = requireCommand(request.params.id);
    // A sensitive default posted back as read (the mask) keeps the stored value; any other value replaces it.
    const { command, removedWrappers } = store.update(old.id, keepMaskedDefaults(validated(unmaskCommandBody(request.body, old), request.query.image), old));
    await dropFromOrchestrations(removedWrappers);
    return maskCommand(command);
  });

  app.delete<{ Params: { id: string } }>('/xapi/commands/:id', { schema: { tags, params: idParams(['id']) } }, async (request, reply) => {
    await manager(request);
    const old = requireCommand(request.params.id);
    await dropFromOrchestrations(store.delete(old.id));
    return reply.code(204).send();
  });

  // XNAT answers a missing id with 400; an unknown id is a 404 everywhere else in /xapi, so here too.
  app.post<{ Params: { id: string; visibility: string } }>('/xapi/command/:id/visibility/:visibility', {
    schema: { tags, summary: 'Set who sees a command: public, protected or private (container managers)', params: idParams(['id', 'visibility']) },
  }, async (request) => {
    await manager(request);
    const id = intParam(request.params.id, 'command id');
    const old = store.get(id);
    if (!old) throw new XcsError('command.not-found', `The command identified by id ${id} does not exist.`, { status: 404, path: String(id) });
    const visibility = request.params.visibility;
    if (!(VISIBILITIES as readonly string[]).includes(visibility)) {
      throw new XcsError('command.visibility.unknown', `[visibility "${visibility}" is unknown; use one of ${VISIBILITIES.join(', ')} (lower case)]`,
        { status: 400, path: '/visibility' });
    }
    return maskCommand(store.update(old.id, { ...old, visibility: visibility as Command['visibility'] }).command);
  });

  /** The stored command with `xnat[index]` replaced by (or, at the end, extended with) the posted wrapper. */
  function withWrapper(command: Command, body: unknown, index: number): { candidate: Command; rebase: (p: string) => string } {
    if (!isWrapperBody(body)) {
      throw new XcsError('command.wrapper.missing', 'The body of the request must be a CommandWrapper.', { status: 400, path: '' });
    }
    const xnat: unknown[] = [...command.xnat];
    xnat[index] = { ...body, id: 0 };
    const prefix = `/xnat/${index}`;
    return {
      candidate: { ...command, xnat } as unknown as Command,
      // Errors inside the posted wrapper are reported against the body; the rest against the command.
      rebase: (p) => (p === prefix || p.startsWith(`${prefix}/`) ? p.slice(prefix.length) || '' : p),
    };
  }

  app.post<{ Params: { id: string } }>('/xapi/commands/:id/wrappers', {
    schema: { tags, summary: 'Add a wrapper to a command; answers its id (container managers)', params: idParams(['id']) },
  }, async (request, reply) => {
    await manager(request);
    requireJson(request);
    const old = requireCommand(request.params.id);
    const { candidate, rebase } = withWrapper(old, request.body, old.xnat.length);
    const { command } = store.update(old.id, keepMaskedDefaults(validated(candidate, undefined, rebase), old));
    return reply.code(201).send(command.xnat[command.xnat.length - 1].id);
  });

  app.post<{ Params: { id: string; wrapperId: string } }>('/xapi/commands/:id/wrappers/:wrapperId', {
    schema: { tags, summary: 'Replace a wrapper; it keeps its id (container managers)', params: idParams(['id', 'wrapperId']) },
  }, async (request) => {
    await manager(request);
    requireJson(request);
    const old = requireCommand(request.params.id);
    const wrapperId = intParam(request.params.wrapperId, 'wrapper id');
    const index = old.xnat.findIndex((w) => w.id === wrapperId);
    if (index < 0) {
      throw new XcsError('wrapper.not-found', `Command ${old.id} has no wrapper with id ${wrapperId}`, { status: 404, path: String(wrapperId) });
    }
    const { candidate, rebase } = withWrapper(old, request.body, index);
    const command = keepMaskedDefaults(validated(unmaskCommandBody(candidate, old), undefined, rebase), old);
    const { command: stored } = store.update(old.id, command, { wrapperId, name: command.xnat[index].name });
    return maskWrapper(stored, stored.xnat[index]);
  });

  const deleteWrapper = (commandScoped: boolean) => async (request: FastifyRequest<{ Params: { id?: string; wrapperId: string } }>,
    reply: import('fastify').FastifyReply) => {
    await manager(request);
    const wrapperId = intParam(request.params.wrapperId, 'wrapper id');
    const owner = commandScoped ? requireCommand(request.params.id ?? '') : store.commandOfWrapper(wrapperId);
    if (!owner.xnat.some((w) => w.id === wrapperId)) {
      throw new XcsError('wrapper.not-found', `Command ${owner.id} has no wrapper with id ${wrapperId}`, { status: 404, path: String(wrapperId) });
    }
    // Dropping a wrapper cannot make a valid command invalid, so the rest is stored as it is.
    const { removedWrappers } = store.update(owner.id, { ...owner, xnat: owner.xnat.filter((w) => w.id !== wrapperId) });
    await dropFromOrchestrations(removedWrappers);
    return reply.code(204).send();
  };
  app.delete('/xapi/commands/:id/wrappers/:wrapperId', { schema: { tags, params: idParams(['id', 'wrapperId']) } }, deleteWrapper(true));
  app.delete('/xapi/wrappers/:wrapperId', { schema: { tags, params: idParams(['wrapperId']) } }, deleteWrapper(false));
}
