/**
 * Read-only aggregates over the run table for the console's dashboard (`GET /xapi/dashboard`): runs per hour by
 * outcome, queue wait and run time per command (percentiles), failures by cause with their hint, the busiest
 * projects. One indexed-by-rowid scan of the window's runs and one look-up of each run's start in its history;
 * nothing is written and no record is parsed beyond the columns read.
 */
import { sqlList } from '../../core/database/sync-sql.ts';
import type { RunDatabase } from './db.ts';
import { failureRule, isFailureCode, isTerminal } from './state-machine.ts';

/** How a run ended (or that it has not): the groups the dashboard counts and draws. */
export type RunOutcome = 'complete' | 'failed' | 'killed' | 'active';
export const RUN_OUTCOMES: readonly RunOutcome[] = ['complete', 'failed', 'killed', 'active'];

export interface Percentiles {
  /** How many runs the figures are over. */
  n: number;
  p50: number | null;
  p90: number | null;
  max: number | null;
}

export interface RunStatsQuery {
  /** Epoch ms: runs created at or after this. */
  since: number;
  /** Epoch ms: the end of the window (now). */
  until: number;
  /** Runs the viewer may count: launched by `login` or in `projects`. Absent = all (container managers). */
  visibleTo?: { login: string; projects: readonly string[] };
}

export interface RunStats {
  since: string;
  until: string;
  totals: Record<RunOutcome, number> & { runs: number };
  /** One bucket per hour of the window, oldest first; `hour` is the bucket's start. */
  perHour: Array<{ hour: string } & Record<RunOutcome, number>>;
  /** By command, most runs first: time from creation to the container's start, and from start to the end (ms). */
  commands: Array<{ 'command-id': number; runs: number; failed: number; 'queue-wait-ms': Percentiles; 'duration-ms': Percentiles }>;
  /** By failure cause, most frequent first, with what to do about it and the newest run of that cause. */
  failures: Array<{ code: string; status: string; count: number; hint: string; 'last-run': number }>;
  /** By project, most runs first (at most 10). */
  projects: Array<{ project: string; runs: number; failed: number; active: number }>;
}

const HOUR = 3_600_000;
const BUSIEST = 10;

export function outcomeOf(status: string): RunOutcome {
  if (status.startsWith('Complete')) return 'complete';
  if (status.startsWith('Failed')) return 'failed';
  if (status.startsWith('Killed')) return 'killed';
  return 'active';
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50: null, p90: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: rank(sorted, 50), p90: rank(sorted, 90), max: sorted[sorted.length - 1] };
}

interface StatsRow {
  id: number;
  command_id: number;
  project: string | null;
  status: string;
  status_time: number;
  created_at: number;
  failure_code: string | null;
  failure_hint: string | null;
  /** The first time the run's container was recorded running (or created, when it exited before that). */
  started: number | null;
}

function emptyCounts(): Record<RunOutcome, number> {
  return { complete: 0, failed: 0, killed: 0, active: 0 };
}

export function runStats(db: RunDatabase, q: RunStatsQuery): RunStats {
  const args: Array<string | number> = [q.since];
  let visible = '';
  if (q.visibleTo) {
    const ps = q.visibleTo.projects;
    visible = ps.length > 0 ? ` AND (r.user_id = ? OR r.project IN ${sqlList(ps)})` : ' AND r.user_id = ?';
    args.push(q.visibleTo.login, ...ps);
  }
  const rows = db.prepare(`SELECT r.id, r.command_id, r.project, r.status, r.status_time, r.created_at, r.failure_code, r.failure_hint,
      (SELECT min(h.time_recorded) FROM history h WHERE h.run_id = r.id AND h.status IN ('Running', 'Created')) AS started
    FROM runs r WHERE r.created_at >= ?${visible} ORDER BY r.id`).all(...args) as StatsRow[];

  const firstHour = Math.floor(q.since / HOUR) * HOUR;
  const hours = Math.max(1, Math.ceil((q.until - firstHour) / HOUR));
  const perHour = Array.from({ length: hours }, (_, i) => ({ hour: new Date(firstHour + i * HOUR).toISOString(), ...emptyCounts() }));
  const totals = { runs: 0, ...emptyCounts() };
  const byCommand = new Map<number, { runs: number; failed: number; waits: number[]; durations: number[] }>();
  const byCause = new Map<string, { status: string; count: number; hint: string; last: number }>();
  const byProject = new Map<string, { runs: number; failed: number; active: number }>();

  for (const r of rows) {
    const outcome = outcomeOf(r.status);
    totals.runs++;
    totals[outcome]++;
    const bucket = perHour[Math.floor((r.created_at - firstHour) / HOUR)];
    if (bucket) bucket[outcome]++;

    const c = byCommand.get(r.command_id) ?? { runs: 0, failed: 0, waits: [], durations: [] };
    c.runs++;
    if (outcome === 'failed' || outcome === 'killed') c.failed++;
    if (r.started !== null) {
      c.waits.push(Math.max(0, r.started - r.created_at));
      if (isTerminal(r.status)) c.durations.push(Math.max(0, r.status_time - r.started));
    }
    byCommand.set(r.command_id, c);

    if (outcome === 'failed' || outcome === 'killed') {
      const code = r.failure_code ?? 'unknown';
      const f = byCause.get(code) ?? {
        status: r.status, count: 0, last: r.id,
        hint: r.failure_hint ?? (isFailureCode(code) ? failureRule(code).hint : 'The run\'s history says what happened.'),
      };
      f.count++;
      f.last = r.id;
      byCause.set(code, f);
    }

    if (r.project !== null) {
      const p = byProject.get(r.project) ?? { runs: 0, failed: 0, active: 0 };
      p.runs++;
      if (outcome === 'failed' || outcome === 'killed') p.failed++;
      if (outcome === 'active') p.active++;
      byProject.set(r.project, p);
    }
  }

  return {
    since: new Date(q.since).toISOString(),
    until: new Date(q.until).toISOString(),
    totals,
    perHour,
    commands: [...byCommand].sort((a, b) => b[1].runs - a[1].runs).map(([id, c]) => ({
      'command-id': id, runs: c.runs, failed: c.failed, 'queue-wait-ms': percentiles(c.waits), 'duration-ms': percentiles(c.durations),
    })),
    failures: [...byCause].sort((a, b) => b[1].count - a[1].count)
      .map(([code, f]) => ({ code, status: f.status, count: f.count, hint: f.hint, 'last-run': f.last })),
    projects: [...byProject].sort((a, b) => b[1].runs - a[1].runs || a[0].localeCompare(b[0])).slice(0, BUSIEST)
      .map(([project, p]) => ({ project, ...p })),
  };
}
