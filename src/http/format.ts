/**
 * XNAT's response shapes: `ResultSet` listings in JSON or CSV (pyxnat reads CSV, and always needs a
 * header row), and error bodies.
 */
import type { FastifyReply } from 'fastify';

export type Row = Record<string, string>;

export interface Listing {
  title: string;
  columns: string[];
  rows: Row[];
  /** Extra top-level keys of the JSON form (files listings carry `Columns`). */
  extra?: Record<string, unknown>;
  /** Matches in all pages when the listing was paged (`data/paging.ts`); else the row count. */
  total?: number;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(l: Listing): string {
  const lines = [l.columns.map(csvCell).join(',')];
  for (const r of l.rows) lines.push(l.columns.map((c) => csvCell(r[c] ?? '')).join(','));
  return lines.join('\n') + '\n';
}

export function toResultSet(l: Listing): unknown {
  const result = l.rows.map((r) => Object.fromEntries(l.columns.map((c) => [c, r[c] ?? ''])));
  return { ResultSet: { Result: result, totalRecords: String(l.total ?? result.length), title: l.title, ...(l.extra ?? {}) } };
}

/**
 * The JSON text of `toResultSet(l)`. Listings of 10,000 files must stay fast: rows are rebuilt with the
 * listing's columns in order (one object shape, which V8 serialises on its fast path) and stringified once.
 */
export function resultSetJson(l: Listing): string {
  const columns = l.columns;
  // An object would put index-like keys first and treat `__proto__` specially; such columns are written by hand.
  if (columns.some((c) => c === '__proto__' || /^(0|[1-9]\d*)$/.test(c))) return resultSetJsonByHand(l);
  const n = columns.length;
  const result = new Array<Row>(l.rows.length);
  for (let j = 0; j < l.rows.length; j++) {
    const r = l.rows[j];
    const o: Row = {};
    for (let i = 0; i < n; i++) o[columns[i]] = r[columns[i]] ?? '';
    result[j] = o;
  }
  return JSON.stringify({ ResultSet: { Result: result, totalRecords: String(l.total ?? result.length), title: l.title, ...(l.extra ?? {}) } });
}

function resultSetJsonByHand(l: Listing): string {
  const keys = l.columns.map((c) => `${JSON.stringify(c)}:`);
  const parts: string[] = [];
  for (const r of l.rows) {
    let s = '{';
    for (let i = 0; i < keys.length; i++) s += `${i ? ',' : ''}${keys[i]}${JSON.stringify(r[l.columns[i]] ?? '')}`;
    parts.push(s + '}');
  }
  const extra = Object.entries(l.extra ?? {}).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
  return `{"ResultSet":{"Result":[${parts.join(',')}],"totalRecords":"${l.total ?? l.rows.length}","title":${JSON.stringify(l.title)}${extra}}}`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

export function toHtmlTable(l: Listing): string {
  const head = l.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = l.rows.map((r) => `<tr>${l.columns.map((c) => `<td>${escapeHtml(r[c] ?? '')}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>\n`;
}

/** Sends a listing in the requested format (`json` default; `csv`, `html`; anything else json). */
export function sendListing(reply: FastifyReply, l: Listing, format: string | undefined): FastifyReply {
  switch ((format ?? 'json').toLowerCase()) {
    case 'csv':
      return reply.type('text/csv; charset=utf-8').send(toCsv(l));
    case 'html':
      return reply.type('text/html; charset=utf-8').send(toHtmlTable(l));
    default:
      return reply.type('application/json; charset=utf-8').send(resultSetJson(l));
  }
}
