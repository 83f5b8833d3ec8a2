/**
 * Recursive-descent parser for Jayway JSONPath: whole paths (`$.a[?(@.b == 1)].c`) and filter bodies
 * (what XNAT calls a matcher: the text inside `[?( … )]`). No `eval`, no `Function`.
 *
 * Jayway particulars we keep: member names may contain hyphens (`@.scan-type`), strings may use either
 * quote, `[...]` literals are lenient JSON (single quotes and bare words are accepted, as json-smart
 * does), and a regex literal runs from its first `/` to the last `/` before the next blank, `)` or end,
 * with the characters after that last `/` read as flags (`/Resources/bids/*.json` is the regex
 * `Resources/bids` with flags `*.json`, exactly as Jayway reads it).
 */
import { XcsError } from '../core/errors.ts';
import type { CompareOp, FilterExpr, JsonValue, Operand, PathExpr, PathSegment, RegexLiteral } from './ast.ts';

export class MatcherSyntaxError extends XcsError {
  /** 0-based offset in the parsed text where the problem was found. */
  readonly position: number;
  readonly expected: string;

  constructor(source: string, position: number, expected: string, found?: string) {
    const at = found ?? (position >= source.length ? 'end of text' : JSON.stringify(source.slice(position, position + 12)));
    super('matcher.syntax', `JSONPath syntax error at position ${position}: expected ${expected}, found ${at}`, {
      path: source,
      details: [{ code: 'matcher.syntax', message: `expected ${expected}`, path: String(position) }],
    });
    this.position = position;
    this.expected = expected;
  }
}

