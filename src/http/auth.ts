/**
 * Who is calling: HTTP Basic (login:password, or an alias token's alias:secret) or the `JSESSIONID`
 * cookie from `/data/JSESSION`. Guests are refused (401) except on routes marked `config: {public: true}`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';
import type { User, UserStore } from '../archive/users.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; null only on public routes. */
    user: User | null;
    /** The session token the request came with, if any. */
    sessionToken?: string;
  }
  interface FastifyContextConfig {
    /** The route answers guests too. */
    public?: boolean;
  }
}

export function cookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function basic(header: string | undefined): { login: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { login: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function unauthenticated(message = 'authentication required'): XcsError {
  return new XcsError('auth.required', message, { status: 401 });
}

export function registerAuth(app: FastifyInstance, users: UserStore): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request, reply) => {
    const creds = basic(request.headers.authorization);
    let user: User | undefined;
    if (creds) {
      user = await users.authenticate(creds.login, creds.password);
      if (!user) {
        reply.header('WWW-Authenticate', 'Basic realm="XNAT"');
        throw unauthenticated('wrong login or password');
      }
    } else {
      const token = cookies(request).JSESSIONID;
      if (token) {
        user = await users.sessionUser(token);
        if (user) request.sessionToken = token;
      }
    }
    request.user = user ?? null;
    if (!user && request.routeOptions.config?.public !== true) {
      reply.header('WWW-Authenticate', 'Basic realm="XNAT"');
      throw unauthenticated();
    }
  });
}
