/**
 * Site administrators lift login locks (`login-throttle.ts`): `GET|DELETE /xapi/users/{login}/lockout` (the
 * login's failures and lock), `DELETE /xapi/lockouts/addresses/{address}` (an address's). Locks live in the
 * server's memory, so these talk to the running server; restarting it lifts every lock too.
 */
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';
import { isLoginSyntax } from '../archive/users.ts';
import type { LoginThrottle } from './login-throttle.ts';

function requireAdmin(request: FastifyRequest): void {
  if (!request.user?.siteAdmin) throw new XcsError('auth.forbidden', 'only site administrators manage sign-in locks', { status: 403 });
}

/** The login of the path, when it could be one (no lock is ever kept for anything else). */
function loginOf(request: FastifyRequest<{ Params: { login: string } }>): string {
  const login = request.params.login;
  if (!isLoginSyntax(login)) {
    throw new XcsError('users.bad-login', `"${login.slice(0, 80)}" is not a valid login (letters, digits, . _ @ -; at most 64)`,
      { status: 400, path: 'login' });
  }
  return login;
}

export function registerLockoutRoutes(app: FastifyInstance, throttle: LoginThrottle): void {
  // Unknown logins are counted and locked like known ones, so these answer alike for both.
  const tags = ['users'];
  app.get<{ Params: { login: string } }>('/xapi/users/:login/lockout', {
    schema: { tags, summary: 'A login\'s recent failed sign-ins and lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    const login = loginOf(request);
    const state = throttle.loginState(login);
    return { login, locked: state.retryAfterSeconds > 0, ...state };
  });
  app.delete<{ Params: { login: string } }>('/xapi/users/:login/lockout', {
    schema: { tags, summary: 'Lift a login\'s sign-in lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    const login = loginOf(request);
    return { login, unlocked: throttle.unlockLogin(login) };
  });
  app.delete<{ Params: { address: string } }>('/xapi/lockouts/addresses/:address', {
    schema: { tags, summary: 'Lift an address\'s sign-in lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    const address = request.params.address;
    if (isIP(address) === 0) {
      throw new XcsError('xapi.address.invalid', `"${address.slice(0, 80)}" is not an IPv4 or IPv6 address`, { status: 400, path: 'address' });
    }
    return { address, unlocked: throttle.unlockAddress(address) };
  });
}
