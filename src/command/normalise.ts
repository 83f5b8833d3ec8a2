/**
 * Reads any JSON value into the shape of the normalised command, the way XNAT's JSON mapper would:
 * scalars coerced to the field's type ("true" -> true, "1024" -> 1024, true -> "true"), nulls and absent
 * keys replaced by XNAT's defaults, legacy key spellings mapped to current ones, unknown keys ignored.
 * Everything it tolerates is reported as a warning with its JSON pointer; what XNAT's mapper would refuse
 * (an object where a string is expected, "4g" where a number is) is an error. It never throws.
 *
 * The walk is driven by the TypeBox schemas of `model.ts`, compiled once into plans.
 * Enumerated fields are kept as the strings given: `validate.ts` judges them, as XNAT's validator does.
 */
import type { TSchema } from 'typebox';
import { CommandSchema } from './model.ts';
import { DiagnosticSink, pointer, q } from './diagnostics.ts';

type Kind =
  | { kind: 'string'; nullable: boolean }
  | { kind: 'enum'; nullable: boolean; values: string[] }
  | { kind: 'boolean'; nullable: boolean }
  | { kind: 'integer' | 'number'; nullable: boolean }
  | { kind: 'array'; item: Kind }
  | { kind: 'map' }
  | { kind: 'object'; plan: ObjectPlan }
  | { kind: 'any' };

interface FieldPlan {
  key: string;
  /** `/key`, escaped as a JSON pointer token. */
  token: string;
  aliases: string[];
  kind: Kind;
  dflt: unknown;
}

export interface ObjectPlan {
  title: string;
  fields: FieldPlan[];
  /** Every key XNAT reads on this object, aliases included. */
  known: Set<string>;
}

type Json = Record<string, unknown>;

function compileKind(schema: TSchema): Kind {
  const s = schema as Json;
  const anyOf = s.anyOf as Json[] | undefined;
  if (anyOf) {
    const nonNull = anyOf.filter((x) => x.type !== 'null');
    const nullable = nonNull.length < anyOf.length;
    if (nonNull.every((x) => x.const !== undefined)) {
      return { kind: 'enum', nullable, values: nonNull.map((x) => String(x.const)) };
    }
    if (nonNull.length === 1) {
      const inner = compileKind(nonNull[0] as TSchema);
      if (inner.kind === 'string' || inner.kind === 'enum' || inner.kind === 'boolean' ||
          inner.kind === 'integer' || inner.kind === 'number') {
        return { ...inner, nullable };
      }
      return inner;
    }
    return { kind: 'any' };
  }
  switch (s.type) {
    case 'string': return { kind: 'string', nullable: false };
    case 'boolean': return { kind: 'boolean', nullable: false };
    case 'integer': return { kind: 'integer', nullable: false };
    case 'number': return { kind: 'number', nullable: false };
    case 'array': return { kind: 'array', item: compileKind(s.items as TSchema) };
    case 'object':
      return s.patternProperties ? { kind: 'map' } : { kind: 'object', plan: compilePlan(schema) };
    default: return { kind: 'any' };
  }
}

const planCache = new WeakMap<TSchema, ObjectPlan>();

export function compilePlan(schema: TSchema): ObjectPlan {
  const cached = planCache.get(schema);
  if (cached) return cached;
  const s = schema as Json;
  const props = (s.properties ?? {}) as Record<string, TSchema>;
  const fields: FieldPlan[] = Object.entries(props).map(([key, sub]) => ({
    key,
    token: pointer('', key),
    aliases: ((sub as Json)['x-xcs-aliases'] as string[] | undefined) ?? [],
    kind: compileKind(sub),
    dflt: (sub as Json).default,
  }));
  const known = new Set<string>();
  for (const f of fields) {
    known.add(f.key);
    for (const a of f.aliases) known.add(a);
  }
  const plan: ObjectPlan = { title: String(s.title ?? 'object'), fields, known };
  planCache.set(schema, plan);
  return plan;
}

