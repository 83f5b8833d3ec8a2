import { toneOf } from './status.ts';

/** A run status as a coloured pill; the text itself carries the meaning (colour is only a help). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${toneOf(status)}`}>{status}</span>;
}
