/**
 * `XnatObjectSource` over a running server (`/xapi/resolution/*`, see `object-source-routes.ts`): what
 * `xcs resolve --url` resolves a local command file against. The server answers for the caller's
 * permissions; an object it does not show is null here, as a missing one is.
 */
import type { XnatObjectSource } from '../../resolution/index.ts';
import type { ChildKind, XnatObject, XnatType } from '../../resolution/xnat-model.ts';
import type { XapiClient } from './client.ts';

export class RemoteObjectSource implements XnatObjectSource {
  readonly #client: XapiClient;

  constructor(client: XapiClient) {
    this.#client = client;
  }

  async #get<T>(path: string, params: Record<string, string>): Promise<T | null> {
    const res = await this.#client.request('GET', `${path}?${new URLSearchParams(params).toString()}`, undefined, true);
    return res.status === 404 ? null : (await res.json()) as T;
  }

  getByUri(uri: string): Promise<XnatObject | null> {
    return this.#get('/xapi/resolution/object', { uri });
  }

  getById(type: XnatType, id: string, project?: string | null): Promise<XnatObject | null> {
    return this.#get('/xapi/resolution/object', { type, id, ...(project ? { project } : {}) });
  }

  async children(parent: XnatObject, kind: ChildKind): Promise<XnatObject[]> {
    return (await this.#get<XnatObject[]>('/xapi/resolution/children', { uri: String(parent.uri ?? ''), kind })) ?? [];
  }

  ancestor(object: XnatObject, type: XnatType): Promise<XnatObject | null> {
    return this.#get('/xapi/resolution/ancestor', { uri: String(object.uri ?? ''), ancestor: type });
  }

  // The server showed only what the caller may read; editing is checked again at launch.
  async canRead(): Promise<boolean> { return true; }
  async canEdit(): Promise<boolean> { return true; }
}
