/** A run's history, oldest first: each status it went through, when (local time), and what was said. */
import type { HistoryItem } from '../api/types.ts';
import { LocalTime, parseTime } from '../components/LocalTime.tsx';
import { toneOf } from '../components/status.ts';

export function HistoryTimeline({ history }: { history: HistoryItem[] }) {
  const items = [...history].sort((a, b) => (parseTime(a['time-recorded'])?.getTime() ?? 0) - (parseTime(b['time-recorded'])?.getTime() ?? 0) || a.id - b.id);
  if (items.length === 0) return <p className="muted">No history is shown to you for this run.</p>;
  return (
    <ol className="timeline">
      {items.map((h) => (
        <li key={h.id} className={`tone-${toneOf(h.status)}`}>
          <span className="timeline-time"><LocalTime value={h['time-recorded']} /></span>
          <span className="timeline-status">{h.status}</span>
          {h.message ? <span className="timeline-message">{h.message}</span> : null}
          {h.exitCode !== null && h.exitCode !== undefined ? <span className="muted"> (exit code {h.exitCode})</span> : null}
        </li>
      ))}
    </ol>
  );
}
