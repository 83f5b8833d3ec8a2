/** XNAT writes times as `2026-11-26T07:40:21.836+0000`; browsers want the offset as `+00:00`. */
export function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A server time shown in the viewer's local time, with the exact instant in `dateTime`. */
export function LocalTime({ value, withDate = true }: { value: string | null | undefined; withDate?: boolean }) {
  const d = parseTime(value);
  if (!d) return <span className="muted">—</span>;
  const text = withDate ? d.toLocaleString() : d.toLocaleTimeString();
  return <time dateTime={d.toISOString()}>{text}</time>;
}
