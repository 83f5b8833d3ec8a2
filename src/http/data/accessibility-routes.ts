/**
 * A project's accessibility, as XNAT serves it: `GET /data/projects/{p}/accessibility` answers the value as
 * plain text to whoever may see the project; `PUT /data/projects/{p}/accessibility/{public|protected|private}`
 * is for its owners and site administrators. What each value allows is `UserDirectory.can`'s rule.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { Archive } from '../../archive/types.ts';
import { ACCESSIBILITIES, type Accessibility, type User, type UserDirectory } from '../../archive/users.ts';

export function parseAccessibility(value: string): Accessibility {
  const v = value.toLowerCase();
  const found = ACCESSIBILITIES.find((a) => a === v);
  if (!found) {
    throw new XcsError('archive.project.bad-accessibility', `unknown accessibility "${value}"`,
      { status: 400, path: 'accessibility', hint: 'use public, protected or private' });
  }
  return found;
}

export function registerAccessibilityRoutes(app: FastifyInstance, users: UserDirectory, archive: Archive): void {
  async function visible(request: FastifyRequest, project: string): Promise<User> {
    const user = request.user!;
    if (!(await archive.get({ kind: 'project', project })) || !(await users.can(user, 'list', { project }))) {
      throw new XcsError('archive.not-found', `project ${project} not found`, { status: 404, path: project });
    }
    return user;
  }

  for (const prefix of ['/data', '/REST', '/data/archive']) {
    app.get<{ Params: { p: string } }>(`${prefix}/projects/:p/accessibility`, async (request, reply) => {
      await visible(request, request.params.p);
      return reply.type('text/plain; charset=utf-8').send(await users.accessibilityOf(request.params.p));
    });
    app.put<{ Params: { p: string; value: string } }>(`${prefix}/projects/:p/accessibility/:value`, async (request, reply) => {
      const project = request.params.p;
      const user = await visible(request, project);
      const value = parseAccessibility(request.params.value);
      // Owners (the `delete` level) decide who may see the project, as in XNAT.
      if (!(await users.can(user, 'delete', { project }))) {
        throw new XcsError('auth.forbidden', `only owners of ${project} change its accessibility`, { status: 403, path: project });
      }
      await archive.update({ kind: 'project', project }, { accessibility: value }, user.login);
      return reply.type('text/plain; charset=utf-8').send(value);
    });
  }
}
