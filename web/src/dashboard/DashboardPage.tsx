/**
 * The service at a glance, from `GET /xapi/dashboard` (aggregates of the runs the user may see) and the runs
 * not yet finished (`GET /xapi/containers?nonfinalized=true`): runs per hour by outcome, queue wait and run time
 * per command (median and 90th percentile), failures by cause with what to do, the busiest projects, and what
 * is running now. Refreshed when the live status stream reports a change (else every 15 s).
 */
import { useMemo, useRef, useState } from 'react';
import type uPlot from 'uplot';
import { getJson, messageOf } from '../api/client.ts';
import { loadCommands } from '../api/lookups.ts';
import type { Command, Container } from '../api/types.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { formatDuration } from '../components/format.ts';
import { usePolling } from '../components/usePolling.ts';
import { useDebounced, useStatusStream } from '../components/useStatusStream.ts';
import { useLoad } from '../components/useLoad.ts';
import { Link } from '../router.tsx';
import { Chart } from './Chart.tsx';

interface Percentiles { n: number; p50: number | null; p90: number | null; max: number | null }
type Outcome = 'complete' | 'failed' | 'killed' | 'active';
interface Stats {
  since: string;
  until: string;
  totals: Record<Outcome, number> & { runs: number };
  perHour: Array<{ hour: string } & Record<Outcome, number>>;
  commands: Array<{ 'command-id': number; runs: number; failed: number; 'queue-wait-ms': Percentiles; 'duration-ms': Percentiles }>;
  failures: Array<{ code: string; status: string; count: number; hint: string; 'last-run': number }>;
  projects: Array<{ project: string; runs: number; failed: number; active: number }>;
}

/** Outcome series: colour, dash pattern and marker, so the lines differ without colour too. */
const SERIES: Array<{ key: Outcome; label: string; stroke: string; dash: number[]; points: number }> = [
  { key: 'complete', label: 'Complete', stroke: '#1d7a3e', dash: [], points: 5 },
  { key: 'failed', label: 'Failed', stroke: '#b3261e', dash: [8, 4], points: 7 },
  { key: 'killed', label: 'Killed', stroke: '#5b4a8a', dash: [2, 3], points: 5 },
  { key: 'active', label: 'Not finished', stroke: '#1f5fbf', dash: [12, 3, 2, 3], points: 5 },
];

const HOURS = [6, 24, 72, 168];

function commandName(commands: Command[] | undefined, id: number): string {
  const c = commands?.find((x) => x.id === id);
  return c ? (c.label || c.name) : `command ${id}`;
}

