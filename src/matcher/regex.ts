/**
 * Turns a Jayway `=~ /pattern/flags` literal into a JavaScript RegExp with Java's meaning: the whole
 * value must match (`Matcher.matches()`), flags outside the whitelist are ignored as Jayway ignores
 * them, and patterns that could backtrack catastrophically are refused up front.
 */
import { XcsError } from '../core/errors.ts';

/** Values longer than this are not matched at all (a regex test on them is reported as false). */
export const MAX_REGEX_INPUT = 100_000;
const MAX_PATTERN = 1_000;

/** Java flag letter -> JS flag letter; `d` (UNIX_LINES) and `u`/`U` have no effect worth mapping. */
const FLAG_MAP: Record<string, string> = { i: 'i', m: 'm', s: 's' };

const cache = new Map<string, RegExp>();

export function compileJavaRegex(pattern: string, flags: string): RegExp {
  const key = `${flags}/${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (pattern.length > MAX_PATTERN) {
    throw new XcsError('matcher.regex.too-long', `Regular expression is longer than ${MAX_PATTERN} characters`, { path: pattern });
  }
  let body = pattern;
  const jsFlags = new Set<string>();
  for (const f of flags) if (FLAG_MAP[f]) jsFlags.add(FLAG_MAP[f]);
  // Java allows leading inline flags such as (?i); JavaScript on Node 20 does not.
  const inline = /^\(\?([imsdux]+)\)/.exec(body);
  if (inline) {
    for (const f of inline[1]) if (FLAG_MAP[f]) jsFlags.add(FLAG_MAP[f]);
    body = body.slice(inline[0].length);
  }
  if (/\(\?>|[*+?}]\+/.test(body)) {
    throw new XcsError('matcher.regex.unsupported', 'Atomic groups and possessive quantifiers are not supported in matcher regular expressions', { path: pattern });
  }
  body = body.replace(/\\A/g, '^').replace(/\\[Zz]/g, '$');
  refuseNestedQuantifiers(body, pattern);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${body})$`, [...jsFlags].join(''));
  } catch (e) {
    throw new XcsError('matcher.regex.invalid', `Invalid regular expression /${pattern}/: ${(e as Error).message}`, { path: pattern });
  }
  if (cache.size > 500) cache.clear();
  cache.set(key, re);
  return re;
}

/**
 * Refuses a group that contains an unbounded quantifier and is itself repeated without bound, e.g.
 * `(a+)+` or `(.*x)*`: the classic exponential-backtracking shape.
 */
function refuseNestedQuantifiers(body: string, original: string): void {
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === ')') {
      const innerUnbounded = stack.pop() ?? false;
      const next = body[i + 1];
      const repeated = next === '*' || next === '+' || (next === '{' && /^\{\d*,\}/.test(body.slice(i + 1)));
      if (innerUnbounded && repeated) {
        throw new XcsError(
          'matcher.regex.unsafe',
          `Regular expression /${original}/ repeats a group that already repeats without bound; rewrite it without nested quantifiers`,
          { path: original },
        );
      }
      if (innerUnbounded && stack.length > 0) stack[stack.length - 1] = true;
      if (repeated && stack.length > 0) stack[stack.length - 1] = true;
    } else if ((c === '*' || c === '+' || (c === '{' && /^\{\d*,\}/.test(body.slice(i)))) && stack.length > 0) {
      stack[stack.length - 1] = true;
    }
  }
}
