/**
 * `/xapi/notifications/webhooks` (XCS addition): register, list and remove webhooks, and read their delivery log.
 * Site administrators may register site-wide webhooks (every run) and any project's; a project owner only
 * webhooks of their own project, and sees and removes only the webhooks they registered. The secret is write-only.
 * Others get 403 (or 404 for a webhook that is not theirs, as if it did not exist). A URL whose host is loopback,
 * private, link-local or reserved is refused unless the server setting `webhook-allowed-hosts` lists it.
 */
import type { FastifyInstance } from 'fastify';
import type { User } from '../../archive/users.ts';
import { XcsError } from '../../core/errors.ts';
import { parseWebhook, type Webhook, type WebhookStore } from '../../notifications/webhooks.ts';
import { checkWebhookUrl, type WebhookHostPolicy } from '../../notifications/webhook-guard.ts';
import type { AccessControl } from './access.ts';
import { intParam, requireJson, userOf } from './context.ts';

function json(h: Webhook): Record<string, unknown> {
  return { id: h.id, url: h.url, events: h.events, project: h.project, owner: h.owner, created: new Date(h.createdAt).toISOString(), secret: '*****' };
}

export function registerWebhookRoutes(app: FastifyInstance, store: WebhookStore, access: AccessControl,
  hostPolicy: () => WebhookHostPolicy): void {
  const tags = ['notifications'];

  async function ownsProject(user: User, project: string): Promise<boolean> {
    return access.can(user, 'delete', project);
  }

  /** The webhook when the caller may manage it; 404 otherwise. */
  function mine(user: User, id: number): Webhook {
    const h = store.get(id);
    if (!h || (!user.siteAdmin && h.owner !== user.login)) {
      throw new XcsError('xapi.webhook.not-found', `No webhook ${id}`, { status: 404, path: String(id) });
    }
    return h;
  }

  app.post('/xapi/notifications/webhooks', { schema: { tags, summary: 'Register a webhook (site admins; project owners for their project)' } },
    async (request, reply) => {
      const user = userOf(request);
      requireJson(request);
      const hook = parseWebhook(request.body);
      if (!user.siteAdmin) {
        if (hook.project === null) {
          throw new XcsError('auth.forbidden', 'Only site administrators may register a webhook for every project', { status: 403,
            path: '/project', hint: 'give "project": a project you own' });
        }
        if (!(await ownsProject(user, hook.project))) {
          throw new XcsError('auth.forbidden', `User ${user.login} does not own project ${hook.project}`, { status: 403, path: '/project' });
        }
      } else if (hook.project !== null) {
        await access.requireExistingProject(hook.project);
      }
      await checkWebhookUrl(hook.url, hostPolicy());
      reply.code(201);
      return json(store.create(hook, user.login));
    });

  app.get('/xapi/notifications/webhooks', { schema: { tags, summary: 'The webhooks you registered (site admins: all)' } }, async (request) => {
    const user = userOf(request);
    return store.list().filter((h) => user.siteAdmin || h.owner === user.login).map(json);
  });

  app.get<{ Params: { id: string } }>('/xapi/notifications/webhooks/:id', { schema: { tags, summary: 'One webhook' } }, async (request) =>
    json(mine(userOf(request), intParam(request.params.id, 'id'))));

  app.delete<{ Params: { id: string } }>('/xapi/notifications/webhooks/:id', { schema: { tags, summary: 'Remove a webhook and its delivery log' } },
    async (request, reply) => {
      const h = mine(userOf(request), intParam(request.params.id, 'id'));
      store.delete(h.id);
      reply.code(204);
    });

  app.get<{ Params: { id: string } }>('/xapi/notifications/webhooks/:id/deliveries',
    { schema: { tags, summary: 'The delivery log of a webhook, newest first' } }, async (request) => {
      const h = mine(userOf(request), intParam(request.params.id, 'id'));
      return store.deliveries(h.id).map((d) => ({
        id: d.id, event: d.event, state: d.state, attempts: d.attempts, 'last-status': d.lastStatus, 'last-error': d.lastError,
        created: new Date(d.createdAt).toISOString(), delivered: d.deliveredAt === null ? null : new Date(d.deliveredAt).toISOString(),
        'next-attempt': d.state === 'pending' ? new Date(d.nextAt).toISOString() : null, body: JSON.parse(d.body) as unknown,
      }));
    });
}
