/**
 * One collection under an archive object, paged by the server (`offset`, `limit`, `sortBy` on `/data` listings,
 * `totalRecords` the count of all matches) and drawn with a virtualised table: 10,000 sessions arrive a page of
 * 500 at a time and only the rows in view are in the DOM. The filter asks the server (`label=*text*`).
 */
import { useEffect, useState } from 'react';
import { getJson, messageOf } from '../api/client.ts';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { VirtualTable } from '../components/VirtualTable.tsx';
import { useLoad } from '../components/useLoad.ts';
import { COLLECTION_TITLES, listingUrl, type ArchiveLevel } from './archivePath.ts';
import { VIEWS, type ArchiveRow } from './columns.tsx';

export const PAGE_SIZE = 500;

interface ListingPage {
  rows: ArchiveRow[];
  total: number;
}

export async function loadListing(url: string, signal?: AbortSignal): Promise<ListingPage> {
  const { data } = await getJson<{ ResultSet: { Result: ArchiveRow[]; totalRecords?: string } }>(url, signal);
  return { rows: data.ResultSet.Result, total: Number(data.ResultSet.totalRecords ?? data.ResultSet.Result.length) };
}

interface Props {
  level: ArchiveLevel;
  collection: string;
  reloadKey?: number;
  /** Told the number of all rows (unfiltered) whenever a page arrives, for the tab's count. */
  onTotal?: (collection: string, total: number) => void;
}

export function Listing({ level, collection, reloadKey = 0, onTotal }: Props) {
  const view = VIEWS[collection];
  const [page, setPage] = useState(0);
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  useEffect(() => { setPage(0); setFilter(''); setApplied(''); }, [level.rest, collection]);
  useEffect(() => {
    const t = setTimeout(() => { setApplied(filter.trim()); setPage(0); }, 250);
    return () => clearTimeout(t);
  }, [filter]);

  const base = listingUrl(level, collection);
  const params = new URLSearchParams({ offset: String(page * PAGE_SIZE), limit: String(PAGE_SIZE), sortBy: view.sortField });
  if (applied && view.filterField) params.set(view.filterField, `*${applied}*`);
  const listing = useLoad((s) => loadListing(`${base}&${params.toString()}`, s), [base, page, applied, reloadKey]);
  useEffect(() => {
    if (listing.data && !applied) onTotal?.(collection, listing.data.total);
  }, [listing.data, applied, collection, onTotal]);
  const title = COLLECTION_TITLES[collection];
  const rows = listing.data?.rows ?? [];
  const total = listing.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <section className="listing" aria-label={title} data-collection={collection}>
      <div className="listing-head">
        {view.filterField ? (
          <label className="inline-field">
            Filter {title.toLowerCase()}
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={`${view.filterField} contains…`} />
          </label>
        ) : null}
        <span className="muted" aria-live="polite" data-testid={`${collection}-count`}>
          {listing.data ? `${total} ${title.toLowerCase()}${applied ? ` matching “${applied}”` : ''}` : ''}
        </span>
      </div>
      {listing.error ? <ErrorBox title={`Could not list the ${title.toLowerCase()}`} message={messageOf(listing.error)} /> : null}
      {!listing.data && !listing.error ? <Loading what={title.toLowerCase()} /> : null}
      {listing.data && rows.length === 0 ? <Empty>{applied ? 'Nothing matches the filter.' : `No ${title.toLowerCase()} here.`}</Empty> : null}
      {rows.length > 0 ? (
        <VirtualTable caption={title} columns={view.columns(level, collection)} rows={rows} rowKey={(r) => view.idOf(r)} testId={`table-${collection}`} />
      ) : null}
      {pages > 1 ? (
        <nav className="pager" aria-label={`${title} pages`}>
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>Previous {PAGE_SIZE}</button>
          <span>Rows {page * PAGE_SIZE + 1}–{Math.min(total, (page + 1) * PAGE_SIZE)} of {total}</span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Next {PAGE_SIZE}</button>
        </nav>
      ) : null}
    </section>
  );
}
