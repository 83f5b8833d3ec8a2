/**
 * The one redaction rule: hides secrets (the callback token's secret, sensitive input values and every value built
 * from them) in logs and in everything the API answers. Every serializer of run or command data goes through it:
 * `redact` for text, `redactDeep` for a JSON document (each string and each key), `runSecrets` for what to hide
 * of a run.
 *
 * A secret is hidden wherever it occurs, so a value built from it by template substitution (`Bearer #TOKEN#` in
 * an environment variable, `--key=#TOKEN#` in the command line, a mount path) shows with the secret part as
 * `******`. A select-many value (`["a","b"]`) is also hidden element by element, as it is written `a b` into
 * the command line. Secrets shorter than four characters are hidden only as whole words (between spaces, `=`,
 * `,`, `:`, `/` or quotes): masking every "1" or "a" inside other words would destroy logs and records.
 */
import { XcsError, messageOf } from '../../core/errors.ts';
import { parseStringArray } from '../../resolution/format.ts';
import { ResolutionError } from '../../resolution/index.ts';
import { sensitiveValues, type RunSpec } from '../store/run-spec.ts';

/** What a hidden secret reads as inside text, and the value of `XNAT_PASS` (XNAT's six stars, §5.4). */
export const REDACTED = '******';

export { SENSITIVE_MASK } from '../../command/sensitive.ts';

/** The command line of a run as a reader who may not see it in full gets it (XNAT's scrubbed record, §6.3). */
export const SCRUBBED_COMMAND_LINE = '[REDACTED]';

/** Secrets at least this long are hidden wherever they occur; shorter ones only as whole words. */
const MIN_SUBSTRING_LENGTH = 4;
const WORD_EDGE = String.raw`\s=,:/'"`;

/** The secrets as they may be written: each value, trimmed, and each element of a JSON string array value. */
export function secretForms(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    for (const v of [s, s.trim(), ...(parseStringArray(s) ?? [])]) if (v.trim() !== '') out.add(v);
  }
  // Longest first: a secret that contains another is hidden whole, not in pieces.
  return [...out].sort((a, b) => b.length - a.length);
}

/** A compiled redaction: built once per record or stream, applied to every string of it. */
export interface Redactor {
  text(s: string): string;
}

export function redactor(secrets: readonly string[]): Redactor {
  const forms = secretForms(secrets);
  const long = forms.filter((f) => f.length >= MIN_SUBSTRING_LENGTH);
  const short = forms.filter((f) => f.length < MIN_SUBSTRING_LENGTH)
    .map((f) => new RegExp(`(?<=^|[${WORD_EDGE}])${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[${WORD_EDGE}])`, 'g'));
  return {
    text(s: string): string {
      let out = s;
      for (const f of long) if (out.includes(f)) out = out.split(f).join(REDACTED);
      for (const re of short) out = out.replace(re, REDACTED);
      return out;
    },
  };
}

export function redact(text: string, secrets: readonly string[]): string {
  return secrets.length === 0 ? text : redactor(secrets).text(text);
}

/** A JSON document (record, report, configuration) with every string and every key redacted. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const r = redactor(secrets);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return r.text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [r.text(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** A failure whose message, hint, path and details may quote a secret, as it may be answered. */
export function redactError(e: unknown, secrets: readonly string[]): XcsError {
  if (e instanceof ResolutionError) {
    // Still a resolution failure (the launch's fault, whatever its code), its explanation kept.
    const r = redactDeep({ message: e.message, hint: e.hint, path: e.path }, secrets);
    return new ResolutionError(e.code, r.message, e.explanation, r.path, r.hint);
  }
  if (e instanceof XcsError) {
    const r = redactDeep({ message: e.message, hint: e.hint, path: e.path, details: e.details }, secrets);
    return new XcsError(e.code, r.message, { ...(e.statusGiven ? { status: e.status } : {}), ...(r.hint === undefined ? {} : { hint: r.hint }),
      ...(r.path === undefined ? {} : { path: r.path }), details: r.details, cause: e });
  }
  return new XcsError('internal', redact(messageOf(e), secrets), { cause: e });
}

/** What must never leave the server about a run: its recorded secrets (token secret included) and sensitive values. */
export function runSecrets(run: { secrets: readonly string[]; spec: RunSpec }): string[] {
  return [...run.secrets, ...sensitiveValues(run.spec)];
}

/**
 * Redacts a stream of text chunks. It only emits complete lines (plus the remainder at the end), so a
 * secret split across two chunks is still found — unless it spans a line break, which a value cannot.
 */
export async function* redactLines(chunks: AsyncIterable<Buffer | string>, secrets: readonly string[]): AsyncGenerator<string> {
  const r = redactor(secrets);
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) continue;
    yield r.text(pending.slice(0, cut + 1));
    pending = pending.slice(cut + 1);
  }
  if (pending) yield r.text(pending);
}
