/**
 * Durations and memory sizes as people write them in command JSON: `10s`, `5m`, `2h`, `1h30m`, `500ms`, `1d`;
 * `16g`, `4096m`, `512M`. Shared by the command validator and the run engine, so both read them the same way.
 */

const DURATION_UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
/** Units in the order they must appear: `1h30m`, not `30m1h`. */
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'];
const DURATION_PART = /(\d+)(ms|d|h|m|s)/gy;

/** Milliseconds of a duration such as `1h30m`; null when the text is not one (a bare number has no unit). */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let lastUnit = -1;
  let m: RegExpExecArray | null;
  while (DURATION_PART.lastIndex < t.length && (m = DURATION_PART.exec(t)) !== null) {
    const unit = UNIT_ORDER.indexOf(m[2]);
    if (unit <= lastUnit) return null;
    lastUnit = unit;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
  }
  if (DURATION_PART.lastIndex !== t.length || lastUnit < 0 || !Number.isSafeInteger(total)) return null;
  return total;
}

/** `5400000` → `1h30m`; `0` → `0s`. The inverse of `parseDuration` for whole units. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of UNIT_ORDER) {
    const n = Math.floor(rest / DURATION_UNITS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * DURATION_UNITS[unit];
    }
  }
  return out;
}

const SIZE_UNITS_MIB: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 };

/**
 * MiB of a memory size such as `16g`, `4096m`, `512Mi` or `2GB` (binary units, as Docker's); a bare number is
 * MiB, like `limit-memory`. Null when the text is not a size.
 */
export function parseMemoryMiB(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b|i)?)?\s*$/i.exec(text);
  if (!m) return null;
  const mib = Number(m[1]) * (m[2] ? SIZE_UNITS_MIB[m[2].toLowerCase()] : 1);
  return Number.isFinite(mib) && mib > 0 ? Math.floor(mib) : null;
}