export function DashboardPage() {
  const [hours, setHours] = useState(24);
  const commands = useLoad((s) => loadCommands(s), []);
  const reloadRef = useRef<() => void>(() => undefined);
  const reloadSoon = useDebounced(() => reloadRef.current(), 500);
  const { live } = useStatusStream(() => reloadSoon());
  const stats = usePolling<Stats>(async (s) => (await getJson<Stats>(`/xapi/dashboard?hours=${hours}`, s)).data, [hours], live ? 60_000 : 15_000);
  const running = usePolling<Container[]>(async (s) => (await getJson<Container[]>('/xapi/containers?nonfinalized=true&pageSize=20', s)).data, [], live ? 60_000 : 15_000);
  reloadRef.current = () => { stats.reload(); running.reload(); };

  const hourOptions = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(() => ({
    scales: { x: { time: true } },
    axes: [{}, { label: 'runs', size: 50 }],
    series: [{ label: 'Hour' }, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, dash: s.dash, points: { show: true, size: s.points } }))],
    legend: { show: true },
  }), []);
  const hourData = useMemo<uPlot.AlignedData>(() => {
    const ph = stats.data?.perHour ?? [];
    return [ph.map((h) => Date.parse(h.hour) / 1000), ...SERIES.map((s) => ph.map((h) => h[s.key]))];
  }, [stats.data]);
  const cmdOptions = useMemo<Omit<uPlot.Options, 'width' | 'height'>>(() => ({
    scales: {
      x: { time: false, range: (_u: uPlot, min: number, max: number) => [min - 0.5, max + 0.5] },
      y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.15 : 1] },
    },
    axes: [
      { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => (Number.isInteger(t) ? commandName(commands.data, stats.data?.commands[t]?.['command-id'] ?? -1) : '')) },
      { label: 'seconds', size: 50 },
    ],
    series: [
      { label: 'Command' },
      // Commands are categories, not a sequence: markers only, told apart by size and fill as well as colour.
      // The open 90th-percentile circle first, so an equal median's filled one is drawn over it.
      { label: 'Run time, 90th pct', stroke: '#1f5fbf', width: 2, paths: () => null, points: { show: true, size: 14, fill: '#ffffff' } },
      { label: 'Run time, median', stroke: '#1f5fbf', width: 2, paths: () => null, points: { show: true, size: 9, fill: '#1f5fbf' } },
      { label: 'Queue wait, median', stroke: '#8a5a00', width: 2, paths: () => null, points: { show: true, size: 7, fill: '#8a5a00' } },
    ],
  }), [commands.data, stats.data]);
  const cmdData = useMemo<uPlot.AlignedData>(() => {
    const cs = stats.data?.commands ?? [];
    const sec = (v: number | null): number | null => (v === null ? null : v / 1000);
    return [cs.map((_, i) => i), cs.map((c) => sec(c['duration-ms'].p90)), cs.map((c) => sec(c['duration-ms'].p50)), cs.map((c) => sec(c['queue-wait-ms'].p50))];
  }, [stats.data]);

  if (stats.error && !stats.data) return <section><h1>Dashboard</h1><ErrorBox title="Could not load the statistics" message={messageOf(stats.error)} /></section>;
  const d = stats.data;
  return (
    <section aria-labelledby="dash-title" className="dashboard">
      <div className="page-head">
        <h1 id="dash-title">Dashboard</h1>
        <label className="inline-field">Window
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {HOURS.map((h) => <option key={h} value={h}>{h < 48 ? `last ${h} hours` : `last ${h / 24} days`}</option>)}
          </select>
        </label>
      </div>
      {!d ? <Loading what="the statistics" /> : (
        <>
          <dl className="facts totals" data-testid="totals">
            <div><dt>Runs</dt><dd>{d.totals.runs}</dd></div>
            {SERIES.map((s) => <div key={s.key}><dt>{s.label}</dt><dd>{d.totals[s.key]}</dd></div>)}
          </dl>
          <div className="grid-2">
            <Chart title="Runs per hour by outcome" options={hourOptions} data={hourData} testId="chart-per-hour"
              note="Complete: solid line · Failed: dashed, large markers · Killed: dotted · Not finished: dash-dot." />
            <Chart key={`${d.commands.length}-${commands.data ? 1 : 0}`} title="Run time and queue wait per command (seconds)" options={cmdOptions} data={cmdData} testId="chart-commands"
              note="Run time median: filled blue circle · 90th percentile: open blue circle · queue wait median: small filled brown dot." />
          </div>

          <section className="panel" aria-labelledby="cmd-title">
            <h2 id="cmd-title">Per command</h2>
            {d.commands.length === 0 ? <Empty>No runs in this window.</Empty> : (
              <table data-testid="per-command">
                <thead><tr><th scope="col">Command</th><th scope="col" className="num">Runs</th><th scope="col" className="num">Failed</th>
                  <th scope="col" className="num">Queue wait median</th><th scope="col" className="num">90th pct</th>
                  <th scope="col" className="num">Run time median</th><th scope="col" className="num">90th pct</th><th scope="col" className="num">Longest</th></tr></thead>
                <tbody>
                  {d.commands.map((c) => (
                    <tr key={c['command-id']}>
                      <th scope="row">{commandName(commands.data, c['command-id'])}</th>
                      <td className="num">{c.runs}</td><td className="num">{c.failed}</td>
                      <td className="num">{formatDuration(c['queue-wait-ms'].p50)}</td><td className="num">{formatDuration(c['queue-wait-ms'].p90)}</td>
                      <td className="num">{formatDuration(c['duration-ms'].p50)}</td><td className="num">{formatDuration(c['duration-ms'].p90)}</td>
                      <td className="num">{formatDuration(c['duration-ms'].max)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <div className="grid-2">
            <section className="panel" aria-labelledby="fail-title">
              <h2 id="fail-title">Failures by cause</h2>
              {d.failures.length === 0 ? <Empty>No failures in this window.</Empty> : (
                <ul className="failures" data-testid="failures">
                  {d.failures.map((f) => (
                    <li key={f.code}>
                      <strong>{f.count} × {f.code}</strong> <span className="muted">({f.status}, latest <Link to={`/runs/${f['last-run']}`}>#{f['last-run']}</Link>)</span>
                      <p className="hint">{f.hint}</p>
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="panel" aria-labelledby="proj-title">
              <h2 id="proj-title">Busiest projects</h2>
              {d.projects.length === 0 ? <Empty>No project runs in this window.</Empty> : (
                <table>
                  <thead><tr><th scope="col">Project</th><th scope="col" className="num">Runs</th><th scope="col" className="num">Failed</th><th scope="col" className="num">Not finished</th></tr></thead>
                  <tbody>
                    {d.projects.map((p) => (
                      <tr key={p.project}><th scope="row"><Link to={`/data/projects/${encodeURIComponent(p.project)}`}>{p.project}</Link></th>
                        <td className="num">{p.runs}</td><td className="num">{p.failed}</td><td className="num">{p.active}</td></tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      )}

      <section className="panel" aria-labelledby="now-title">
        <h2 id="now-title">Running now {live ? <span className="muted">(live)</span> : null}</h2>
        {running.error ? <ErrorBox message={messageOf(running.error)} /> : null}
        {running.data && running.data.length === 0 ? <Empty>Nothing is running.</Empty> : null}
        {running.data && running.data.length > 0 ? (
          <ul className="running" data-testid="running-now">
            {running.data.map((r) => (
              <li key={r.id}><Link to={`/runs/${r.id}`}>#{r.id}</Link> <StatusBadge status={r.status} /> {r.project ?? ''} <span className="muted">since <LocalTime value={r['status-time']} /></span></li>
            ))}
          </ul>
        ) : null}
      </section>
    </section>
  );
}
