/**
 * Evaluates parsed JSONPath expressions and filters with Jayway's semantics, and records, for every
 * clause of a filter, what it saw and whether it held (the basis of `--explain`).
 *
 * Semantics kept from Jayway: a missing property is "undefined" (every comparison with it is false,
 * so `!=` and `nin` are true); a string compared with a number is compared as text when the string is
 * on the left and as a number when the number is on the left; `<`/`>` only compare two numbers or two
 * strings; an indefinite path (`[*]`, `..`, filters) yields the list of what it found, which `in`,
 * `subsetof`, `anyof`, `noneof`, `size` and `empty` use as a list; `=~` matches the whole text, and a
 * missing value is matched as the empty string.
 */
import type { CompareOp, FilterExpr, JsonValue, Operand, PathExpr, PathSegment } from './ast.ts';
import { compileJavaRegex, MAX_REGEX_INPUT } from './regex.ts';

/** A value as a filter operand sees it. */
type Node =
  | { kind: 'undefined' }
  | { kind: 'value'; value: JsonValue }
  | { kind: 'list'; values: JsonValue[] }
  | { kind: 'regex'; re: RegExp; text: string };

/** What one clause of a filter saw and concluded. */
export interface ClauseTrace {
  /** The clause's source text. */
  text: string;
  result: boolean;
  /** For comparisons: the left and right values as JSON text, or `missing`. */
  left?: string;
  right?: string;
  children?: ClauseTrace[];
  /** Why the clause could not be evaluated normally (e.g. a value too long for a regex). */
  note?: string;
}

interface Context {
  root: JsonValue;
  source: string;
  /** When true, `&&`/`||` evaluate both sides so the trace shows every clause. */
  trace: boolean;
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- paths ---------------------------------------------------------------------------------------

function applySegment(seg: PathSegment, input: JsonValue[], ctx: Context): JsonValue[] {
  const out: JsonValue[] = [];
  for (const v of input) {
    switch (seg.kind) {
      case 'member':
        if (isObject(v)) for (const n of seg.names) if (Object.hasOwn(v, n)) out.push(v[n]);
        break;
      case 'wildcard':
        if (Array.isArray(v)) out.push(...v);
        else if (isObject(v)) out.push(...Object.values(v));
        break;
      case 'index':
        if (Array.isArray(v)) {
          for (const i of seg.indexes) {
            const at = i < 0 ? v.length + i : i;
            if (at >= 0 && at < v.length) out.push(v[at]);
          }
        }
        break;
      case 'slice':
        if (Array.isArray(v)) out.push(...v.slice(seg.start ?? 0, seg.end ?? v.length));
        break;
      case 'filter':
        if (Array.isArray(v)) {
          for (const item of v) if (filterHolds(seg.expr, item, ctx)) out.push(item);
        } else if (isObject(v) && filterHolds(seg.expr, v, ctx)) out.push(v);
        break;
      case 'deep':
        for (const node of descendants(v)) {
          if (seg.inner.kind === 'filter') {
            if (isObject(node) && filterHolds(seg.inner.expr, node, ctx)) out.push(node);
          } else out.push(...applySegment(seg.inner, [node], ctx));
        }
        break;
    }
  }
  return out;
}

function* descendants(v: JsonValue): Generator<JsonValue> {
  yield v;
  if (Array.isArray(v)) for (const x of v) yield* descendants(x);
  else if (isObject(v)) for (const x of Object.values(v)) yield* descendants(x);
}

function selectPath(path: PathExpr, current: JsonValue, ctx: Context): JsonValue[] {
  let nodes: JsonValue[] = [path.root === '$' ? ctx.root : current];
  for (const seg of path.segments) nodes = applySegment(seg, nodes, ctx);
  return nodes;
}

/** Evaluates a path with "always return a list" semantics. */
export function queryPath(path: PathExpr, document: JsonValue): JsonValue[] {
  return selectPath(path, document, { root: document, source: '', trace: false });
}

// ---- filters --------------------------------------------------------------------------------------

function operandNode(op: Operand, item: JsonValue, ctx: Context): Node {
  if (op.kind === 'literal') return Array.isArray(op.value) ? { kind: 'list', values: op.value } : { kind: 'value', value: op.value };
  if (op.kind === 'regex') return { kind: 'regex', re: compileJavaRegex(op.pattern, op.flags), text: ctx.source.slice(op.start, op.end) };
  const found = selectPath(op.path, item, ctx);
  if (op.path.definite) return found.length === 0 ? { kind: 'undefined' } : { kind: 'value', value: found[0] };
  return { kind: 'list', values: found };
}

function describe(n: Node): string {
  switch (n.kind) {
    case 'undefined':
      return 'missing';
    case 'value':
      return JSON.stringify(n.value);
    case 'list':
      return JSON.stringify(n.values);
    case 'regex':
      return n.text;
  }
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function valueEquals(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === 'string') return typeof b === 'string' ? a === b : typeof b === 'number' ? a === String(b) : false;
  if (typeof a === 'number') {
    if (typeof b === 'number') return a === b;
    if (typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))) return a === Number(b);
    return false;
  }
  if (typeof a === 'boolean' || a === null) return a === b;
  return deepEqual(a, b);
}

function nodeEquals(a: Node, b: Node): boolean {
  if (a.kind === 'undefined' || b.kind === 'undefined' || a.kind === 'regex' || b.kind === 'regex') return false;
  const av: JsonValue = a.kind === 'list' ? a.values : a.value;
  const bv: JsonValue = b.kind === 'list' ? b.values : b.value;
  return valueEquals(av, bv);
}

