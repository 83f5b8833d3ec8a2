/**
 * Automation endpoints (reference §5.6, §7.1, §7.2): command event mappings (and their conversion into Event
 * Service subscriptions, whose own routes are in `subscriptions.ts`) and orchestrations.
 * Our fix: every change needs the right role — a mapping or orchestration selection of a project needs an
 * owner of that project (or a container manager); site-wide mappings and orchestration definitions need a
 * container manager (XNAT lets any signed-in user make them). Reading follows project read access.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { User } from '../../archive/users.ts';
import { EVENT_TYPES, type AutomationStore, type CommandEventMapping, type EventType, type Orchestration } from '../../automation/store.ts';
import type { AccessControl } from './access.ts';
import { findWrapperById, requireWrapperByName, type CommandCatalog, type WrapperRef } from '../../runtime/index.ts';
import { subscriptionOfMapping } from '../../automation/subscription-model.ts';
import { presentSubscription } from './subscriptions.ts';

export interface AutomationRouteDeps {
  store: AutomationStore;
  catalog: CommandCatalog;
  access: AccessControl;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function idParam(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new XcsError(`xapi.${what}.bad-id`, `"${s}" is not a ${what} id`, { status: 400, path: s });
  return Number(s);
}

const idSchema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

export function registerAutomationRoutes(app: FastifyInstance, { store, catalog, access }: AutomationRouteDeps): void {
  const mtags = ['automation'];

  async function canReadMapping(user: User | null, m: CommandEventMapping): Promise<boolean> {
    if (await access.isContainerManager(user)) return true;
    return m.project ? access.can(user, 'read', m.project) : false;
  }
  /** Owners of the mapping's project, or container managers for site-wide mappings. */
  async function requireManage(request: FastifyRequest, project: string | null): Promise<User> {
    if (project) return access.requireOwnerOrManager(request, project);
    return access.requireContainerManager(request);
  }
  async function readable(request: FastifyRequest, id: number): Promise<CommandEventMapping> {
    const m = await store.mapping(id).catch(() => null);
    // Same answer for a mapping that does not exist and one the caller may not see.
    if (!m || !(await canReadMapping(request.user, m))) {
      throw new XcsError('xapi.mapping.not-found', `No command event mapping ${id}`, { status: 404, path: String(id) });
    }
    return m;
  }

  app.get('/xapi/commandeventmapping', { schema: { tags: mtags, summary: 'Command event mappings the caller can see' } }, async (request) => {
    const out: CommandEventMapping[] = [];
    for (const m of await store.mappings()) if (await canReadMapping(request.user, m)) out.push(m);
    return out;
  });
  app.post('/xapi/commandeventmapping', {
    schema: { tags: mtags, summary: 'Launch a wrapper when a session or scan is archived (project owners, container managers)', body: { type: 'object' } },
  }, async (request, reply) => {
    const body = request.body;
    if (!isRecord(body)) throw new XcsError('xapi.mapping.invalid', 'the body must be a command event mapping object', { status: 400, path: '' });
    const eventType = typeof body['event-type'] === 'string' ? body['event-type'].trim() : '';
    if (eventType === '') throw new XcsError('xapi.mapping.no-event', 'Event type must be defined and cannot be empty.', { status: 400, path: '/event-type' });
    if (!(EVENT_TYPES as readonly string[]).includes(eventType)) {
      throw new XcsError('xapi.mapping.event', `Unknown event type "${eventType}"; known: ${EVENT_TYPES.join(', ')}`, { status: 400, path: '/event-type' });
    }
    const project = typeof body.project === 'string' && body.project.trim() !== '' ? body.project.trim() : null;
    const user = await requireManage(request, project);
    const commandId = Number(body['command-id']);
    if (!Number.isInteger(commandId) || commandId <= 0) {
      throw new XcsError('xapi.mapping.command', '"command-id" must be the id of a registered command', { status: 400, path: '/command-id' });
    }
    const wrapperName = typeof body['xnat-command-wrapper'] === 'string' ? body['xnat-command-wrapper'] : '';
    await requireWrapperByName(catalog, commandId, wrapperName);
    const xsiType = typeof body['xsi-type'] === 'string' && body['xsi-type'].trim() !== '' ? body['xsi-type'].trim() : null;
    const m = await store.addMapping({
      'event-type': eventType as EventType, 'command-id': commandId, 'xnat-command-wrapper': wrapperName, project,
      'subscription-user-name': user.login, enabled: body.enabled !== false && body.enabled !== 'false', 'xsi-type': xsiType,
      timestamp: new Date().toISOString(),
    });
    return reply.code(201).send(m);
  });
  app.get<{ Params: { id: string } }>('/xapi/commandeventmapping/:id', { schema: { tags: mtags, params: idSchema } },
    async (request) => readable(request, idParam(request.params.id, 'mapping')));
  app.delete<{ Params: { id: string } }>('/xapi/commandeventmapping/:id', { schema: { tags: mtags, params: idSchema } }, async (request, reply) => {
    const m = await readable(request, idParam(request.params.id, 'mapping'));
    await requireManage(request, m.project);
    await store.deleteMapping(m.id);
    return reply.code(204).send();
  });
  for (const [verb, on] of [['enable', true], ['disable', false]] as const) {
    app.put<{ Params: { id: string } }>(`/xapi/commandeventmapping/:id/${verb}`, { schema: { tags: mtags, params: idSchema } }, async (request) => {
      const m = await readable(request, idParam(request.params.id, 'mapping'));
      await requireManage(request, m.project);
      await store.updateMapping({ ...m, enabled: on });
      return store.mapping(m.id);
    });
  }

  /*
   * Conversion (§5.6) into an inactive Event Service subscription, then the mapping is disabled. Converting
   * again answers the subscription made the first time (201 with the same id, nothing new stored), so a client
   * that lost the answer can simply retry; if that subscription was deleted since, a new one is made.
   */
  app.post<{ Params: { id: string } }>('/xapi/commandeventmapping/:id/convert', {
    schema: { tags: mtags, params: idSchema, summary: 'Convert into an inactive Event Service subscription and disable the mapping (project owners, container managers)' },
  }, async (request, reply) => {
    const m = await readable(request, idParam(request.params.id, 'mapping'));
    await requireManage(request, m.project);
    let found: WrapperRef;
    try {
      found = await requireWrapperByName(catalog, m['command-id'], m['xnat-command-wrapper']);
    } catch (e) {
      throw new XcsError('xapi.mapping.not-convertible', `Command event mapping ${m.id} cannot be converted: ${(e as Error).message}`,
        { status: 400, path: '/xnat-command-wrapper' });
    }
    const { subscription } = await store.addConverted(m.id, subscriptionOfMapping(m, found.wrapper));
    await store.updateMapping({ ...m, enabled: false });
    return reply.code(201).send(await presentSubscription(catalog, subscription));
  });

  const otags = ['orchestration'];
  async function validate(o: Omit<Orchestration, 'id'>): Promise<void> {
    const errors: string[] = [];
    if (o.wrapperIds.length < 2) errors.push('Orchestration of fewer than two wrappers is not allowed');
    const contexts: string[][] = [];
    for (const id of o.wrapperIds) {
      const w = await findWrapperById(catalog, id);
      if (!w) { errors.push(`No wrapper with id ${id}`); continue; }
      if (!(await catalog.siteEnabled(id))) errors.push(`Wrapper ${id} not enabled for site`);
      contexts.push(w.wrapper.contexts);
    }
    if (contexts.length > 1 && !contexts[0].some((c) => contexts.every((cs) => cs.includes(c)))) errors.push('Wrappers must all have a common context');
    if (o.name.trim() === '') errors.push('Orchestration name cannot be blank');
    if (errors.length > 0) {
      throw new XcsError('xapi.orchestration.invalid', errors.join('\n'), { status: 400, path: '/wrapperIds',
        details: errors.map((message) => ({ code: 'xapi.orchestration.invalid', message })) });
    }
  }

  app.post('/xapi/orchestration', { schema: { tags: otags, summary: 'Create or update an orchestration (container managers)', body: { type: 'object' } } },
    async (request) => {
      await access.requireContainerManager(request);
      const b = request.body;
      if (!isRecord(b)) throw new XcsError('xapi.orchestration.invalid', 'the body must be an orchestration object', { status: 400, path: '' });
      const ids = Array.isArray(b.wrapperIds) ? b.wrapperIds.map(Number) : [];
      if (ids.some((n) => !Number.isInteger(n) || n <= 0)) {
        throw new XcsError('xapi.orchestration.invalid', '"wrapperIds" must be a list of wrapper ids', { status: 400, path: '/wrapperIds' });
      }
      const o = { id: typeof b.id === 'number' && b.id > 0 ? b.id : undefined, name: typeof b.name === 'string' ? b.name : '',
        wrapperIds: ids, enabled: true, haltOnCommandFailure: b.haltOnCommandFailure !== false };
      await validate(o);
      return store.saveOrchestration(o);
    });
  app.get('/xapi/orchestration', { schema: { tags: otags } }, async (request) => {
    await access.requireContainerManager(request);
    return store.orchestrations();
  });
  const pschema = { type: 'object', properties: { project: { type: 'string' } }, required: ['project'] };
  app.get<{ Params: { project: string } }>('/xapi/orchestration/project/:project', { schema: { tags: otags, params: pschema } }, async (request) => {
    await access.requireProject(request, request.params.project, 'edit');
    const available: Orchestration[] = [];
    for (const o of await store.orchestrations()) {
      if (!o.enabled) continue;
      let all = true;
      for (const id of o.wrapperIds) all = all && (await catalog.siteEnabled(id)) && (await catalog.projectEnabled(id, request.params.project));
      if (all) available.push(o);
    }
    return { availableOrchestrations: available, selectedOrchestrationId: await store.selected(request.params.project) };
  });
  app.put<{ Params: { project: string }; Querystring: { orchestrationId: string } }>('/xapi/orchestration/project/:project', {
    schema: { tags: otags, params: pschema, querystring: { type: 'object', properties: { orchestrationId: { type: 'string' } }, required: ['orchestrationId'] } },
  }, async (request) => {
    await access.requireOwnerOrManager(request, request.params.project);
    const o = await store.orchestration(idParam(request.query.orchestrationId, 'orchestration'));
    if (!o.enabled) {
      throw new XcsError('xapi.orchestration.disabled', `Orchestration ${o.name} (${o.id}) cannot be added to a project because it is not enabled.`,
        { status: 400, path: String(o.id) });
    }
    for (const id of o.wrapperIds) await catalog.setProjectEnabled(id, request.params.project, true);
    await store.select(request.params.project, o.id);
    return o;
  });
  app.delete<{ Params: { project: string } }>('/xapi/orchestration/project/:project', { schema: { tags: otags, params: pschema } },
    async (request, reply) => {
      await access.requireOwnerOrManager(request, request.params.project);
      await store.select(request.params.project, null);
      return reply.code(204).send();
    });
  app.delete<{ Params: { id: string } }>('/xapi/orchestration/:id', { schema: { tags: otags, params: idSchema } }, async (request, reply) => {
    await access.requireContainerManager(request);
    const o = await store.orchestration(idParam(request.params.id, 'orchestration'));
    await store.deleteOrchestration(o.id);
    return reply.code(204).send();
  });
  app.put<{ Params: { id: string; flag: string } }>('/xapi/orchestration/:id/enabled/:flag', {
    schema: { tags: otags, params: { type: 'object', properties: { id: { type: 'string' }, flag: { type: 'string', enum: ['true', 'false'] } }, required: ['id', 'flag'] } },
  }, async (request) => {
    await access.requireContainerManager(request);
    const o = await store.orchestration(idParam(request.params.id, 'orchestration'));
    const enabled = request.params.flag === 'true';
    if (enabled) for (const id of o.wrapperIds) await catalog.setSiteEnabled(id, true);
    else await store.clearSelections(o.id);
    return store.saveOrchestration({ ...o, enabled });
  });
}
