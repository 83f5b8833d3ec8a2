/** XNAT's run statuses grouped the way people look for them (reference §3.4). */

export type StatusTone = 'ok' | 'bad' | 'killed' | 'active' | 'waiting';

export function isTerminal(status: string): boolean {
  return status.startsWith('Complete') || status.startsWith('Failed') || status.startsWith('Killed');
}

export function toneOf(status: string): StatusTone {
  if (status.startsWith('Complete')) return 'ok';
  if (status.startsWith('Failed')) return 'bad';
  if (status.startsWith('Killed')) return 'killed';
  if (status === 'Queued' || status === 'Waiting') return 'waiting';
  return 'active';
}

/** The status filter of the runs list: each option is the query it sends. */
export const STATUS_FILTERS: Array<{ key: string; label: string; query: Record<string, string> }> = [
  { key: '', label: 'Any status', query: {} },
  { key: 'active', label: 'Not finished', query: { nonfinalized: 'true' } },
  { key: 'complete', label: 'Complete', query: { status: 'Complete' } },
  {
    key: 'failed', label: 'Failed',
    query: { status: ['Failed', 'Failed (Upload)', 'Failed (Setup)', 'Failed (Wrapup)', 'Failed (Command resolution)',
      'Failed (Container launch)', 'Failed (Orphaned)', 'Failed (Timeout)'].join(',') },
  },
  { key: 'killed', label: 'Killed', query: { status: 'Killed,Killed (Out of Memory)' } },
];