function asList(n: Node): JsonValue[] | null {
  if (n.kind === 'list') return n.values;
  if (n.kind === 'value' && Array.isArray(n.value)) return n.value;
  return null;
}

function contains(list: JsonValue[], needle: Node): boolean {
  return list.some((x) => nodeEquals(needle, { kind: 'value', value: x }));
}

function regexInput(n: Node): string {
  if (n.kind !== 'value') return '';
  const v = n.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function compare(op: CompareOp, l: Node, r: Node): { result: boolean; note?: string } {
  switch (op) {
    case '==':
      return { result: nodeEquals(l, r) };
    case '!=':
      return { result: !nodeEquals(l, r) };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (l.kind !== 'value' || r.kind !== 'value') return { result: false };
      const a = l.value;
      const b = r.value;
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return { result: false };
      if (op === '<') return { result: a < b };
      if (op === '<=') return { result: a <= b };
      if (op === '>') return { result: a > b };
      return { result: a >= b };
    }
    case '=~': {
      if ((l.kind === 'regex') === (r.kind === 'regex')) return { result: false };
      const re = l.kind === 'regex' ? l.re : (r as { re: RegExp }).re;
      const input = regexInput(l.kind === 'regex' ? r : l);
      if (input.length > MAX_REGEX_INPUT) return { result: false, note: `value longer than ${MAX_REGEX_INPUT} characters is not matched` };
      return { result: re.test(input) };
    }
    case 'in':
    case 'nin': {
      const list = asList(r);
      const found = list !== null && contains(list, l);
      return { result: op === 'in' ? found : !found };
    }
    case 'subsetof':
    case 'anyof':
    case 'noneof': {
      const left = asList(l);
      const right = asList(r);
      if (left === null || right === null) return { result: false };
      const inRight = (x: JsonValue): boolean => contains(right, { kind: 'value', value: x });
      if (op === 'subsetof') return { result: left.every(inRight) };
      if (op === 'anyof') return { result: left.some(inRight) };
      return { result: !left.some(inRight) };
    }
    case 'size': {
      if (r.kind !== 'value' || typeof r.value !== 'number') return { result: false };
      const list = asList(l);
      if (list !== null) return { result: list.length === r.value };
      if (l.kind === 'value' && typeof l.value === 'string') return { result: l.value.length === r.value };
      return { result: false };
    }
    case 'empty': {
      if (r.kind !== 'value' || typeof r.value !== 'boolean') return { result: false };
      const list = asList(l);
      if (list !== null) return { result: (list.length === 0) === r.value };
      if (l.kind === 'value' && typeof l.value === 'string') return { result: (l.value.length === 0) === r.value };
      if (l.kind === 'value' && isObject(l.value)) return { result: (Object.keys(l.value).length === 0) === r.value };
      return { result: false };
    }
  }
}

function evalFilter(expr: FilterExpr, item: JsonValue, ctx: Context): ClauseTrace {
  const text = ctx.source.slice(expr.start, expr.end).trim();
  switch (expr.kind) {
    case 'constant':
      return { text, result: expr.value };
    case 'exists': {
      const found = selectPath(expr.path, item, ctx);
      return { text, result: found.length > 0, left: found.length === 0 ? 'missing' : JSON.stringify(expr.path.definite ? found[0] : found) };
    }
    case 'not': {
      const inner = evalFilter(expr.operand, item, ctx);
      return { text, result: !inner.result, children: [inner] };
    }
    case 'and':
    case 'or': {
      const left = evalFilter(expr.left, item, ctx);
      const decided = expr.kind === 'and' ? !left.result : left.result;
      if (decided && !ctx.trace) return { text, result: left.result, children: [left] };
      const right = evalFilter(expr.right, item, ctx);
      const result = expr.kind === 'and' ? left.result && right.result : left.result || right.result;
      return { text, result, children: [left, right] };
    }
    case 'compare': {
      const l = operandNode(expr.left, item, ctx);
      const r = operandNode(expr.right, item, ctx);
      const { result, note } = compare(expr.op, l, r);
      return { text, result, left: describe(l), right: describe(r), ...(note ? { note } : {}) };
    }
  }
}

function filterHolds(expr: FilterExpr, item: JsonValue, ctx: Context): boolean {
  return evalFilter(expr, item, { ...ctx, trace: false }).result;
}

/** Whether `item` passes the filter, i.e. `$[?(filter)]` applied to the item selects it. */
export function testFilter(expr: FilterExpr, source: string, item: JsonValue): boolean {
  return evalFilter(expr, item, { root: item, source, trace: false }).result;
}

/** Like `testFilter`, but returns the trace of every clause. */
export function traceFilter(expr: FilterExpr, source: string, item: JsonValue): ClauseTrace {
  return evalFilter(expr, item, { root: item, source, trace: true });
}

/**
 * The clauses that made a filter false, as sentences: for `a && b` the false sides, for `a || b`
 * both sides, for a comparison the values it saw.
 */
export function failedClauses(trace: ClauseTrace): string[] {
  if (trace.result) return [];
  if (trace.children && trace.children.length > 0 && !trace.text.startsWith('!')) {
    const failing = trace.children.filter((c) => !c.result);
    if (failing.length > 0) return failing.flatMap(failedClauses);
  }
  const seen: string[] = [];
  if (trace.left !== undefined) seen.push(`left = ${trace.left}`);
  if (trace.right !== undefined) seen.push(`right = ${trace.right}`);
  if (trace.note) seen.push(trace.note);
  return [`${trace.text} is false${seen.length ? ` (${seen.join(', ')})` : ''}`];
}
