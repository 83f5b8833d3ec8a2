/**
 * Diagnostics: what parsing and validation report about a command. Each names the JSON pointer of the
 * field it is about (relative to the document that was parsed), a stable code and a message for people.
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** JSON pointer (RFC 6901) of the offending field in the parsed document; "" is the document itself. */
  path: string;
  /** Stable, machine-readable code, e.g. `command.image.missing-tag`. */
  code: string;
  /** What is wrong and how to fix it. */
  message: string;
  severity: Severity;
}

/** Collects diagnostics under a pointer prefix (the command's position in a list, if any). */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  constructor(readonly prefix = '') {}

  error(path: string, code: string, message: string): void {
    this.errors.push({ path: this.prefix + path, code, message, severity: 'error' });
  }

  warning(path: string, code: string, message: string): void {
    this.warnings.push({ path: this.prefix + path, code, message, severity: 'warning' });
  }
}

/** Escapes one reference token of a JSON pointer. */
export function pointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Joins a JSON pointer and further tokens. */
export function pointer(base: string, ...tokens: (string | number)[]): string {
  let out = base;
  for (const t of tokens) out += `/${pointerToken(t)}`;
  return out;
}

/** Follows a JSON pointer into a value; `undefined` when it leads nowhere. */
export function resolvePointer(root: unknown, path: string): unknown {
  if (path === '') return root;
  if (!path.startsWith('/')) return undefined;
  let here: unknown = root;
  for (const raw of path.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(here)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      here = here[Number(token)];
    } else if (here !== null && typeof here === 'object' && Object.prototype.hasOwnProperty.call(here, token)) {
      here = (here as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return here;
}

/** Quotes a value for a message. */
export function q(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Renders a list for a message: `a, b, c`, or `(none)`. */
export function listOf(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}
