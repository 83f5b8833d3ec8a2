/**
 * How input values are written into the command line (§2.9) and other fields, and which values are
 * refused (§2.7).
 */
import { XcsError } from '../core/errors.ts';
import type { CommandInput } from '../command/model.ts';

function blank(s: string | null | undefined): boolean {
  return s === null || s === undefined || s.trim() === '';
}

/** A select-many value written as a JSON string array, e.g. `["a","b"]`; null otherwise. */
export function parseStringArray(v: string): string[] | null {
  const t = v.trim();
  if (!t.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(t);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

/** The command-line text of several values of one command input (XNAT's `formatMultiple`). */
export function formatMultiple(ci: CommandInput, values: string[]): string {
  if (values.length === 0) return '';
  const flag = ci['command-line-flag'];
  const sep = ci['command-line-separator'];
  const joined = (blank(flag) ? ' ' : (flag as string)) + (blank(sep) ? ' ' : (sep as string));
  const prefix = joined.trim() === '' ? '' : joined;
  switch (ci['multiple-delimiter']) {
    case 'comma':
      return prefix + values.join(',');
    case 'quoted-space':
      return `${prefix}'${values.join(' ')}'`;
    case 'flag':
      return prefix + values.join(` ${prefix}`);
    default:
      return prefix + values.join(' ');
  }
}

/** The command-line text of a single value of a command input. */
export function formatValue(ci: CommandInput, value: string | null): string {
  if (value === null || value.trim() === '') return '';
  if (ci.type === 'select-many') {
    const list = parseStringArray(value);
    if (list) return formatMultiple(ci, list);
  }
  const flag = ci['command-line-flag'];
  if (blank(flag)) return value;
  return (flag as string) + (ci['command-line-separator'] ?? ' ') + value;
}

/**
 * Deviation: the text of several values outside the command line uses the input's delimiter
 * (`a b`, `a,b`, `'a b'`) instead of Java's `[a, b]`.
 */
export function renderMultiple(ci: CommandInput | null, values: string[]): string {
  switch (ci?.['multiple-delimiter']) {
    case 'comma':
      return values.join(',');
    case 'quoted-space':
      return `'${values.join(' ')}'`;
    default:
      return values.join(' ');
  }
}

/**
 * Strings refused in input values because a shell would give them meaning. XNAT's list first (in its
 * order), then ours. Deviation: XNAT refuses only the first five.
 */
export const ILLEGAL_STRINGS: readonly string[] = [';', '&&', '||', '`', '(', '|', '&', '$', ')', '<', '>', '\n', '\r', '\0'];

const VISIBLE: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\0': '\\0' };

export function checkIllegal(inputName: string, value: string | null): void {
  if (value === null) return;
  for (const s of ILLEGAL_STRINGS) {
    if (value.includes(s)) {
      const shown = VISIBLE[s] ?? s;
      throw new XcsError('resolution.input.illegal-value', `Input "${inputName}" has a value containing illegal string "${shown}".`, {
        path: inputName,
        hint: 'Values may not contain ; & | ` $ ( ) < > or line breaks, which the shell would interpret.',
      });
    }
  }
}
