/** Hides sensitive values (the callback token's secret, sensitive inputs) in logs and API responses. */

export const REDACTED = '******';

/** Values shorter than this are not redacted: masking every "1" or "a" would destroy the logs. */
const MIN_SECRET_LENGTH = 4;

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    out = out.split(s).join(REDACTED);
  }
  return out;
}

/**
 * Redacts a stream of text chunks. It only emits complete lines (plus the remainder at the end), so a
 * secret split across two chunks is still found — unless it spans a line break, which a value cannot.
 */
export async function* redactLines(chunks: AsyncIterable<Buffer | string>, secrets: readonly string[]): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) continue;
    yield redact(pending.slice(0, cut + 1), secrets);
    pending = pending.slice(cut + 1);
  }
  if (pending) yield redact(pending, secrets);
}
