/** What the `/xapi` container-service routes share: the engine, the command registry, archive and users. */
import type { FastifyRequest } from 'fastify';
import type { User } from '../../archive/users.ts';
import { XcsError } from '../../core/errors.ts';
import type { LaunchContext } from '../../runtime/index.ts';
import type { RunRecord } from '../../runtime/index.ts';

export type XapiContext = LaunchContext;

/** What the command-registry routes need: the command store and the archive, no engine. */
export type RegistryContext = Pick<XapiContext, 'commands' | 'archive'>;

export function userOf(request: FastifyRequest): User {
  if (!request.user) throw new XcsError('auth.required', 'authentication required', { status: 401 });
  return request.user;
}

/** Container managers are site administrators here. */
export function requireAdmin(request: FastifyRequest): User {
  const u = userOf(request);
  if (!u.siteAdmin) {
    throw new XcsError('auth.forbidden', `User ${u.login} is not a container manager (site administrator)`, { status: 403 });
  }
  return u;
}

/**
 * Owner-or-admin (XNAT §6.3): an administrator, the launching user, or an owner of the run's project. A run's
 * token counts as its user only for runs of its own project.
 */
export async function seesFully(ctx: XapiContext, user: User, run: RunRecord): Promise<boolean> {
  // A run's token: its user's runs of its own project only.
  if (user.scope) return run.project === user.scope.project && user.login === run.userId;
  if (user.siteAdmin || user.login === run.userId) return true;
  if (!run.project || !ctx.users) return false;
  return ctx.users.can(user, 'delete', { project: run.project });
}

/** Parses `{id}` path parameters that must be integers. */
export function intParam(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new XcsError('http.bad-id', `${name} must be a number, not "${value}"`, { status: 400, path: name });
  return Number(value);
}

/** 415 unless the body was sent as JSON (XNAT's command endpoints consume application/json only). */
export function requireJson(request: FastifyRequest): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new XcsError('http.unsupported-media-type', `Content-Type must be application/json${type ? `, not ${type}` : ''}`,
      { status: 415, hint: "send the command JSON with -H 'Content-Type: application/json'" });
  }
}