/** Keys people write that XNAT never reads, and what they probably meant. */
const KNOWN_MISTAKES: Record<string, string> = {
  workdir: 'working-directory',
  'as-a-child-of-wrapper-output': 'as-a-child-of',
  'provides-value-to-command-input': 'provides-value-for-command-input',
  'provides-files-to-command-mount': 'provides-files-for-command-mount',
  default: 'default-value',
  parent: 'derived-from-wrapper-input',
  required_: 'required',
};

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The known key an unknown key is probably a typo of, if any. */
export function suggestKey(key: string, known: Iterable<string>): string | undefined {
  const mistake = KNOWN_MISTAKES[key];
  const knownList = [...known];
  if (mistake !== undefined && knownList.includes(mistake)) return mistake;
  const lower = key.toLowerCase().replace(/_/g, '-');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of knownList) {
    const limit = Math.max(1, Math.floor(k.length / 4));
    const d = editDistance(lower, k, limit);
    if (d <= limit && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${q(v.length > 60 ? `${v.slice(0, 60)}...` : v)}`;
  return `the ${typeof v} ${String(v)}`;
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export interface NormaliseContext {
  sink: DiagnosticSink;
  /** Items that were not objects and were replaced by empty ones to keep indices; validation skips them. */
  placeholders: WeakSet<object>;
}

function coerceString(v: unknown, path: string, ctx: NormaliseContext): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  ctx.sink.error(path, 'command.field.not-a-string', `expected a string here, found ${typeName(v)}; write the value as a JSON string`);
  return undefined;
}

function coerceBoolean(v: unknown, path: string, ctx: NormaliseContext): boolean | null | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t === '') return null;
  }
  if (v === 0 || v === 1) {
    ctx.sink.warning(path, 'command.field.number-as-boolean', `the number ${v} is read as ${v === 1}; write true or false`);
    return v === 1;
  }
  ctx.sink.error(path, 'command.field.not-a-boolean', `expected true or false here, found ${typeName(v)}`);
  return undefined;
}

function coerceNumber(v: unknown, integer: boolean, path: string, ctx: NormaliseContext): number | null | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return null;
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) n = Number(t);
  }
  if (n === undefined || !Number.isFinite(n)) {
    let hint = '';
    const size = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([bkmgt])b?\s*$/i.exec(v) : null;
    if (size && path.endsWith('/shm-size')) {
      hint = `; shm-size is in bytes, so ${q(v)} is ${Math.round(Number(size[1]) * SIZE_UNITS[size[2].toLowerCase()])}`;
    } else if (size) {
      hint = '; memory limits are plain numbers of MiB, e.g. 4096';
    }
    ctx.sink.error(path, 'command.field.not-a-number', `expected a number here, found ${typeName(v)}${hint}`);
    return undefined;
  }
  if (integer && !Number.isInteger(n)) {
    ctx.sink.warning(path, 'command.field.fraction-truncated', `expected a whole number; ${n} is read as ${Math.trunc(n)}`);
    n = Math.trunc(n);
  }
  return n;
}

function normaliseValue(v: unknown, kind: Kind, dflt: unknown, path: string, ctx: NormaliseContext): unknown {
  if (kind.kind === 'any') return v === undefined ? (dflt ?? null) : v;
  if (v === undefined || v === null) {
    return Array.isArray(dflt) ? [] : dflt !== null && typeof dflt === 'object' ? {} : (dflt ?? null);
  }
  switch (kind.kind) {
    case 'string':
    case 'enum': {
      const s = coerceString(v, path, ctx);
      return s === undefined ? (dflt ?? null) : s;
    }
    case 'boolean': {
      const b = coerceBoolean(v, path, ctx);
      return b === undefined || b === null ? (dflt ?? null) : b;
    }
    case 'integer':
    case 'number': {
      const n = coerceNumber(v, kind.kind === 'integer', path, ctx);
      return n === undefined || n === null ? (dflt ?? null) : n;
    }
    case 'array': {
      if (!Array.isArray(v)) {
        ctx.sink.error(path, 'command.field.not-a-list', `expected a list ([...]) here, found ${typeName(v)}`);
        return [];
      }
      const dflt = itemDefault(kind.item);
      return v.map((item, i) => normaliseValue(item, kind.item, dflt, `${path}/${i}`, ctx));
    }
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) {
        ctx.sink.error(path, 'command.field.not-an-object', `expected an object of names to strings here, found ${typeName(v)}`);
        return {};
      }
      const out: Record<string, string> = {};
      for (const [k, raw] of Object.entries(v as Json)) {
        const p = pointer(path, k);
        if (raw === null) {
          ctx.sink.warning(p, 'command.field.null-value', 'null value; it is read as an empty string');
          define(out, k, '');
          continue;
        }
        const s = coerceString(raw, p, ctx);
        if (s !== undefined) define(out, k, s);
      }
      return out;
    }
    case 'object':
      return normaliseObject(v, kind.plan, path, ctx);
  }
}

function itemDefault(kind: Kind): unknown {
  return kind.kind === 'string' ? '' : null;
}

function define(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Normalises one object against a plan; a non-object gives an empty placeholder and an error. */
export function normaliseObject(v: unknown, plan: ObjectPlan, path: string, ctx: NormaliseContext): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.sink.error(path, 'command.field.not-an-object', `expected ${article(plan.title)} (an object {...}) here, found ${typeName(v)}`);
    const placeholder = normaliseObject({}, plan, path, { sink: new DiagnosticSink(), placeholders: ctx.placeholders });
    ctx.placeholders.add(placeholder);
    return placeholder;
  }
  const input = v as Json;
  const out: Json = {};
  for (const f of plan.fields) {
    let raw = Object.prototype.hasOwnProperty.call(input, f.key) ? input[f.key] : undefined;
    let at = path + f.token;
    for (const alias of f.aliases) {
      if (!Object.prototype.hasOwnProperty.call(input, alias)) continue;
      const ap = pointer(path, alias);
      if (raw === undefined) {
        raw = input[alias];
        at = ap;
        ctx.sink.warning(ap, 'command.key.legacy', `${q(alias)} is a legacy spelling of ${q(f.key)}; XNAT still reads it, but prefer ${q(f.key)}`);
      } else {
        ctx.sink.warning(ap, 'command.key.legacy-ignored', `${q(alias)} is ignored because ${q(f.key)} is also given; remove one`);
      }
    }
    // Plan keys are ours (never __proto__), so plain assignment is safe here.
    out[f.key] = normaliseValue(raw, f.kind, f.dflt, at, ctx);
  }
  for (const key in input) {
    if (!Object.prototype.hasOwnProperty.call(input, key)) continue;
    if (plan.known.has(key)) continue;
    const suggestion = suggestKey(key, plan.known);
    ctx.sink.warning(
      pointer(path, key),
      'command.key.unknown',
      `${q(key)} is not a field of ${article(plan.title)}; XNAT ignores it` +
        (suggestion ? ` (did you mean ${q(suggestion)}?)` : ''),
    );
  }
  return out;
}

function article(title: string): string {
  const lower = title.charAt(0).toLowerCase() + title.slice(1);
  return /^[aeiou]/i.test(lower) ? `an ${lower}` : `a ${lower}`;
}

/** The plan of a whole command. */
export const COMMAND_PLAN: ObjectPlan = compilePlan(CommandSchema);
