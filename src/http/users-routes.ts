/**
 * Users and project membership through XNAT's own endpoints: `POST/GET /xapi/users`,
 * `GET|PUT /xapi/users/{login}`, `GET /data/projects/{p}/users`,
 * `PUT|DELETE /data/projects/{p}/users/{Owners|Members|Collaborators}/{login}`.
 * Site administrators manage users; project owners (and administrators) manage membership. A user may change
 * their own names, email and password; changing one's own password asks for the current one (sent as Basic
 * credentials, not a session or token), so a stolen cookie or token cannot lock its owner out. A run's token
 * may do none of this.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';
import type { Archive } from '../archive/types.ts';
import { assertNotScoped, type ProjectRole, type User, type UserDirectory } from '../archive/users.ts';
import { parseUserPatch } from './user-patch.ts';
import { sendListing } from './format.ts';

const GROUPS: Record<string, ProjectRole> = {
  owners: 'owner', members: 'member', collaborators: 'collaborator', owner: 'owner', member: 'member',
  collaborator: 'collaborator',
};
const GROUP_NAMES: Record<ProjectRole, string> = { owner: 'Owners', member: 'Members', collaborator: 'Collaborators' };

function userJson(u: User): Record<string, unknown> {
  return { username: u.login, email: u.email, firstName: u.firstName, lastName: u.lastName, enabled: u.enabled,
    verified: u.verified, admin: u.siteAdmin };
}

function requireAdmin(request: FastifyRequest): void {
  if (!request.user?.siteAdmin) throw new XcsError('auth.forbidden', 'only site administrators manage users', { status: 403 });
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  return v === true || v === 'true' || v === 1;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function registerUserRoutes(app: FastifyInstance, users: UserDirectory, archive: Archive): void {
  app.register(async (sub) => {
    sub.post('/xapi/users', async (request, reply) => {
      requireAdmin(request);
      const b = (request.body ?? {}) as Record<string, unknown>;
      const login = str(b.username) ?? str(b.login);
      if (!login) throw new XcsError('users.bad-request', 'the body needs "username"', { status: 400, path: 'username' });
      const u = await users.addUser({
        login, password: str(b.password) ?? '', email: str(b.email), firstName: str(b.firstName), lastName: str(b.lastName),
        enabled: bool(b.enabled, true), verified: bool(b.verified, true), siteAdmin: bool(b.admin, false),
      });
      return reply.code(201).send(userJson(u));
    });
    sub.get('/xapi/users', async (request) => {
      requireAdmin(request);
      return (await users.listUsers()).map((u) => u.login);
    });
    sub.get<{ Params: { login: string } }>('/xapi/users/:login', async (request) => {
      if (request.user!.login !== request.params.login) requireAdmin(request);
      return userJson(await users.requireUser(request.params.login));
    });
    sub.put<{ Params: { login: string } }>('/xapi/users/:login', async (request) => {
      const caller = request.user!;
      assertNotScoped(caller, 'change users');
      const self = caller.login === request.params.login;
      if (!self) requireAdmin(request);
      const current = await users.requireUser(request.params.login);
      const patch = parseUserPatch(request.body, current);
      if (!caller.siteAdmin) {
        for (const field of ['enabled', 'verified', 'admin'] as const) {
          if (field in patch.flags) {
            throw new XcsError('auth.forbidden', `only site administrators change "${field}"`, { status: 403, path: field });
          }
        }
      }
      if (patch.password !== undefined && self && !caller.byPassword) {
        throw new XcsError('auth.password-required', 'changing your own password needs your current password', {
          status: 403, path: 'password', hint: 'send this request with Basic credentials (login:current password), not a session or token' });
      }
      if (self && (patch.flags.admin === false || patch.flags.enabled === false) && (await users.enabledAdmins()) <= 1) {
        throw new XcsError('users.last-admin', 'you are the only enabled site administrator: another one is needed first',
          { status: 409, path: patch.flags.admin === false ? 'admin' : 'enabled' });
      }
      if (patch.password !== undefined) await users.setPassword(current.login, patch.password);
      const { admin, ...flags } = patch.flags;
      return userJson(await users.updateUser(current.login, { ...patch.profile, ...flags, ...(admin !== undefined ? { siteAdmin: admin } : {}) }));
    });
  });

  async function requireOwner(request: FastifyRequest, project: string): Promise<void> {
    const p = await archive.get({ kind: 'project', project });
    const user = request.user!;
    assertNotScoped(user, 'manage project members');
    if (!p || !(await users.can(user, 'read', { project }))) {
      throw new XcsError('archive.not-found', `project ${project} not found`, { status: 404, path: project });
    }
    if (!user.siteAdmin && (await users.roleOf(user.login, project)) !== 'owner') {
      throw new XcsError('auth.forbidden', `only owners of ${project} manage its users`, { status: 403, path: project });
    }
  }

  for (const prefix of ['/data', '/REST']) {
    app.get<{ Params: { p: string }; Querystring: { format?: string } }>(`${prefix}/projects/:p/users`, async (request, reply) => {
      const project = request.params.p;
      if (!(await archive.get({ kind: 'project', project })) || !(await users.can(request.user, 'read', { project }))) {
        throw new XcsError('archive.not-found', `project ${project} not found`, { status: 404, path: project });
      }
      const rows = [];
      for (const m of await users.projectUsers(project)) {
        const u = await users.getUser(m.login);
        rows.push({ login: m.login, firstname: u?.firstName ?? '', lastname: u?.lastName ?? '', email: u?.email ?? '',
          displayname: GROUP_NAMES[m.role], GROUP_ID: `${project}_${m.role}`, role: m.role });
      }
      return sendListing(reply, { title: 'Users', columns: ['login', 'firstname', 'lastname', 'email', 'displayname', 'GROUP_ID'], rows },
        request.query.format);
    });
    const route = `${prefix}/projects/:p/users/:group/:login`;
    app.put<{ Params: { p: string; group: string; login: string } }>(route, async (request, reply) => {
      const role = GROUPS[request.params.group.toLowerCase()];
      if (!role) {
        throw new XcsError('users.bad-group', `unknown group "${request.params.group}"`, {
          status: 400, path: request.params.group, hint: 'use Owners, Members or Collaborators' });
      }
      await requireOwner(request, request.params.p);
      // Only those who may list users learn that a login does not exist; to an owner, adding one answers alike.
      if (!request.user!.siteAdmin && !(await users.getUser(request.params.login))) return reply.send('');
      await users.setRole(request.params.p, request.params.login, role);
      return reply.send('');
    });
    app.delete<{ Params: { p: string; group: string; login: string } }>(route, async (request, reply) => {
      await requireOwner(request, request.params.p);
      if (!request.user!.siteAdmin && !(await users.getUser(request.params.login))) return reply.send('');
      await users.setRole(request.params.p, request.params.login, null);
      return reply.send('');
    });
  }
}
