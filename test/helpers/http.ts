/** JSON requests for tests that only care about successful replies: anything else fails the test loudly. */

/** A request that must succeed, its JSON reply typed by the caller. */
export type JsonApi = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** One request to `base + path`; a non-2xx reply throws with its status and body, an empty body is `null`. */
export async function requestJson<T = unknown>(base: string, headers: Record<string, string>, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** A {@link JsonApi} for a server whose URL is known only once it started (`before` hooks). */
export function jsonApi(base: () => string, headers: Record<string, string>): JsonApi {
  return <T = unknown>(method: string, path: string, body?: unknown) => requestJson<T>(base(), headers, method, path, body);
}
