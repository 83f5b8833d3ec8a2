/**
 * Site administrators lift login locks (`login-throttle.ts`): `GET|DELETE /xapi/users/{login}/lockout` (the
 * login's failures and lock), `DELETE /xapi/lockouts/addresses/{address}` (an address's). Locks live in the
 * server's memory, so these talk to the running server; restarting it lifts every lock too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';
import type { LoginThrottle } from './login-throttle.ts';

function requireAdmin(request: FastifyRequest): void {
  if (!request.user?.siteAdmin) throw new XcsError('auth.forbidden', 'only site administrators manage sign-in locks', { status: 403 });
}

export function registerLockoutRoutes(app: FastifyInstance, throttle: LoginThrottle): void {
  // Unknown logins are counted and locked like known ones, so these answer alike for both.
  const tags = ['users'];
  app.get<{ Params: { login: string } }>('/xapi/users/:login/lockout', {
    schema: { tags, summary: 'A login\'s recent failed sign-ins and lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    const state = throttle.loginState(request.params.login);
    return { login: request.params.login, locked: state.retryAfterSeconds > 0, ...state };
  });
  app.delete<{ Params: { login: string } }>('/xapi/users/:login/lockout', {
    schema: { tags, summary: 'Lift a login\'s sign-in lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    return { login: request.params.login, unlocked: throttle.unlockLogin(request.params.login) };
  });
  app.delete<{ Params: { address: string } }>('/xapi/lockouts/addresses/:address', {
    schema: { tags, summary: 'Lift an address\'s sign-in lock (site administrators; XCS addition)' },
  }, async (request) => {
    requireAdmin(request);
    return { address: request.params.address, unlocked: throttle.unlockAddress(request.params.address) };
  });
}
