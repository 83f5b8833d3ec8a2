/**
 * A tolerant JSON reader for command files. It accepts what real command files contain and XNAT's
 * mapper tolerates (trailing commas, single-quoted strings as in XNAT's test mapper, `//` and `/* *\/`
 * comments), reports each tolerance as a warning, and reports a syntax error with line and column instead
 * of throwing. Strict JSON goes through `JSON.parse` first, so the common case costs nothing extra.
 */

export interface JsonNote {
  message: string;
  line: number;
  column: number;
  /** JSON pointer of the value the note is about, when known. */
  path: string;
}

export type LenientJsonResult =
  | { ok: true; value: unknown; warnings: JsonNote[] }
  | { ok: false; error: JsonNote; warnings: JsonNote[] };

const MAX_DEPTH = 2000;

class JsonSyntaxError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

class Reader {
  pos = 0;
  readonly notes: { offset: number; message: string; path: string }[] = [];
  constructor(readonly text: string) {}

  fail(message: string, offset = this.pos): never {
    throw new JsonSyntaxError(offset, message);
  }

  describeHere(): string {
    if (this.pos >= this.text.length) return 'the end of the text';
    return JSON.stringify(this.text[this.pos]);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff) {
        this.pos++;
      } else if (c === 47 && t[this.pos + 1] === '/') {
        this.notes.push({ offset: this.pos, message: 'comments are not JSON; XNAT rejects them', path: '' });
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else if (c === 47 && t[this.pos + 1] === '*') {
        this.notes.push({ offset: this.pos, message: 'comments are not JSON; XNAT rejects them', path: '' });
        const end = t.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated comment');
        this.pos = end + 2;
      } else {
        break;
      }
    }
  }

  value(path: string, depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.object(path, depth);
    if (c === '[') return this.array(path, depth);
    if (c === '"' || c === "'") return this.string(path);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    this.fail(`expected a value but found ${this.describeHere()}`);
  }

  object(path: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    while (true) {
      this.skipSpace();
      const q = this.text[this.pos];
      if (q !== '"' && q !== "'") this.fail(`expected a quoted key but found ${this.describeHere()}`);
      const keyOffset = this.pos;
      const key = this.string(path);
      const childPath = `${path}/${escapePointerToken(key)}`;
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail(`expected ":" after key ${JSON.stringify(key)} but found ${this.describeHere()}`);
      this.pos++;
      const v = this.value(childPath, depth + 1);
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        this.notes.push({ offset: keyOffset, message: `key ${JSON.stringify(key)} appears twice; the last one wins`, path: childPath });
      }
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      if (this.closedAfterItem('}', path)) return out;
    }
  }

  array(path: string, depth: number): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    while (true) {
      out.push(this.value(`${path}/${out.length}`, depth + 1));
      if (this.closedAfterItem(']', path)) return out;
    }
  }

  /**
   * After an object member or array element: consumes the separator and tells whether the container ended.
   * Objects and arrays share it so a trailing comma is accepted (with its warning) the same way in both.
   */
  closedAfterItem(close: '}' | ']', path: string): boolean {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === ',') {
      const commaOffset = this.pos;
      this.pos++;
      this.skipSpace();
      if (this.text[this.pos] !== close) return false;
      this.notes.push({ offset: commaOffset, message: `trailing comma before "${close}"; XNAT rejects it, remove it`, path });
      this.pos++;
      return true;
    }
    if (c === close) {
      this.pos++;
      return true;
    }
    this.fail(`expected "," or "${close}" but found ${this.describeHere()}`);
  }

  string(path: string): string {
    const t = this.text;
    const quote = t[this.pos];
    const start = this.pos;
    if (quote === "'") this.notes.push({ offset: start, message: 'single-quoted string; JSON needs double quotes', path });
    this.pos++;
    let out = '';
    let chunk = this.pos;
    while (true) {
      if (this.pos >= t.length) this.fail('unterminated string', start);
      const c = t[this.pos];
      if (c === quote) {
        out += t.slice(chunk, this.pos);
        this.pos++;
        return out;
      }
      if (c === '\n') this.fail('line break inside a string; write it as \\n', this.pos);
      if (c === '\\') {
        out += t.slice(chunk, this.pos);
        const e = t[this.pos + 1];
        const simple: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.pos += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(parseInt(t.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          this.fail(`invalid escape sequence "\\${e ?? ''}" in a string`);
        }
        chunk = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) this.fail(`invalid number starting with ${this.describeHere()}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }
}

/** Parses JSON leniently. Never throws. */
export function parseLenientJson(text: string): LenientJsonResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, warnings: [] };
  } catch {
    // Not strict JSON: read it again tolerantly to find out why, and where.
  }
  const reader = new Reader(text);
  const toNote = (n: { offset: number; message: string; path: string }): JsonNote => ({
    message: n.message,
    path: n.path,
    ...lineColumn(text, n.offset),
  });
  try {
    const value = reader.value('', 0);
    reader.skipSpace();
    if (reader.pos < text.length) reader.fail(`unexpected ${reader.describeHere()} after the end of the JSON value`);
    return { ok: true, value, warnings: reader.notes.map(toNote) };
  } catch (e) {
    const offset = e instanceof JsonSyntaxError ? e.offset : reader.pos;
    const message = e instanceof JsonSyntaxError ? e.message : 'the text is too deeply nested to read';
    return { ok: false, error: toNote({ offset, message, path: '' }), warnings: reader.notes.map(toNote) };
  }
}
