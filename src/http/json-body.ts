/**
 * How every JSON request body is read. A malformed body is answered with the line and column where it
 * breaks (Fastify's default says only that it does, and Node 20's JSON.parse rarely says where). Bodies must
 * be strict JSON: what the command-file reader tolerates (trailing commas, comments) is refused here, at the
 * place it occurs.
 *
 * Size and nesting are limited before anything is built: Fastify stops reading past `JSON_BODY_LIMIT`, and
 * one linear scan refuses a body nested deeper than `MAX_JSON_DEPTH` before `JSON.parse` (whose recursion a
 * body of a few megabytes of `[` would otherwise drive into a stack overflow) sees it.
 */
import type { FastifyInstance } from 'fastify';
import { parseLenientJson } from '../command/lenient-json.ts';
import { messageOf, XcsError } from '../core/errors.ts';

/** The largest JSON body read, in bytes (413 beyond). */
export const JSON_BODY_LIMIT = 16 * 1024 * 1024;
/** The deepest nesting of arrays and objects a body may have; XNAT's documents need fewer than 10 levels. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Refuses `text` when its arrays and objects nest deeper than `maxDepth`, in one pass over the characters
 * (brackets inside strings do not count). Malformed text is left for the parser to report.
 */
export function checkJsonDepth(text: string, maxDepth: number = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        throw new XcsError('http.json.too-deep', `The body nests arrays and objects deeper than ${maxDepth} levels (at character ${i + 1})`,
          { status: 400, hint: `JSON bodies may nest at most ${maxDepth} levels` });
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  checkJsonDepth(text);
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
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (e) {
      done(e as XcsError, undefined);
    }
  });
}
