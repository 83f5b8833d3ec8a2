/**
 * Server paging of `/data` listings (XCS addition, off unless asked): `offset` and `limit` cut the filtered rows
 * and `sortBy`/`sortOrder` order them first, so the console shows page 1 of 10,000 sessions without fetching
 * them all. `totalRecords` then counts every match, not just the page; `limit=0` is a count alone. Without these
 * parameters a listing is XNAT's, whole and in its usual order, so existing clients see no change (XNAT's own
 * listings already accept and ignore the names, which the archive routes list as reserved).
 */
import { XcsError } from '../../core/errors.ts';
import type { Row } from '../format.ts';

export interface PagedRows {
  rows: Row[];
  /** Matches before paging; undefined when no paging was asked (totalRecords is then the row count). */
  total?: number;
}

const MAX_LIMIT = 100_000;
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function whole(value: string, name: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new XcsError('archive.bad-paging', `${name} must be a whole number from 0 to ${max}, not "${value}"`, { status: 400, path: name });
  }
  return Number(value);
}

/** Sorts (when `sortBy` names a column), then cuts `[offset, offset + limit)`. */
export function pageRows(rows: Row[], query: Record<string, string | undefined>): PagedRows {
  const { offset, limit, sortBy, sortOrder } = query;
  if (offset === undefined && limit === undefined && sortBy === undefined) return { rows };
  let out = rows;
  if (sortBy !== undefined && sortBy !== '') {
    if (!/^[\w:/.-]{1,100}$/.test(sortBy)) {
      throw new XcsError('archive.bad-paging', `sortBy must be a column name, not "${sortBy.slice(0, 100)}"`, { status: 400, path: 'sortBy' });
    }
    const dir = (sortOrder ?? 'ASC').toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') {
      throw new XcsError('archive.bad-paging', `sortOrder must be ASC or DESC, not "${sortOrder}"`, { status: 400, path: 'sortOrder' });
    }
    const sign = dir === 'DESC' ? -1 : 1;
    const key = sortBy.split('/').pop()!;
    out = [...rows].sort((a, b) => sign * collator.compare(a[key] ?? '', b[key] ?? ''));
  }
  const start = offset === undefined || offset === '' ? 0 : whole(offset, 'offset', Number.MAX_SAFE_INTEGER);
  const count = limit === undefined || limit === '' ? MAX_LIMIT : whole(limit, 'limit', MAX_LIMIT);
  return { rows: out.slice(start, start + count), total: rows.length };
}
