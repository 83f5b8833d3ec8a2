/** Wrapper enablement (site and project). Commands themselves: `commands-admin.ts`. */
import type { FastifyInstance } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import { intParam, requireAdmin, userOf, type XapiContext } from './context.ts';

export function registerCommandRoutes(app: FastifyInstance, ctx: XapiContext): void {
  const setSite = (enabled: boolean) => async (request: { params: { id: string } } & Parameters<typeof requireAdmin>[0]) => {
    requireAdmin(request);
    ctx.commands.setEnabled(intParam(request.params.id, 'wrapper id'), enabled, null);
    return '';
  };
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', setSite(true));
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/disabled', setSite(false));
  app.get<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', async (request) => {
    const id = intParam(request.params.id, 'wrapper id');
    ctx.commands.wrapperById(id);
    return ctx.commands.enabledForSite(id);
  });

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
