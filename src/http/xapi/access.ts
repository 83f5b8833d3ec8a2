/**
 * Who may do what on `/xapi` (reference §6), in one place so that every route asks the same questions:
 * - site administrators may do everything and always count as container managers (XNAT grants the
 *   `ContainerManager` role to every site administrator on upgrade; we make that permanent);
 * - the `ContainerManager` role is kept in its own table, granted and revoked by site administrators
 *   through XNAT's role endpoints `PUT|DELETE /xapi/users/{login}/roles/ContainerManager`;
 * - project-scoped checks use the archive's project roles (owner ⇒ delete, member ⇒ edit,
 *   collaborator ⇒ read), with `/data`'s rule: a user who cannot read a project gets the same 404 whether
 *   it exists or not (its existence is never revealed); one who can read it but lacks the level gets 403.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { XcsError } from '../../core/errors.ts';
import type { Action, User, UserDirectory } from '../../archive/users.ts';
import { SiteRoleStore } from '../../stores/site-role-store.ts';

export const CONTAINER_MANAGER = 'ContainerManager';

/** The answer for a project the caller cannot read, existing or not (the same as `/data`'s). */
export function projectNotFound(project: string): XcsError {
  return new XcsError('xapi.project.not-found', `No project ${project} that you can read`, { status: 404, path: project });
}

export class AccessControl {
  readonly users: UserDirectory;
  readonly #roles: SiteRoleStore;

  constructor(users: UserDirectory, roles: SiteRoleStore) {
    this.users = users;
    this.#roles = roles;
  }

  /** Over the role table in the shared database (created on first use). */
  static async open<T>(users: UserDirectory, db: Kysely<T>): Promise<AccessControl> {
    return new AccessControl(users, await SiteRoleStore.open(db));
  }

  async isContainerManager(user: User | null): Promise<boolean> {
    // A run's token is never a manager, whoever launched the run.
    if (!user?.enabled || user.scope) return false;
    if (user.siteAdmin) return true;
    return this.#roles.has(user.login, CONTAINER_MANAGER);
  }

  async rolesOf(login: string): Promise<string[]> {
    const user = await this.users.requireUser(login);
    const roles = new Set(await this.#roles.rolesOf(login));
    if (user.siteAdmin) {
      roles.add('Administrator');
      roles.add(CONTAINER_MANAGER);
    }
    return [...roles].sort();
  }

  async setRole(login: string, role: string, granted: boolean): Promise<void> {
    await this.users.requireUser(login);
    if (role !== CONTAINER_MANAGER) {
      throw new XcsError('xapi.roles.unknown', `unknown site role "${role}"`, { status: 400, path: role,
        hint: `the only site role XCS manages here is ${CONTAINER_MANAGER}` });
    }
    await this.#roles.set(login, role, granted);
  }

  /** The signed-in user, or 401 for guests (routes marked public reach here without one). */
  requireUser(request: FastifyRequest): User {
    if (!request.user) throw new XcsError('auth.required', 'authentication required', { status: 401 });
    return request.user;
  }

  async requireContainerManager(request: FastifyRequest): Promise<User> {
    const user = this.requireUser(request);
    if (!(await this.isContainerManager(user))) {
      throw new XcsError('auth.forbidden', `user ${user.login} is not a container manager`, {
        status: 403, hint: `a site administrator can grant the role: PUT /xapi/users/${user.login}/roles/${CONTAINER_MANAGER}` });
    }
    return user;
  }

  async can(user: User | null, action: Action, project: string): Promise<boolean> {
    return this.users.can(user, action, { project });
  }

  /**
   * Requires `action` on `project`. The refusal is the same 404 for a project that does not exist and one the
   * user cannot read, so that its existence is not revealed; readers lacking the level get 403.
   */
  async requireProject(request: FastifyRequest, project: string, action: Action): Promise<User> {
    const user = this.requireUser(request);
    // Site administrators may do anything in any project, but a project that does not exist is still a 404.
    await this.requireExistingProject(project);
    if (await this.users.can(user, action, { project })) return user;
    if (!(await this.users.can(user, 'read', { project }))) throw projectNotFound(project);
    const level = { list: 'read', read: 'read', create: 'edit', edit: 'edit', delete: 'owner' }[action];
    throw new XcsError('auth.forbidden', `user ${user.login} does not have ${level} access to project ${project}`,
      { status: 403, path: project });
  }

  /** For callers whose role passes every project check (managers): the project must still exist. */
  async requireExistingProject(project: string): Promise<void> {
    if (!(await this.users.projectExists(project))) throw projectNotFound(project);
  }

  /** Project owners, container managers and administrators: who may manage a project's automation. */
  async requireOwnerOrManager(request: FastifyRequest, project: string): Promise<User> {
    const user = this.requireUser(request);
    if (await this.isContainerManager(user)) {
      await this.requireExistingProject(project);
      return user;
    }
    return this.requireProject(request, project, 'delete');
  }
}

/** XNAT's role endpoints for the one site role XCS adds. */
export function registerRoleRoutes(app: FastifyInstance, access: AccessControl): void {
  const adminOnly = (request: FastifyRequest): void => {
    const user = access.requireUser(request);
    if (!user.siteAdmin) throw new XcsError('auth.forbidden', 'only site administrators manage roles', { status: 403 });
  };
  const params = { type: 'object', properties: { login: { type: 'string' }, role: { type: 'string' } }, required: ['login'] };
  app.get<{ Params: { login: string } }>('/xapi/users/:login/roles', { schema: { tags: ['users'], params } }, async (request) => {
    if (request.user?.login !== request.params.login) adminOnly(request);
    return access.rolesOf(request.params.login);
  });
  app.put<{ Params: { login: string; role: string } }>('/xapi/users/:login/roles/:role', { schema: { tags: ['users'], params } },
    async (request, reply) => {
      adminOnly(request);
      await access.setRole(request.params.login, request.params.role, true);
      return reply.code(200).send(await access.rolesOf(request.params.login));
    });
  app.delete<{ Params: { login: string; role: string } }>('/xapi/users/:login/roles/:role', { schema: { tags: ['users'], params } },
    async (request, reply) => {
      adminOnly(request);
      await access.setRole(request.params.login, request.params.role, false);
      return reply.code(200).send(await access.rolesOf(request.params.login));
    });
}
