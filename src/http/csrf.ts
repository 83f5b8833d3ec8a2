/**
 * Cross-site request forgery: a page on another origin must not make a signed-in browser change anything, nor
 * mint credentials, in XCS. Browsers say where a request comes from (`Sec-Fetch-Site`, set by the browser and
 * impossible for a page to forge; `Origin`, sent on every cross-origin request and every POST/PUT/PATCH/DELETE
 * of current browsers), scripts (curl, pyxnat, containers calling back) send neither. So:
 * - a state-changing request (POST, PUT, PATCH, DELETE), or a request to a route that issues credentials
 *   (`GET /data/JSESSION`, `GET /data/services/tokens/issue`), that a browser marks as coming from another
 *   origin is refused, whatever credentials it carries (a browser also replays Basic credentials typed into its
 *   own login dialog, so Basic is no safe harbour when the request comes from a page);
 * - a state-changing request authenticated by the `JSESSIONID` cookie alone that carries no browser marker at
 *   all must carry the console's `X-Requested-With: XMLHttpRequest` (a header no cross-site form can add, and a
 *   cross-site script can add only after a CORS preflight XCS never grants). Cookie-only scripts add the header;
 *   Basic and alias-token scripts (pyxnat sends Basic on every call, its session cookie besides) are unaffected.
 */
import type { FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route hands out credentials (a session or a token) even on GET: never to another origin. */
    issuesCredentials?: boolean;
  }
}

export function isStateChanging(method: string): boolean {
  return STATE_CHANGING.has(method.toUpperCase());
}

/** Where the browser says a request comes from; `undefined` when it says nothing (not a browser). */
export type RequestSite = 'same-origin' | 'typed' | 'foreign' | undefined;

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The origins a page of this server has: the request's own scheme and `Host`, and `https://Host` too, for a
 * proxy that terminates TLS and passes the Host on.
 */
function ownOrigins(request: FastifyRequest): string[] {
  const host = header(request, 'host');
  if (!host) return [];
  const h = host.toLowerCase();
  return [`${request.protocol}://${h}`, `https://${h}`];
}

/** Normalises an `Origin` value (scheme and host lower case, default ports dropped); `null` stays `null`. */
function normaliseOrigin(origin: string): string {
  try {
    const u = new URL(origin);
    return u.origin.toLowerCase();
  } catch {
    return 'null';
  }
}

export function requestSite(request: FastifyRequest): RequestSite {
  // The browser's own verdict first: it knows redirects and frames, and proxies rewriting Host do not fool it.
  const fetchSite = header(request, 'sec-fetch-site')?.toLowerCase();
  if (fetchSite === 'same-origin') return 'same-origin';
  if (fetchSite === 'none') return 'typed';
  if (fetchSite !== undefined) return 'foreign';
  const origin = header(request, 'origin');
  if (origin === undefined) return undefined;
  const own = ownOrigins(request).map(normaliseOrigin);
  return own.includes(normaliseOrigin(origin)) ? 'same-origin' : 'foreign';
}

function refused(message: string, hint: string): XcsError {
  return new XcsError('auth.csrf', message, { status: 403, hint });
}

/**
 * Before authentication: refuses what a browser marks as sent by another origin (or, for state changes, not
 * sent by a page of XCS at all: `Sec-Fetch-Site: none`).
 */
export function checkRequestOrigin(request: FastifyRequest): void {
  const changing = isStateChanging(request.method);
  const issuing = request.routeOptions.config?.issuesCredentials === true;
  if (!changing && !issuing) return;
  const site = requestSite(request);
  if (site === 'foreign') {
    const from = header(request, 'origin') ?? `a ${header(request, 'sec-fetch-site')} page`;
    throw refused(`${request.method} ${request.url.split('?')[0]} refused: it comes from another origin (${from}), ` +
      `and XCS accepts ${changing ? 'changes' : 'sign-ins and tokens'} only from its own pages`,
    'send the request from the XCS console or from a script (curl, pyxnat: no Origin header); cross-origin pages may not act for a signed-in user');
  }
  if (site === 'typed' && changing) {
    throw refused(`${request.method} ${request.url.split('?')[0]} refused: the browser says no page of XCS sent it (Sec-Fetch-Site: none)`,
      'make changes from the XCS console or a script');
  }
}

/**
 * After authentication, for requests the `JSESSIONID` cookie alone authenticated: a change that carries no
 * browser marker must carry `X-Requested-With: XMLHttpRequest`.
 */
export function checkCookieChange(request: FastifyRequest): void {
  if (!isStateChanging(request.method) || requestSite(request) !== undefined) return;
  if (header(request, 'x-requested-with') === 'XMLHttpRequest') return;
  throw refused(`${request.method} ${request.url.split('?')[0]} refused: a change authenticated by the JSESSIONID cookie alone ` +
    'needs the header X-Requested-With: XMLHttpRequest (or an Origin/Sec-Fetch-Site header naming this server)',
  'scripts: send X-Requested-With: XMLHttpRequest with the cookie, or authenticate with Basic credentials or an alias token');
}
