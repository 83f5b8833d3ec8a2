/**
 * The published JSON Schema (draft 2020-12) of the command format, derived from the TypeBox model.
 *
 * The model describes the normalised command; files people write are looser, and XNAT's mapper accepts them:
 * "true" for true, "1024" for 1024, null for absent, numbers where strings are expected, unknown keys,
 * legacy key spellings. The schema is loosened the same way, so that it never rejects a command XNAT accepts,
 * while keeping titles, descriptions, defaults and enumerations for editors' completion and help.
 * Rules that span fields (names referring to each other) are checked by `xcs validate`, not by the schema.
 */
import type { TSchema } from 'typebox';
import { CommandSchema } from './model.ts';

type Json = Record<string, unknown>;

export const COMMAND_SCHEMA_ID = 'https://xcs.invalid/schema/command.schema.json';

const ANNOTATIONS = ['title', 'description', 'default'] as const;

function annotations(s: Json): Json {
  const out: Json = {};
  for (const k of ANNOTATIONS) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

const looseBoolean = (): Json => ({
  anyOf: [{ type: 'boolean' }, { type: 'string', pattern: '^\\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])?\\s*$' }, { type: 'null' }],
});
const looseNumber = (): Json => ({
  anyOf: [{ type: 'number' }, { type: 'string', pattern: '^\\s*([-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?)?\\s*$' }, { type: 'null' }],
});
const looseString = (): Json => ({ type: ['string', 'number', 'boolean', 'null'] });

function loosen(schema: TSchema): Json {
  const s = schema as Json;
  const notes = annotations(s);
  const anyOf = s.anyOf as Json[] | undefined;
  if (anyOf) {
    const nonNull = anyOf.filter((x) => x.type !== 'null');
    if (nonNull.length > 0 && nonNull.every((x) => x.const !== undefined)) {
      const values = nonNull.map((x) => x.const);
      if (s['x-xcs-open'] === true) {
        // XNAT stores unknown values of this field as its default; editors still offer the known ones.
        return { ...notes, anyOf: [{ enum: values }, { type: 'string' }, { type: 'null' }] };
      }
      return { ...notes, enum: [...values, null] };
    }
    if (nonNull.length === 1) return { ...loosen(nonNull[0] as TSchema), ...notes };
    return notes;
  }
  switch (s.type) {
    case 'string': return { ...notes, ...looseString() };
    case 'boolean': return { ...notes, ...looseBoolean() };
    case 'integer':
    case 'number': return { ...notes, ...looseNumber() };
    case 'array': return { ...notes, type: ['array', 'null'], items: loosen(s.items as TSchema) };
    case 'object': {
      if (s.patternProperties) {
        return { ...notes, type: ['object', 'null'], additionalProperties: looseString() };
      }
      const properties: Json = {};
      for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, TSchema>)) {
        const loose = loosen(sub);
        properties[key] = loose;
        for (const alias of ((sub as Json)['x-xcs-aliases'] as string[] | undefined) ?? []) {
          properties[alias] = { ...loose, description: `Legacy spelling of "${key}". ${String(loose.description ?? '')}`.trim(), deprecated: true };
        }
      }
      return { ...notes, type: 'object', properties };
    }
    default: return notes;
  }
}

let cached: Json | undefined;

/** The JSON Schema of a command file: one command object, or a list of them (the image-label form). */
export function commandJsonSchema(): Json {
  if (cached) return structuredClone(cached);
  const command = loosen(CommandSchema);
  command.required = ['name', 'image'];
  command.title = 'XNAT container command';
  cached = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: COMMAND_SCHEMA_ID,
    title: 'XNAT container command file',
    description:
      'A command of the XNAT Container Service (as in command.json), or a list of commands (as in an ' +
      'org.nrg.commands image label). Unknown keys are allowed, as XNAT ignores them; `xcs validate` reports them.',
    anyOf: [{ $ref: '#/$defs/command' }, { type: 'array', items: { $ref: '#/$defs/command' } }],
    $defs: { command },
  };
  return structuredClone(cached);
}
