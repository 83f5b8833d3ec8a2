/**
 * The archive, level by level: projects → subjects → sessions → scans and assessments → resources → files. Each
 * object's page shows its fields, its children (one tab per collection, server-paged), what can run on it and
 * its provenance; a resource adds the zip download and an upload form, a project the DICOM import. Everything
 * shown is what `/data` and `/xapi` give this user: a project they cannot read is a 404 like a missing one.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ErrorBox } from '../components/States.tsx';
import { Tabs } from '../components/Tabs.tsx';
import { useLoad } from '../components/useLoad.ts';
import { Link, setQuery, useLocation } from '../router.tsx';
import { CHILDREN, COLLECTION_TITLES, listingUrl, uiPath, type ArchiveLevel } from './archivePath.ts';
import { Listing, loadListing } from './Listing.tsx';
import { Facts, Provenance, RunHere } from './ObjectPanels.tsx';
import { DicomImport, UploadFiles } from './Transfers.tsx';

const KIND_TITLES: Record<ArchiveLevel['kind'], string> = {
  site: 'Data', project: 'Project', subject: 'Subject', session: 'Session', scan: 'Scan', assessor: 'Assessment', resource: 'Resource',
};
const STEP_TITLES: Record<string, string> = {
  projects: 'project', subjects: 'subject', experiments: 'session', scans: 'scan', assessors: 'assessment', resources: 'resource',
};

function Crumbs({ level }: { level: ArchiveLevel }) {
  return (
    <nav aria-label="Breadcrumbs" className="crumbs">
      <Link to="/data">Data</Link>
      {level.steps.map((s, i) => (
        <span key={i}>
          {' / '}
          {i === level.steps.length - 1
            ? <span aria-current="page">{s.id}</span>
            : <Link to={uiPath(level.steps.slice(0, i + 1))} aria-label={`${STEP_TITLES[s.collection]} ${s.id}`}>{s.id}</Link>}
        </span>
      ))}
    </nav>
  );
}

/**
 * How many of each child collection there are: one `limit=0` request each (the server counts), except the tab
 * shown first, whose listing reports its total itself — on a project of 10,000 sessions, listing them twice
 * would double the page's first render.
 */
function useCounts(level: ArchiveLevel, collections: string[], firstTab: string, reloadKey: number): Record<string, number | undefined> {
  const skip = useRef(firstTab);
  const counts = useLoad(async (s) => {
    const out: Record<string, number> = {};
    await Promise.all(collections.filter((c) => c !== skip.current).map(async (c) => {
      out[c] = (await loadListing(`${listingUrl(level, c)}&limit=0`, s)).total;
    }));
    return out;
  }, [level.rest, reloadKey]);
  return counts.data ?? {};
}

export function DataPage({ level }: { level: ArchiveLevel }) {
  const { query: q } = useLocation();
  const collections = CHILDREN[level.kind];
  const tab = collections.includes(q.get('tab') ?? '') ? q.get('tab')! : collections[0];
  const [reloadKey, setReloadKey] = useState(0);
  const [reported, setReported] = useState<Record<string, number>>({});
  const fetched = useCounts(level, collections, tab, reloadKey);
  const counts = { ...fetched, ...reported };
  const onTotal = useCallback((collection: string, total: number) => setReported((r) => (r[collection] === total ? r : { ...r, [collection]: total })), []);
  const here = level.steps[level.steps.length - 1];
  const title = here ? `${KIND_TITLES[level.kind]} ${here.id}` : 'Data';
  useEffect(() => { document.title = `${title} · XCS`; }, [title]);
  const bump = (): void => setReloadKey((k) => k + 1);
  const path = uiPath(level.steps);

  return (
    <section aria-labelledby="data-title" className="data-page" data-kind={level.kind}>
      <Crumbs level={level} />
      <div className="page-head">
        <h1 id="data-title">{title}</h1>
        {level.kind === 'resource' ? (
          <div className="actions">
            <a className="button" href={`${level.rest}/files?format=zip`} download>Download all (zip)</a>
          </div>
        ) : null}
      </div>
      {level.kind !== 'site' ? <Facts level={level} /> : <p className="help">The projects you may read. Open one to browse its subjects, sessions, scans and files.</p>}

      {collections.length > 1 ? (
        <Tabs label="Contents" idPrefix="tab-" panelId={`panel-${tab}`} selected={tab} onSelect={(c) => setQuery(path, { tab: c })}
          tabs={collections.map((c) => ({ key: c, label: <>{COLLECTION_TITLES[c]} <span className="count">{counts[c] ?? '…'}</span></> }))} />
      ) : <h2>{COLLECTION_TITLES[tab]} <span className="count">{counts[tab] ?? ''}</span></h2>}
      <div role={collections.length > 1 ? 'tabpanel' : undefined} id={`panel-${tab}`} aria-labelledby={collections.length > 1 ? `tab-${tab}` : undefined}>
        <Listing level={level} collection={tab} reloadKey={reloadKey} onTotal={onTotal} />
      </div>

      {level.kind === 'resource' ? <UploadFiles resourceRest={level.rest} onUploaded={bump} /> : null}
      {level.kind === 'project' && level.project ? <DicomImport project={level.project} onImported={bump} /> : null}
      {level.kind !== 'site' && level.kind !== 'resource' ? <RunHere level={level} /> : null}
      {level.kind !== 'site' ? <Provenance level={level} /> : null}
    </section>
  );
}

export function DataNotFound({ path }: { path: string }) {
  return (
    <section>
      <h1>Not a data address</h1>
      <ErrorBox message={`${path} names no archive object`} hint="Data addresses follow the REST paths: /ui/data/projects/P/subjects/S/experiments/E/…" />
    </section>
  );
}

