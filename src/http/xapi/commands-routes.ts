/** Wrapper enablement (site and project). Commands themselves: `commands-admin.ts`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessControl } from './access.ts';
import { intParam, type RegistryContext } from './context.ts';

/** Site flags: container managers (§5.2). Project flags: project owners or container managers; reading them: members. */
export function registerCommandRoutes(app: FastifyInstance, ctx: RegistryContext, access: AccessControl): void {
  const setSite = (enabled: boolean) => async (request: FastifyRequest<{ Params: { id: string } }>) => {
    await access.requireContainerManager(request);
    ctx.commands.setEnabled(intParam(request.params.id, 'wrapper id'), enabled, null);
    return '';
  };
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', setSite(true));
  app.put<{ Params: { id: string } }>('/xapi/wrappers/:id/disabled', setSite(false));
  app.get<{ Params: { id: string } }>('/xapi/wrappers/:id/enabled', async (request) => {
    await access.requireContainerManager(request);
    const id = intParam(request.params.id, 'wrapper id');
    ctx.commands.wrapperById(id);
    return ctx.commands.enabledForSite(id);
  });

  const projectAccess = async (request: FastifyRequest<{ Params: { project: string } }>, action: 'edit' | 'delete'): Promise<void> => {
    if (await access.isContainerManager(request.user)) return access.requireExistingProject(request.params.project);
    await access.requireProject(request, request.params.project, action);
  };
  const setProject = (enabled: boolean) => async (request: FastifyRequest<{ Params: { project: string; id: string } }>) => {
    await projectAccess(request, 'delete');
    await ctx.archive.require({ kind: 'project', project: request.params.project });
    ctx.commands.setEnabled(intParam(request.params.id, 'wrapper id'), enabled, request.params.project);
    return '';
  };
  app.put<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/enabled', setProject(true));
  app.put<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/disabled', setProject(false));
  app.get<{ Params: { project: string; id: string } }>('/xapi/projects/:project/wrappers/:id/enabled', async (request) => {
    await projectAccess(request, 'edit');
    const id = intParam(request.params.id, 'wrapper id');
    return {
      'enabled-for-site': ctx.commands.enabledForSite(id),
      'enabled-for-project': ctx.commands.enabledForProject(id, request.params.project),
      project: request.params.project,
    };
  });
}
