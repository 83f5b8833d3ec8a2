/**
 * How every JSON request body is read. A malformed body is answered with the line and column where it
 * breaks (Fastify's default says only that it does, and Node 20's JSON.parse rarely says where). Bodies must
 * be strict JSON: what the command-file reader tolerates (trailing commas, comments) is refused here, at the
 * place it occurs.
 */
import type { FastifyInstance } from 'fastify';
import { parseLenientJson } from '../command/lenient-json.ts';
import { messageOf, XcsError } from '../core/errors.ts';

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const read = parseLenientJson(text);
    const where = read.ok ? read.warnings[0] : read.error;
    const message = where ? `line ${where.line}, column ${where.column}: ${where.message}` : messageOf(e);
    throw new XcsError('http.bad-json', `The body is not valid JSON: ${message}`, { status: 400, ...(where?.path ? { path: where.path } : {}) });
  }
}

/** Installs the parser on `app` and the contexts registered under it. */
export function useJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (e) {
      done(e as XcsError, undefined);
    }
  });
}
