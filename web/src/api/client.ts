/**
 * Every call the console makes goes through here: same-origin, the session cookie from `POST /data/JSESSION`,
 * `X-Requested-With` so a refused call never opens the browser's own Basic-auth dialog, and XCS error bodies
 * (`{code, message, path, hint}`, or a launch report's `{status: "failure", message, path}`) turned into
 * {@link ApiError}s the pages show next to what they concern.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code?: string;
  /** The input, JSON pointer or object the server says the error is about. */
  readonly path?: string;
  readonly hint?: string;

  constructor(status: number, message: string, extra: { code?: string; path?: string; hint?: string } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = extra.code;
    this.path = extra.path;
    this.hint = extra.hint;
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the server answers 401 (the session ended): the app goes back to its sign-in form. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function stringField(o: unknown, key: string): string | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The error a refused reply carries, read from its body. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // a plain-text error
  }
  const message = stringField(body, 'message') ?? (text.trim() || `${res.status} ${res.statusText}`);
  return new ApiError(res.status, message, { code: stringField(body, 'code'), path: stringField(body, 'path'), hint: stringField(body, 'hint') });
}

export interface RequestOptions {
  json?: unknown;
  /** A body sent as it is (with `Content-Type: application/json`), e.g. JSON text the user typed. */
  rawJson?: string;
  /** A body sent as it is (a file), with the content type the caller gives in `headers`. */
  body?: Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** One call; a non-2xx answer throws its {@link ApiError} (and a 401 also signs the console out). */
export async function request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json', ...(opts.headers ?? {}) };
  let body: string | Blob | undefined;
  if (opts.body !== undefined) body = opts.body;
  else if (opts.json !== undefined) body = JSON.stringify(opts.json);
  else if (opts.rawJson !== undefined) body = opts.rawJson;
  if (body !== undefined && opts.body === undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: opts.signal, cache: 'no-store' });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !opts.headers?.Authorization) for (const l of unauthorizedListeners) l();
    throw err;
  }
  return res;
}

/** A JSON answer and its headers. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<{ data: T; headers: Headers }> {
  const res = await request('GET', path, { signal });
  return { data: (await res.json()) as T, headers: res.headers };
}

export async function sendJson<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(method, path, opts);
  const text = await res.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** Builds a query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

/** A message for anything thrown, for error boxes. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Aborted requests are not errors worth showing: the page moved on. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}
