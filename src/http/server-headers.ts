/**
 * Security headers on every response. The API's answers (archive files, listings, XML, error texts) are
 * data, never pages: a browser must not sniff them into HTML, frame them or run anything in them, so they
 * carry `nosniff` and a CSP that forbids every load and sandboxes the document (no script, no same-origin
 * access). Routes that serve real pages set their own CSP first (the console, `web-ui.ts`) and keep it;
 * the API docs page (Swagger UI, which runs its own inline script) only gets the no-framing rules.
 */
import type { FastifyInstance } from 'fastify';

/** The CSP of everything that is not a page of ours: no loads, no script, an opaque origin, no framing. */
export const DATA_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";

export function registerSecurityHeaders(app: FastifyInstance, pagePrefixes: string[]): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    if (!reply.hasHeader('Referrer-Policy')) reply.header('Referrer-Policy', 'no-referrer');
    if (!reply.hasHeader('Content-Security-Policy')) {
      const path = request.url.split('?')[0];
      const page = pagePrefixes.some((p) => path === p || path.startsWith(`${p}/`));
      reply.header('Content-Security-Policy', page ? "frame-ancestors 'none'" : DATA_CSP);
    }
    return payload;
  });
}