const WORD_OPS: readonly CompareOp[] = ['subsetof', 'noneof', 'anyof', 'size', 'empty', 'nin', 'in'];
const SYMBOL_OPS: readonly CompareOp[] = ['==', '!=', '<=', '>=', '=~', '<', '>'];
/** Characters that end a member name in dot notation; hyphens and most punctuation are allowed. */
const NAME_STOP = new Set([' ', '\t', '\n', '\r', '.', '[', ']', '(', ')', '=', '<', '>', '!', '~', '&', '|', ',', "'", '"', '^']);

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(expected: string, at = this.pos): never {
    throw new MatcherSyntaxError(this.src, at, expected);
  }

  skipBlanks(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++;
  }

  peek(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  eat(s: string): boolean {
    if (!this.peek(s)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail(`"${s}"`);
  }

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  // ---- filters -------------------------------------------------------------------------------

  parseOr(): FilterExpr {
    const start = this.pos;
    let left = this.parseAnd();
    for (;;) {
      this.skipBlanks();
      if (!this.eat('||')) return left;
      const right = this.parseAnd();
      left = { kind: 'or', left, right, start, end: this.pos };
    }
  }

  parseAnd(): FilterExpr {
    const start = this.pos;
    let left = this.parseUnary();
    for (;;) {
      this.skipBlanks();
      if (!this.eat('&&')) return left;
      const right = this.parseUnary();
      left = { kind: 'and', left, right, start, end: this.pos };
    }
  }

  parseUnary(): FilterExpr {
    this.skipBlanks();
    const start = this.pos;
    if (this.peek('!') && !this.peek('!=')) {
      this.pos++;
      const operand = this.parseUnary();
      return { kind: 'not', operand, start, end: this.pos };
    }
    if (this.peek('(')) {
      this.pos++;
      const inner = this.parseOr();
      this.skipBlanks();
      this.expect(')');
      return { ...inner, start, end: this.pos };
    }
    return this.parseComparison();
  }

  parseComparison(): FilterExpr {
    this.skipBlanks();
    const start = this.pos;
    const left = this.parseOperand();
    this.skipBlanks();
    const op = this.readOperator();
    if (op === null) {
      if (left.kind === 'path') return { kind: 'exists', path: left.path, start, end: left.end };
      if (left.kind === 'literal' && typeof left.value === 'boolean') {
        return { kind: 'constant', value: left.value, start, end: left.end };
      }
      this.fail('a comparison operator (==, !=, <, <=, >, >=, =~, in, nin, subsetof, anyof, noneof, size, empty)');
    }
    this.skipBlanks();
    const right = op === '=~' && this.peek('/') ? this.parseRegex() : this.parseOperand();
    if (op === '=~' && right.kind !== 'regex' && left.kind !== 'regex') {
      this.fail('a regular expression /.../ after =~', right.start);
    }
    return { kind: 'compare', op, left, right, start, end: this.pos };
  }

  readOperator(): CompareOp | null {
    for (const op of SYMBOL_OPS) {
      if (this.peek(op)) {
        this.pos += op.length;
        return op;
      }
    }
    for (const op of WORD_OPS) {
      if (this.peek(op)) {
        const after = this.src[this.pos + op.length];
        if (after === undefined || !/[A-Za-z0-9_-]/.test(after)) {
          this.pos += op.length;
          return op;
        }
      }
    }
    return null;
  }

  parseOperand(): Operand {
    this.skipBlanks();
    const start = this.pos;
    const c = this.src[this.pos];
    if (c === undefined) this.fail('a value (path, string, number, list, true, false or null)');
    if (c === '@' || c === '$') {
      const path = this.parsePath();
      return { kind: 'path', path, start, end: this.pos };
    }
    if (c === '/') return this.parseRegex();
    if (c === "'" || c === '"') return { kind: 'literal', value: this.parseString(), start, end: this.pos };
    if (c === '[' || c === '{') return { kind: 'literal', value: this.parseJson(), start, end: this.pos };
    if (c === '-' || /[0-9]/.test(c)) return { kind: 'literal', value: this.parseNumber(), start, end: this.pos };
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.peek(word)) {
        this.pos += word.length;
        return { kind: 'literal', value, start, end: this.pos };
      }
    }
    this.fail('a value (path, string, number, list, true, false or null)');
  }

  parseRegex(): RegexLiteral {
    const start = this.pos;
    this.expect('/');
    let close = -1;
    for (let i = this.pos; i < this.src.length; i++) {
      if (this.src[i] === '\\') {
        i++;
        continue;
      }
      if (this.src[i] === '/') {
        close = i;
        break;
      }
    }
    if (close < 0) this.fail('a closing "/" for the regular expression', start);
    // The token ends at the first blank or unbalanced ")" after the first closing slash; the regex
    // itself ends at the last slash inside the token (Jayway's reading).
    let end = close + 1;
    while (end < this.src.length && !/\s/.test(this.src[end]) && this.src[end] !== ')') end++;
    const token = this.src.slice(start, end);
    const last = token.lastIndexOf('/');
    this.pos = end;
    return { kind: 'regex', pattern: token.slice(1, last), flags: token.slice(last + 1), start, end };
  }

  parseString(): string {
    const quote = this.src[this.pos];
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '\\' && this.pos + 1 < this.src.length) {
        const n = this.src[this.pos + 1];
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
        this.pos += 2;
        continue;
      }
      if (c === quote) {
        this.pos++;
        return out;
      }
      out += c;
      this.pos++;
    }
    this.fail(`a closing ${quote} for the string started at position ${start}`);
  }

  parseNumber(): number {
    const m = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (!m) this.fail('a number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  /** Lenient JSON, as json-smart reads it inside Jayway filters. */
  parseJson(): JsonValue {
    this.skipBlanks();
    const c = this.src[this.pos];
    if (c === '[') {
      this.pos++;
      const items: JsonValue[] = [];
      this.skipBlanks();
      if (this.eat(']')) return items;
      for (;;) {
        items.push(this.parseJson());
        this.skipBlanks();
        if (this.eat(']')) return items;
        if (!this.eat(',')) this.fail('"," or "]" in the list');
      }
    }
    if (c === '{') {
      this.pos++;
      const obj: { [key: string]: JsonValue } = {};
      this.skipBlanks();
      if (this.eat('}')) return obj;
      for (;;) {
        this.skipBlanks();
        const key = this.src[this.pos] === '"' || this.src[this.pos] === "'" ? this.parseString() : this.parseBareWord();
        this.skipBlanks();
        this.expect(':');
        obj[key] = this.parseJson();
        this.skipBlanks();
        if (this.eat('}')) return obj;
        if (!this.eat(',')) this.fail('"," or "}" in the object');
      }
    }
    if (c === "'" || c === '"') return this.parseString();
    if (c !== undefined && (c === '-' || /[0-9]/.test(c))) return this.parseNumber();
    const word = this.parseBareWord();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    return word;
  }

  parseBareWord(): string {
    const m = /^[^\s,[\]{}:'"()]+/.exec(this.src.slice(this.pos));
    if (!m) this.fail('a value in the list');
    this.pos += m[0].length;
    return m[0];
  }

  // ---- paths ---------------------------------------------------------------------------------

  parsePath(): PathExpr {
    const start = this.pos;
    const root = this.src[this.pos];
    if (root !== '$' && root !== '@') this.fail('"$" or "@"');
    this.pos++;
    const segments: PathSegment[] = [];
    for (;;) {
      if (this.peek('..')) {
        this.pos += 2;
        const inner = this.peek('[') ? this.parseBracket() : this.parseDotMember();
        segments.push({ kind: 'deep', inner });
      } else if (this.peek('.')) {
        this.pos++;
        segments.push(this.parseDotMember());
      } else if (this.peek('[')) {
        segments.push(this.parseBracket());
      } else break;
    }
    const definite = segments.every(
      (s) => (s.kind === 'member' && s.names.length === 1) || (s.kind === 'index' && s.indexes.length === 1),
    );
    return { root, segments, definite, start, end: this.pos };
  }

  parseDotMember(): PathSegment {
    if (this.eat('*')) return { kind: 'wildcard' };
    const begin = this.pos;
    while (this.pos < this.src.length && !NAME_STOP.has(this.src[this.pos])) this.pos++;
    if (this.pos === begin) this.fail('a property name or "*" after "."');
    return { kind: 'member', names: [this.src.slice(begin, this.pos)] };
  }

  parseBracket(): PathSegment {
    const open = this.pos;
    this.expect('[');
    this.skipBlanks();
    let seg: PathSegment;
    if (this.eat('?')) {
      this.skipBlanks();
      this.expect('(');
      const expr = this.parseOr();
      this.skipBlanks();
      this.expect(')');
      seg = { kind: 'filter', expr };
    } else if (this.eat('*')) {
      seg = { kind: 'wildcard' };
    } else if (this.peek("'") || this.peek('"')) {
      const names = [this.parseString()];
      this.skipBlanks();
      while (this.eat(',')) {
        this.skipBlanks();
        if (!this.peek("'") && !this.peek('"')) this.fail('a quoted property name');
        names.push(this.parseString());
        this.skipBlanks();
      }
      seg = { kind: 'member', names };
    } else if (this.peek(':') || this.peek('-') || /[0-9]/.test(this.src[this.pos] ?? '')) {
      seg = this.parseIndexOrSlice();
    } else {
      this.fail('"?(", "*", a quoted name, an index or a slice after "["', open + 1);
    }
    this.skipBlanks();
    this.expect(']');
    return seg;
  }

  parseIndexOrSlice(): PathSegment {
    const readInt = (): number | null => {
      this.skipBlanks();
      const m = /^-?\d+/.exec(this.src.slice(this.pos));
      if (!m) return null;
      this.pos += m[0].length;
      return Number(m[0]);
    };
    const first = readInt();
    this.skipBlanks();
    if (this.eat(':')) {
      const end = readInt();
      return { kind: 'slice', start: first, end };
    }
    if (first === null) this.fail('an index');
    const indexes = [first];
    while (this.eat(',')) {
      const n = readInt();
      if (n === null) this.fail('an index after ","');
      indexes.push(n);
      this.skipBlanks();
    }
    return { kind: 'index', indexes };
  }
}

/** Parses a filter body (an XNAT matcher), e.g. `'DICOM' in @.resources[*].label`. */
export function parseFilter(source: string): FilterExpr {
  const p = new Parser(source);
  p.skipBlanks();
  if (p.atEnd()) p.fail('a filter expression');
  const expr = p.parseOr();
  p.skipBlanks();
  if (!p.atEnd()) p.fail('"&&", "||" or the end of the matcher');
  return expr;
}

/** Parses a whole JSONPath, e.g. `$.external-inputs[?(@.name == 'x')].value`. */
export function parsePath(source: string): PathExpr {
  const p = new Parser(source.trim());
  if (!p.peek('$') && !p.peek('@')) p.fail('"$" at the start of the path');
  const path = p.parsePath();
  if (!p.atEnd()) p.fail('".", "[" or the end of the path');
  return path;
}
