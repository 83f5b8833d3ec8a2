/**
 * Public API of the Jayway-compatible JSONPath engine used for XNAT matchers and `^...^` templates.
 *
 * A matcher is the body of a Jayway filter (`$[?(<matcher>)]`) applied to one archive object:
 * `matches(matcher, object)`. Whole paths (`$.a[*].b`) are evaluated with `query`. Both cache parsed
 * trees, since the same matcher is tested against thousands of candidates.
 */
import { XcsError } from '../core/errors.ts';
import type { FilterExpr, JsonValue, PathExpr } from './ast.ts';
import { failedClauses, queryPath, testFilter, traceFilter, type ClauseTrace } from './evaluate.ts';
import { MatcherSyntaxError, parseFilter, parsePath } from './parser.ts';

export type { ClauseTrace } from './evaluate.ts';
export type { FilterExpr, JsonValue, PathExpr } from './ast.ts';
export { MatcherSyntaxError, parseFilter, parsePath } from './parser.ts';

const filterCache = new Map<string, FilterExpr>();
const pathCache = new Map<string, PathExpr>();

function cached<T>(cache: Map<string, T>, key: string, make: (k: string) => T): T {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const made = make(key);
  if (cache.size > 2000) cache.clear();
  cache.set(key, made);
  return made;
}

/** Checks a matcher's syntax (and its regular expressions) without evaluating it. */
export function checkMatcherSyntax(source: string): { ok: true } | { ok: false; message: string; position: number } {
  try {
    const expr = parseFilter(source);
    // Compiling the regexes surfaces bad or unsafe patterns now rather than at launch.
    testFilter(expr, source, {});
    return { ok: true };
  } catch (e) {
    if (e instanceof MatcherSyntaxError) return { ok: false, message: e.message, position: e.position };
    if (e instanceof XcsError) return { ok: false, message: e.message, position: 0 };
    throw e;
  }
}

/** Whether `item` satisfies the matcher. Throws `MatcherSyntaxError` / `XcsError` on a bad matcher. */
export function matches(matcher: string, item: JsonValue): boolean {
  return testFilter(cached(filterCache, matcher, parseFilter), matcher, item);
}

/** Result of testing a matcher with the reasons it failed, for explanations. */
export interface MatchExplanation {
  matched: boolean;
  /** One sentence per failing clause, quoting the values it saw. Empty when matched. */
  reasons: string[];
  trace: ClauseTrace;
}

export function explainMatch(matcher: string, item: JsonValue): MatchExplanation {
  const trace = traceFilter(cached(filterCache, matcher, parseFilter), matcher, item);
  return { matched: trace.result, reasons: failedClauses(trace), trace };
}

/** Evaluates a JSONPath (`$...`) against a document; always returns the list of selected values. */
export function query(path: string, document: JsonValue): JsonValue[] {
  return queryPath(cached(pathCache, path, parsePath), document);
}
