/**
 * The web console's static files: `GET /` redirects to `/ui/`, and `/ui/*` serves the single-page app built by
 * `scripts/build.sh` into `dist/web/` (hashed assets cached for good, anything that is not a file answered with
 * `index.html` so the app's own routes survive a reload). The console talks to the public `/data` and `/xapi`
 * API like any script; nothing is rendered here. The files are public (the sign-in form must load for guests);
 * every call the app makes is authenticated as usual. Without a build, `/ui/` says how to make one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `scripts/build.sh` puts the console: `dist/web` at the repository root (this file is two levels down in src/ and in dist/). */
export const WEB_DIST = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Where the console is served. */
export const WEB_UI_PATH = '/ui';

/** Only our own scripts, styles and API; no framing. The app needs no inline script or style. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>XCS console not built</title></head>
<body><h1>The XCS web console is not built</h1>
<p>Build it from the XCS checkout with <code>bash scripts/build.sh</code> (or <code>npm run build</code>), then
restart <code>bin/xcs serve</code>. The REST API (<a href="/xapi/docs">/xapi/docs</a>) works without it.</p>
</body></html>
`;

function secured(reply: FastifyReply): FastifyReply {
  return reply.header('Content-Security-Policy', CSP).header('X-Content-Type-Options', 'nosniff').header('Referrer-Policy', 'same-origin');
}

/** A path naming a file (its last segment has an extension) rather than a page of the app. */
const looksLikeFile = (rel: string): boolean => /\.[A-Za-z0-9]+$/.test(rel.split('/').pop() ?? '');

export async function registerWebUi(app: FastifyInstance, dir: string = WEB_DIST): Promise<void> {
  const built = existsSync(join(dir, 'index.html'));
  await app.register(async (ui) => {
    // Public: the sign-in page must load before anyone is signed in.
    ui.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true };
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
    if (built) await ui.register(fastifyStatic, { root: dir, serve: false });
    ui.get('/', async (_request, reply) => reply.redirect('/ui/', 302));
    ui.get('/ui', async (_request, reply) => reply.redirect('/ui/', 301));
    ui.get<{ Params: { '*': string } }>('/ui/*', async (request, reply) => {
      secured(reply);
      if (!built) return reply.code(503).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(NOT_BUILT);
      const rel = request.params['*'];
      if (rel !== '' && looksLikeFile(rel)) {
        // Vite names assets by content hash, so they never change under the same name.
        const immutable = rel.startsWith('assets/');
        return reply.sendFile(rel, { maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0, immutable });
      }
      return reply.header('Cache-Control', 'no-cache').sendFile('index.html', { cacheControl: false });
    });
  });
}
