/**
 * `POST /xapi/commands/validate` (XCS addition): checks a command the way `POST /xapi/commands` and `xcs validate`
 * do, without storing anything, so authors (and the web console's command editor) can see every diagnostic with
 * its JSON path before a container manager registers it. Any signed-in user may ask: it reads nothing but the body.
 * Valid and invalid commands alike answer 200 `{valid, errors, warnings}`; only a body that is not JSON is a 400
 * (from the shared JSON body parser, with its line and column) or 415 (another content type).
 */
import type { FastifyInstance } from 'fastify';
import { parseCommandValue, type Diagnostic } from '../../command/index.ts';
import { requireJson } from './context.ts';

export interface ValidationDiagnostic {
  path: string;
  code: string;
  message: string;
}

export interface ValidationAnswer {
  valid: boolean;
  errors: ValidationDiagnostic[];
  warnings: ValidationDiagnostic[];
}

const strip = (d: Diagnostic): ValidationDiagnostic => ({ path: d.path, code: d.code, message: d.message });

/** The verdict on one posted body: the same parse (`rest` mode: a missing tag becomes `:latest`) as registration. */
export function validateCommandBody(body: unknown, image?: string): ValidationAnswer {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { valid: false, errors: [{ path: '', code: 'command.document.not-object', message: 'the body must be one command object {...}' }], warnings: [] };
  }
  const parsed = parseCommandValue(body, { mode: 'rest', image });
  const errors = [...parsed.errors, ...parsed.commands.flatMap((c) => c.errors)].map(strip);
  const warnings = [...parsed.warnings, ...parsed.commands.flatMap((c) => c.warnings)].map(strip);
  return { valid: errors.length === 0 && parsed.commands.length === 1 && parsed.commands[0].valid, errors, warnings };
}

export function registerCommandValidateRoute(app: FastifyInstance): void {
  app.post<{ Querystring: { image?: string } }>('/xapi/commands/validate', {
    schema: {
      tags: ['commands'], summary: 'XCS: check a command without storing it; every error and warning with its JSON path',
      querystring: { type: 'object', properties: { image: { type: 'string' } } },
    },
  }, async (request) => {
    requireJson(request);
    return validateCommandBody(request.body, request.query.image);
  });
}
