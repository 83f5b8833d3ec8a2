/**
 * XNAT's paginated container request, the body of `POST /xapi/containers` (reference §5.4):
 *
 *   { "page": 1, "size": 50, "sort_col": "timestamp", "sort_dir": "desc",
 *     "filters": { "status": {"like": "fail"}, "project": {"values": ["P1", "P2"]}, "timestamp": {"after": "2025-01-01T00:00:00Z"} } }
 *
 * Every field is optional (page 1, 50 a page, newest first). A filter is keyed by a column (`RUN_COLUMNS`) and
 * holds one or more of `like` (case-insensitive substring), `eq` or `value` (equality), `values` (any of) and,
 * for times and numbers, `before`/`after` (strictly; times as ISO-8601 strings or epoch milliseconds). Jackson's
 * leniency is kept where scripts rely on it: numbers may come as digit strings, unknown top-level fields and the
 * filters' `backend`/`type` markers are ignored. Anything else wrong is a 400 naming the JSON path, and an
 * unknown column lists the known ones.
 */
import { XcsError } from '../../core/errors.ts';
import { RUN_COLUMNS, type RunColumn, type RunCondition } from '../../runtime/index.ts';

export const DEFAULT_SORT_COLUMN: RunColumn = 'timestamp';

export interface SearchRequest {
  page: number;
  size: number;
  sort: { column: RunColumn; dir: 'asc' | 'desc' };
  conditions: RunCondition[];
}

export const COLUMN_NAMES = Object.keys(RUN_COLUMNS) as RunColumn[];
const FILTER_KEYS = ['like', 'eq', 'value', 'values', 'before', 'after'] as const;
/** Keys XNAT's filter objects may carry to select their Java type: meaningless here. */
const IGNORED_FILTER_KEYS = new Set(['backend', 'type']);

/** The OpenAPI description of the body (not a validation schema: the checks below give the JSON paths). */
export const searchBodySchema = {
  description: 'XNAT paginated request; every field optional',
  properties: {
    page: { description: 'page number, from 1 (default 1)' },
    size: { description: 'page size, 1 to the maximum (default 50)' },
    sort_col: { description: `column to sort by (default ${DEFAULT_SORT_COLUMN}): ${COLUMN_NAMES.join(', ')}` },
    sort_dir: { description: 'asc or desc (default desc)' },
    filters: { description: `by column: {like}, {eq} or {value}, {values: [...]}, {before}/{after} for times and numbers` },
  },
};

function bad(path: string, message: string): XcsError {
  return new XcsError('xapi.containers.bad-request', message, { status: 400, path });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isColumn(name: string): name is RunColumn {
  return Object.hasOwn(RUN_COLUMNS, name);
}

function column(name: string, path: string): RunColumn {
  if (!isColumn(name)) throw bad(path, `unknown column "${name}"; the columns are ${COLUMN_NAMES.join(', ')}`);
  return name;
}

function wholeNumber(value: unknown, path: string, min: number, max: number, dflt: number): number {
  if (value === undefined || value === null) return dflt;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw bad(path, `${path} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** A filter value as the column stores it: text, an integer, or epoch milliseconds. */
function columnValue(col: RunColumn, value: unknown, path: string): string | number {
  const type = RUN_COLUMNS[col].type;
  if (type === 'text') {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw bad(path, `${path} must be a string`);
  }
  if (type === 'int') {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
    throw bad(path, `${path} must be a whole number`);
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw bad(path, `${path} must be a time: an ISO-8601 string or epoch milliseconds`);
}

function conditionsOf(col: RunColumn, filter: unknown, path: string): RunCondition[] {
  if (!isRecord(filter)) throw bad(path, `${path} must be an object such as {"like": "..."}, {"eq": ...} or {"values": [...]}`);
  const out: RunCondition[] = [];
  for (const [key, value] of Object.entries(filter)) {
    const at = `${path}.${key}`;
    if (IGNORED_FILTER_KEYS.has(key)) continue;
    switch (key) {
      case 'like':
        if (typeof value !== 'string' && typeof value !== 'number') throw bad(at, `${at} must be a string`);
        out.push({ column: col, op: 'like', value: String(value) });
        break;
      case 'eq':
      case 'value':
        out.push({ column: col, op: 'eq', value: columnValue(col, value, at) });
        break;
      case 'values':
        if (!Array.isArray(value)) throw bad(at, `${at} must be an array`);
        out.push({ column: col, op: 'in', values: value.map((v, i) => columnValue(col, v, `${at}[${i}]`)) });
        break;
      case 'before':
      case 'after': {
        if (RUN_COLUMNS[col].type === 'text') throw bad(at, `${at}: "${key}" applies to times and numbers, not to ${col}`);
        out.push({ column: col, op: key, value: columnValue(col, value, at) as number });
        break;
      }
      default:
        throw bad(at, `unknown filter "${key}"; a filter holds ${FILTER_KEYS.join(', ')}`);
    }
  }
  if (out.length === 0) throw bad(path, `${path} holds no condition (${FILTER_KEYS.join(', ')})`);
  return out;
}

/** Checks and reads the request body; `undefined` (no body) means every default. */
export function parseSearchRequest(body: unknown, maxSize: number, defaultSize: number): SearchRequest {
  if (body === undefined || body === null) body = {};
  if (!isRecord(body)) throw new XcsError('xapi.containers.bad-request', 'the body must be a JSON object (XNAT paginated request)', { status: 400 });
  const page = wholeNumber(body.page, 'page', 1, Number.MAX_SAFE_INTEGER, 1);
  const size = wholeNumber(body.size, 'size', 1, maxSize, defaultSize);
  let sortColumn = DEFAULT_SORT_COLUMN;
  if (body.sort_col !== undefined && body.sort_col !== null && body.sort_col !== '') {
    if (typeof body.sort_col !== 'string') throw bad('sort_col', 'sort_col must be a column name');
    sortColumn = column(body.sort_col, 'sort_col');
  }
  let dir: 'asc' | 'desc' = 'desc';
  if (body.sort_dir !== undefined && body.sort_dir !== null && body.sort_dir !== '') {
    const d = typeof body.sort_dir === 'string' ? body.sort_dir.toLowerCase() : '';
    if (d !== 'asc' && d !== 'desc') throw bad('sort_dir', `sort_dir must be "asc" or "desc", not ${JSON.stringify(body.sort_dir)}`);
    dir = d;
  }
  const conditions: RunCondition[] = [];
  if (body.filters !== undefined && body.filters !== null) {
    if (!isRecord(body.filters)) throw bad('filters', 'filters must be an object keyed by column');
    for (const [name, filter] of Object.entries(body.filters)) {
      const path = `filters.${name}`;
      conditions.push(...conditionsOf(column(name, path), filter, path));
    }
  }
  return { page, size, sort: { column: sortColumn, dir }, conditions };
}
