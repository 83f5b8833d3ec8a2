/**
 * XNAT's Event Service subscription endpoints (`/xapi/events/...`) for container actions (reference §7.3):
 * list, read, create, update, activate, deactivate, delete, in XNAT's JSON shape (`subscription-model.ts`).
 *
 * Access (XNAT lets any user with project access manage subscriptions; we apply the automation rule): a
 * subscription is seen by container managers and by users who can read every project of its filter (a
 * site-wide one, without projects, only by managers); it is changed by owners of every project of its filter
 * or by container managers (site-wide: managers only). Others get the 404 of a missing subscription, readers
 * lacking ownership 403. Only container managers may set `act-as-event-user`: it runs a wrapper with the
 * credentials of whoever triggered the event.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { Archive } from '../../archive/types.ts';
import type { User } from '../../archive/users.ts';
import type { AutomationStore } from '../../automation/store.ts';
import { readSubscription, requestedProjects, wrapperIdOf, type StoredSubscription, type Subscription } from '../../automation/subscription-model.ts';
import type { AccessControl } from './access.ts';
import { findWrapperById, type CommandCatalog } from '../../runtime/index.ts';

export interface SubscriptionRouteDeps {
  store: AutomationStore;
  catalog: CommandCatalog;
  access: AccessControl;
  archive: Archive;
}

/** Adds XNAT's computed `valid` / `valid-message`: whether the action could launch now, and if not why. */
export async function presentSubscription(catalog: CommandCatalog, s: StoredSubscription): Promise<Subscription> {
  const problems: string[] = [];
  const wid = wrapperIdOf(s['action-key']);
  const found = wid === null ? undefined : await findWrapperById(catalog, wid);
  if (!found) problems.push(`Action ${s['action-key']} names no registered wrapper`);
  else {
    const label = `Wrapper ${found.wrapper.id} (${found.wrapper.name})`;
    if (!(await catalog.siteEnabled(found.wrapper.id))) problems.push(`${label} is not enabled for the site`);
    for (const p of s['event-filter']['project-ids']) {
      if (!(await catalog.projectEnabled(found.wrapper.id, p))) problems.push(`${label} is not enabled in project ${p}`);
    }
  }
  return { id: s.id, name: s.name, active: s.active, 'action-key': s['action-key'], attributes: s.attributes,
    'event-filter': s['event-filter'], 'act-as-event-user': s['act-as-event-user'], 'subscription-owner': s['subscription-owner'],
    valid: problems.length === 0, 'valid-message': problems.join('; ') };
}

function notFound(id: number | string): XcsError {
  return new XcsError('xapi.subscription.not-found', `No event subscription ${id}`, { status: 404, path: String(id) });
}

const idSchema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };

export function registerSubscriptionRoutes(app: FastifyInstance, { store, catalog, access, archive }: SubscriptionRouteDeps): void {
  const tags = ['event subscriptions'];

  async function canRead(user: User | null, s: StoredSubscription): Promise<boolean> {
    if (await access.isContainerManager(user)) return true;
    const projects = s['event-filter']['project-ids'];
    if (projects.length === 0) return false;
    for (const p of projects) if (!(await access.can(user, 'read', p))) return false;
    return true;
  }
  /** Owners of every project, or container managers (who alone manage site-wide subscriptions). */
  async function requireManage(request: FastifyRequest, projects: string[]): Promise<User> {
    if (projects.length === 0) return access.requireContainerManager(request);
    let user: User | null = null;
    for (const p of projects) user = await access.requireOwnerOrManager(request, p);
    return user!;
  }
  async function readable(request: FastifyRequest, idText: string): Promise<StoredSubscription> {
    access.requireUser(request);
    const s = /^\d+$/.test(idText) ? await store.subscription(Number(idText)) : null;
    // The same answer for a subscription that does not exist and one the caller may not see.
    if (!s || !(await canRead(request.user, s))) throw notFound(idText);
    return s;
  }
  /** Checks what only a container manager may ask for, and that the filter's projects exist. */
  async function checkRequest(user: User, s: Omit<StoredSubscription, 'id'>): Promise<void> {
    const manager = await access.isContainerManager(user);
    if (s['act-as-event-user'] && !manager) {
      throw new XcsError('auth.forbidden', 'only container managers may make a subscription act as the event user',
        { status: 403, path: '/act-as-event-user' });
    }
    const projects = s['event-filter']['project-ids'];
    for (const [i, p] of projects.entries()) {
      if (!(await archive.get({ kind: 'project', project: p }))) {
        throw new XcsError('xapi.subscription.invalid', `No project ${p}`, { status: 400, path: `/event-filter/project-ids/${i}` });
      }
    }
  }
  const wrapperExists = async (id: number): Promise<boolean> => (await findWrapperById(catalog, id)) !== undefined;

  app.get('/xapi/events/subscriptions', { schema: { tags, summary: 'Event subscriptions the caller can see' } }, async (request) => {
    access.requireUser(request);
    const out: Subscription[] = [];
    for (const s of await store.subscriptions()) if (await canRead(request.user, s)) out.push(await presentSubscription(catalog, s));
    return out;
  });
  app.get<{ Params: { id: string } }>('/xapi/events/subscription/:id', { schema: { tags, params: idSchema } },
    async (request) => presentSubscription(catalog, await readable(request, request.params.id)));
  app.post('/xapi/events/subscription', {
    schema: { tags, summary: 'Create an event subscription of a container action (owners of its projects, container managers)', body: { type: 'object' } },
  }, async (request, reply) => {
    const user = await requireManage(request, requestedProjects(request.body));
    const s = await readSubscription(request.body, user.login, wrapperExists);
    await checkRequest(user, s);
    return reply.code(201).send(await presentSubscription(catalog, await store.addSubscription(s)));
  });
  app.put<{ Params: { id: string } }>('/xapi/events/subscription/:id', { schema: { tags, params: idSchema, body: { type: 'object' } } },
    async (request) => {
      const old = await readable(request, request.params.id);
      await requireManage(request, old['event-filter']['project-ids']);
      const user = await requireManage(request, requestedProjects(request.body, old['event-filter']['project-ids']));
      const { id, ...base } = old;
      const next = await readSubscription(request.body, user.login, wrapperExists, base);
      // Keeping an existing act-as-event-user flag is not asking for it.
      await checkRequest(user, { ...next, 'act-as-event-user': next['act-as-event-user'] && !old['act-as-event-user'] });
      await store.updateSubscription({ ...next, id });
      return presentSubscription(catalog, (await store.subscription(id))!);
    });
  for (const [verb, active] of [['activate', true], ['deactivate', false]] as const) {
    app.post<{ Params: { id: string } }>(`/xapi/events/subscription/:id/${verb}`, { schema: { tags, params: idSchema } }, async (request) => {
      const s = await readable(request, request.params.id);
      await requireManage(request, s['event-filter']['project-ids']);
      await store.updateSubscription({ ...s, active });
      return presentSubscription(catalog, (await store.subscription(s.id))!);
    });
  }
  app.delete<{ Params: { id: string } }>('/xapi/events/subscription/:id', { schema: { tags, params: idSchema } }, async (request, reply) => {
    const s = await readable(request, request.params.id);
    await requireManage(request, s['event-filter']['project-ids']);
    await store.deleteSubscription(s.id);
    return reply.code(204).send();
  });
}
