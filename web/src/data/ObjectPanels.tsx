/**
 * The panels of one archive object: its fields, what can run on it (the wrappers that can, the "why not" of the
 * others, and a launch form), and its provenance — the runs that used it and the runs that produced it.
 */
import { useState } from 'react';
import { getJson, messageOf, query } from '../api/client.ts';
import type { Availability, WrapperSummary } from '../api/types.ts';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { useLoad } from '../components/useLoad.ts';
import { LaunchForm } from '../launch/LaunchForm.tsx';
import { WrapperChooser } from '../launch/WrapperChooser.tsx';
import { Link } from '../router.tsx';
import type { ArchiveLevel } from './archivePath.ts';

interface ItemsDoc {
  items: Array<{ meta: Record<string, unknown>; data_fields: Record<string, unknown> }>;
}

/** Fields worth showing first; the rest follow in the server's order. */
const FIRST = ['label', 'ID', 'name', 'type', 'xsiType', 'date', 'modality', 'series_description', 'format', 'content', 'file_count', 'file_size'];

export function Facts({ level }: { level: ArchiveLevel }) {
  const doc = useLoad((s) => getJson<ItemsDoc>(`${level.rest}?format=json`, s).then((r) => r.data), [level.rest]);
  if (doc.error) return <ErrorBox title="Could not read this object" message={messageOf(doc.error)} />;
  if (!doc.data) return <Loading what="the object" />;
  const item = doc.data.items[0];
  const fields = Object.entries(item?.data_fields ?? {}).filter(([, v]) => v !== '' && v !== null && typeof v !== 'object');
  fields.sort((a, b) => {
    const ia = FIRST.indexOf(a[0]);
    const ib = FIRST.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const type = item?.meta['xsi:type'];
  return (
    <dl className="facts" data-testid="object-facts">
      {typeof type === 'string' ? <div><dt>Type</dt><dd>{type}</dd></div> : null}
      {fields.slice(0, 12).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{String(v)}</dd></div>)}
    </dl>
  );
}

export function RunHere({ level }: { level: ArchiveLevel }) {
  const [wrapper, setWrapper] = useState<WrapperSummary | null>(null);
  const availability = useLoad((s) => getJson<Availability>(`/xapi/availability${query({ object: level.uri })}`, s).then((r) => r.data), [level.uri]);
  return (
    <section className="panel" aria-labelledby="run-here-title">
      <h2 id="run-here-title">What can run here</h2>
      {availability.error ? <ErrorBox title="Cannot check what runs here" message={messageOf(availability.error)} /> : null}
      {!availability.data && !availability.error ? <Loading what="the wrappers" /> : null}
      {availability.data ? <WrapperChooser availability={availability.data} chosen={wrapper?.['wrapper-id'] ?? null} onChoose={setWrapper} /> : null}
      {wrapper && level.project ? (
        <LaunchForm key={wrapper['wrapper-id']} project={level.project} wrapperId={wrapper['wrapper-id']} commandId={wrapper['command-id']}
          root={wrapper['root-element-name']} objectUri={level.uri} />
      ) : null}
    </section>
  );
}

interface ProvenanceRun {
  id: number;
  status: string;
  'user-id': string | null;
  /** The launch record's command and wrapper (objects with at least a name). */
  command: { name?: string } | null;
  wrapper: { name?: string } | null;
  launched: string | null;
  scrubbed: boolean;
  inputs?: Array<{ name: string; uri: string; match: string }>;
  outputs?: Array<{ name: string; uri: string; match: string }>;
}

interface ProvenanceAnswer {
  total: number;
  runs: ProvenanceRun[];
}

function RunList({ answer, relation }: { answer: ProvenanceAnswer; relation: 'used' | 'produced' }) {
  if (answer.runs.length === 0) return <Empty>{relation === 'used' ? 'No run you can see used it.' : 'No run you can see produced it.'}</Empty>;
  return (
    <ul className="prov-runs">
      {answer.runs.slice(0, 50).map((r) => {
        const objects = (relation === 'used' ? r.inputs : r.outputs) ?? [];
        return (
          <li key={r.id} data-run-id={r.id}>
            <Link to={`/runs/${r.id}`}>run #{r.id}</Link> <StatusBadge status={r.status} />{' '}
            <span>{r.wrapper?.name ?? r.command?.name ?? ''}</span> <span className="muted">{r['user-id'] ?? ''}</span>
            {objects.length > 0 ? <span className="muted"> · {objects.map((o) => `${o.name} (${o.match})`).join(', ')}</span> : null}
          </li>
        );
      })}
      {answer.total > 50 ? <li className="muted">and {answer.total - 50} more</li> : null}
    </ul>
  );
}

export function Provenance({ level }: { level: ArchiveLevel }) {
  const used = useLoad((s) => getJson<ProvenanceAnswer>(`/xapi/provenance/used${query({ object: level.uri })}`, s).then((r) => r.data), [level.uri]);
  const produced = useLoad((s) => getJson<ProvenanceAnswer>(`/xapi/provenance/produced${query({ object: level.uri })}`, s).then((r) => r.data), [level.uri]);
  return (
    <section className="panel" aria-labelledby="prov-title" data-testid="provenance">
      <h2 id="prov-title">Provenance</h2>
      <div className="grid-2">
        <div>
          <h3>Runs that produced it</h3>
          {produced.error ? <ErrorBox message={messageOf(produced.error)} /> : null}
          {produced.data ? <RunList answer={produced.data} relation="produced" /> : produced.error ? null : <Loading what="runs" />}
        </div>
        <div>
          <h3>Runs that used it</h3>
          {used.error ? <ErrorBox message={messageOf(used.error)} /> : null}
          {used.data ? <RunList answer={used.data} relation="used" /> : used.error ? null : <Loading what="runs" />}
        </div>
      </div>
    </section>
  );
}
