/** `/xapi/commands` (register, list, get) and wrapper enablement (site and project). */
import type { FastifyInstance } from 'fastify';
import { parseCommandText, parseCommandValue } from '../../command/index.ts';
import { XcsError } from '../../core/errors.ts';
import { intParam, requireAdmin, userOf, type XapiContext } from './context.ts';

export function registerCommandRoutes(app: FastifyInstance, ctx: XapiContext): void {
  app.post<{ Querystring: { image?: string } }>('/xapi/commands', async (request, reply) => {
    requireAdmin(request);
    const body = request.body;
    const options = { mode: 'rest' as const, image: request.query.image };
    const parsed = typeof body === 'string' ? parseCommandText(body, options) : parseCommandValue(body, options);
    const results = parsed.commands;
    const bad = results.find((r) => !r.valid);
    if (results.length !== 1 || bad || !results[0].command) {
      const errors = (bad ?? results[0])?.errors ?? parsed.errors ?? [];
      throw new XcsError('command.invalid', `The command is not valid: ${errors.map((e) => `${e.path || '/'}: ${e.message}`).join('; ') || 'expected one command object'}`,
        { status: 400, details: errors.map((e) => ({ code: e.code, message: e.message, path: e.path })) });
    }
    const stored = ctx.commands.register(results[0].command);
    return reply.code(201).send(stored.id);
  });

  app.get('/xapi/commands', async () => ctx.commands.list());

  app.get<{ Params: { id: string } }>('/xapi/commands/:id', async (request) => ctx.commands.require(intParam(request.params.id, 'id')));

  const setSite = (enabled: boolean) => async (request: { params: { id: string } } & Parameters<typeof requireAdmin>[0]) => {
    requireAdmin(request);
    ctx.commands.setEnabled(intParam(request.params.id, 'wrapper id'), enabled, null);
    return '';
  };
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', setSite(true));
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/disabled', setSite(false));
  app.get<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', async (request) =>
    ctx.commands.enabledForSite(intParam(request.params.id, 'wrapper id')));

  const setProject = (enabled: boolean) => async (request: { params: { project: string; id: string } } & Parameters<typeof userOf>[0]) => {
    const user = userOf(request);
    if (!user.siteAdmin && !(ctx.users && await ctx.users.can(user, 'delete', { project: request.params.project }))) {
      throw new XcsError('auth.forbidden', `User ${user.login} does not have owner access to project ${request.params.project}.`, { status: 403 });
    }
    await ctx.archive.require({ kind: 'project', project: request.params.project });
    ctx.commands.setEnabled(intParam(request.params.id, 'wrapper id'), enabled, request.params.project);
    return '';
  };
  app.put<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/enabled', setProject(true));
  app.put<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/disabled', setProject(false));
  app.get<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/enabled', async (request) => {
    const id = intParam(request.params.id, 'wrapper id');
    return {
      'enabled-for-site': ctx.commands.enabledForSite(id),
      'enabled-for-project': ctx.commands.enabledForProject(id, request.params.project),
      project: request.params.project,
    };
  });
}
