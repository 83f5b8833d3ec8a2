/**
 * The archive as resolution sees it, read-only, for `xcs resolve --url` (resolution against a running
 * server with a local command file): the four questions of `XnatObjectSource` — an object by URI, by
 * type and id, its children of one kind, its nearest ancestor of a type — answered with the same shallow
 * XNAT-model JSON matchers see. Objects of projects the caller cannot read answer 404, like missing ones.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import { CHILD_KINDS, isXnatType, type ChildKind, type XnatObject } from '../../resolution/xnat-model.ts';
import type { XnatObjectSource } from '../../resolution/index.ts';
import type { AccessControl } from './access.ts';

export interface ObjectSourceRouteDeps {
  source: () => XnatObjectSource;
  access: AccessControl;
}

type Query = Record<string, string | undefined>;

function missing(what: string): XcsError {
  return new XcsError('xapi.object.not-found', `No archive object ${what}`, { status: 404, path: what });
}

export function registerObjectSourceRoutes(app: FastifyInstance, { source, access }: ObjectSourceRouteDeps): void {
  const tags = ['resolution'];
  const query = { type: 'object', properties: { uri: { type: 'string' }, type: { type: 'string' }, id: { type: 'string' },
    project: { type: 'string' }, kind: { type: 'string' }, ancestor: { type: 'string' } } };

  /** The object named by `uri` (or `type` + `id`), when the caller may read it. */
  async function objectOf(request: FastifyRequest, s: XnatObjectSource): Promise<XnatObject> {
    const user = access.requireUser(request);
    const q = request.query as Query;
    let o: XnatObject | null;
    if (q.uri) o = await s.getByUri(q.uri);
    else if (q.type && q.id && isXnatType(q.type)) o = await s.getById(q.type, q.id, q.project ?? null);
    else throw new XcsError('xapi.object.which', 'Name the object: ?uri=/archive/… or ?type=Session&id=…[&project=…]', { status: 400 });
    if (!o || !(await s.canRead(user.login, o))) throw missing(q.uri ?? `${q.type} ${q.id}`);
    return o;
  }

  app.get('/xapi/resolution/object', { schema: { tags, summary: 'An archive object as matchers see it (shallow)', querystring: query } },
    async (request) => objectOf(request, source()));

  app.get('/xapi/resolution/children', { schema: { tags, summary: 'One child collection of an archive object', querystring: query } },
    async (request) => {
      const kind = (request.query as Query).kind ?? '';
      if (!(CHILD_KINDS as readonly string[]).includes(kind)) {
        throw new XcsError('xapi.object.kind', `"${kind}" is not a child collection (${CHILD_KINDS.join(', ')})`, { status: 400, path: 'kind' });
      }
      const s = source();
      return s.children(await objectOf(request, s), kind as ChildKind);
    });

  app.get('/xapi/resolution/ancestor', { schema: { tags, summary: 'The nearest ancestor of a type', querystring: query } },
    async (request) => {
      const type = (request.query as Query).ancestor ?? '';
      if (!isXnatType(type)) throw new XcsError('xapi.object.type', `"${type}" is not an XNAT object type`, { status: 400, path: 'ancestor' });
      const s = source();
      const found = await s.ancestor(await objectOf(request, s), type);
      if (!found) throw missing(`${type} above it`);
      return found;
    });
}
