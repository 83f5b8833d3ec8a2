/**
 * Session login and site information: `GET|POST /data/JSESSION` (Basic auth → session id and `JSESSIONID`
 * cookie, which pyxnat needs on its first call), `/data/version`, alias tokens
 * (`/data/services/tokens/issue`, `…/invalidate/{alias}/{secret}`).
 *
 * What is opened or issued while signed in with an alias token records it as parent and dies with it. A run's
 * token may open a session (pyxnat opens one on its first call): the session keeps the run's scope and ends
 * with the token. It may not issue or invalidate tokens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import { assertNotScoped, type UserDirectory } from '../../archive/users.ts';
import { clearedSessionCookie, sessionCookie } from '../auth.ts';

export const XCS_VERSION = '1.8.10';
/** Alias tokens issued over HTTP live this long (XNAT's default is 48 hours). */
const TOKEN_TTL_SECONDS = 48 * 3600;

export function registerSessionRoutes(app: FastifyInstance, users: UserDirectory): void {
  for (const prefix of ['/data', '/REST']) {
    // XNAT answers GET and POST alike; browsers sign in with POST (the web console), scripts often with GET.
    const login = async (request: FastifyRequest, reply: FastifyReply) => {
      const user = request.user!;
      const token = request.sessionToken ?? (await users.createSession(user.login, undefined, { parent: user.token, scope: user.scope }));
      return reply.header('Set-Cookie', sessionCookie(request, token)).type('text/plain').send(token);
    };
    // Credentials are never handed to another origin's page, even on GET (csrf.ts).
    app.get(`${prefix}/JSESSION`, { config: { issuesCredentials: true } }, login);
    app.post(`${prefix}/JSESSION`, login);
    app.delete(`${prefix}/JSESSION`, async (request, reply) => {
      if (request.sessionToken) await users.endSession(request.sessionToken);
      return reply.header('Set-Cookie', clearedSessionCookie(request)).type('text/plain').send('');
    });
    app.get(`${prefix}/version`, async (_request, reply) => reply.type('text/plain').send(XCS_VERSION));
    app.get(`${prefix}/services/tokens/issue`, { config: { issuesCredentials: true } }, async (request, reply) => {
      const user = request.user!;
      assertNotScoped(user, 'issue tokens');
      const t = await users.issueAliasToken(user.login, TOKEN_TTL_SECONDS, { parent: user.token });
      return reply.send({ alias: t.alias, secret: t.secret, xdatUserId: user.login, estimatedExpirationTime: t.expires });
    });
    app.get<{ Params: { alias: string; secret: string } }>(`${prefix}/services/tokens/invalidate/:alias/:secret`, async (request, reply) => {
      assertNotScoped(request.user, 'invalidate tokens');
      const owner = await users.aliasHolder(request.params.alias, request.params.secret);
      if (!owner || (owner.login !== request.user!.login && !request.user!.siteAdmin)) {
        throw new XcsError('auth.token.unknown', 'no such alias token of yours', { status: 404, path: request.params.alias });
      }
      await users.invalidateAliasToken(request.params.alias);
      return reply.send('');
    });
  }
  app.get('/xapi/siteConfig/buildInfo', async () => ({ version: XCS_VERSION, application: 'XCS' }));
}
