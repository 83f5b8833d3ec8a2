/**
 * Container listings and record deletion (reference §5.4, §6.3).
 *
 * `GET /xapi/containers` and `GET /xapi/projects/{p}/containers` answer XNAT's plain JSON array, newest
 * first, one page at a time: `page` (from 1) and `pageSize` (default 50, at most 1000); `all=true` gives
 * every match in one array as XNAT does. The total number of matches is in the `X-Total-Count` header and
 * the next page in a `Link: <...>; rel="next"` header, so clients that expect an array keep working.
 * Filters: `project`, `status` (comma-separated statuses), `nonfinalized=true`, `command-id`, `wrapper-id`,
 * `user` (launching login). A listing holds only the runs the caller may see in full (container managers:
 * all; others: runs they launched and runs of projects they own) — XNAT's owner-or-admin rule — with
 * sensitive values masked. Paging, the filters besides `nonfinalized` and newest-first order are XCS
 * additions; XNAT lists everything, oldest first.
 *
 * `POST /xapi/containers` is XNAT's paginated request (`containers-search.ts`), answered in SQL: a JSON array of the
 * page, the total in `X-Total-Count`. It also returns, scrubbed (§6.3), the runs of projects the caller can read
 * but neither owns nor launched; runs of projects they cannot read are left out. `GET /xapi/containers/version`
 * reports compatibility with the XNAT version this server claims to be (`/xapi/siteConfig/buildInfo`).
 *
 * `DELETE /xapi/containers/{id}` removes a finished run's record, history and saved logs (XNAT: the record
 * only, whatever its state); a run still in progress answers 409. By name: `GET /xapi/container/name/{name}`
 * (container managers) and `GET /xapi/projects/{p}/containers/name/{name}` (scrubbed unless owner).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { User } from '../../archive/users.ts';
import { RunQuery, type RunQueryFilter } from '../../runtime/index.ts';
import { runNotFound, type RunRecord } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import { containerJson } from './container-json.ts';
import { intParam, seesFully, userOf, type XapiContext } from './context.ts';
import { parseSearchRequest, searchBodySchema } from './containers-search.ts';
import { XCS_VERSION } from '../data/session-routes.ts';

/** The XNAT version the container service plugin requires (XNAT's `/containers/version` constant). */
export const XNAT_VERSION_REQUIRED = '1.8.5';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
const CACHE_ENTRIES = 64;

interface ListQuery {
  project?: string;
  status?: string;
  nonfinalized?: string;
  'command-id'?: string;
  'wrapper-id'?: string;
  user?: string;
  page?: string;
  pageSize?: string;
  all?: string;
}

const listQuerySchema = {
  type: 'object',
  properties: {
    project: { type: 'string' }, status: { type: 'string', description: 'comma-separated statuses' },
    nonfinalized: { type: 'string', enum: ['true', 'false'] }, 'command-id': { type: 'string' }, 'wrapper-id': { type: 'string' },
    user: { type: 'string', description: 'launching user' }, page: { type: 'string', description: 'from 1' },
    pageSize: { type: 'string', description: `default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}` },
    all: { type: 'string', enum: ['true', 'false'], description: 'every match in one array (XNAT)' },
  },
};

function boundedInt(value: string | undefined, name: string, dflt: number, max: number): number {
  if (value === undefined || value === '') return dflt;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new XcsError('http.bad-paging', `${name} must be a whole number from 1 to ${max}, not "${value}"`, { status: 400, path: name });
  }
  return Number(value);
}

/** A serialised listing page and the `Link` headers already worked out for the URLs that asked for it. */
interface CachedPage {
  version: number;
  total: number;
  body: Buffer;
  links: Map<string, string>;
}
/** URL spellings remembered per page (clients poll one URL; the bound keeps odd spellings from piling up). */
const LINKS_PER_PAGE = 4;

/** The `Link: <…>; rel="next"` header of a listing page: the same URL, the next page. */
function nextLink(url: string, page: number, pageSize: number): string {
  const next = new URL(url, 'http://x');
  next.searchParams.set('page', String(page + 1));
  next.searchParams.set('pageSize', String(pageSize));
  return `<${next.pathname}${next.search}>; rel="next"`;
}

export interface ContainerAdminDeps {
  ctx: XapiContext;
  access: AccessControl;
}

export function registerContainerAdminRoutes(app: FastifyInstance, { ctx, access }: ContainerAdminDeps): void {
  const tags = ['containers'];
  const query = new RunQuery(ctx.engine.database, ctx.engine.config.dataDir);
  // Serialised listings by query and viewer, valid while no run changes (clients poll the same first page).
  // Kept as bytes: a page is ~120 kB, which would otherwise be UTF-8 encoded again on every send.
  const cache = new Map<string, CachedPage>();
  const searchCache = new Map<string, CachedPage>();

  /** Who the caller may see in full: null = everything (container managers). */
  async function visibility(user: User): Promise<RunQueryFilter['visibleTo'] | undefined> {
    if (await access.isContainerManager(user)) return undefined;
    const owned = [...(await access.users.projectsOf(user.login)).entries()].filter(([, role]) => role === 'owner').map(([p]) => p);
    return { login: user.login, projects: owned };
  }

  async function mayAct(user: User, run: RunRecord): Promise<boolean> {
    return (await access.isContainerManager(user)) || seesFully(ctx, user, run);
  }

  const list = async (request: FastifyRequest<{ Querystring: ListQuery; Params: { project?: string } }>, reply: FastifyReply) => {
    const user = userOf(request);
    // A project path names a project: those who cannot read it get the same 404 as for a missing one.
    if (request.params.project) {
      if (await access.isContainerManager(user)) await access.requireExistingProject(request.params.project);
      else await access.requireProject(request, request.params.project, 'read');
    }
    const q = request.query;
    const filter: RunQueryFilter = {
      project: request.params.project ?? (q.project || undefined),
      statuses: q.status ? q.status.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined,
      nonfinalized: q.nonfinalized === 'true',
      commandId: q['command-id'] ? intParam(q['command-id'], 'command-id') : undefined,
      wrapperId: q['wrapper-id'] ? intParam(q['wrapper-id'], 'wrapper-id') : undefined,
      user: q.user || undefined,
      visibleTo: await visibility(user),
    };
    const all = q.all === 'true';
    const pageSize = boundedInt(q.pageSize, 'pageSize', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const page = boundedInt(q.page, 'page', 1, Number.MAX_SAFE_INTEGER);
    const key = JSON.stringify([filter, page, pageSize, all]);
    const version = query.version();
    let hit = cache.get(key);
    if (!hit || hit.version !== version) {
      const { runs, total } = query.page(filter, (page - 1) * pageSize, all ? null : pageSize);
      const histories = query.histories(runs.map((r) => r.id));
      hit = { version, total, body: Buffer.from(JSON.stringify(runs.map((r) => containerJson(r, histories.get(r.id) ?? [], true)))), links: new Map() };
      // `all=true` answers can be megabytes: not kept.
      if (!all) {
        if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
        cache.set(key, hit);
      }
    }
    reply.header('X-Total-Count', String(hit.total));
    if (!all && page * pageSize < hit.total) {
      // Parsing and rebuilding the URL cost as much as the rest of a cached answer: done once per URL and page.
      let link = hit.links.get(request.url);
      if (link === undefined) {
        link = nextLink(request.url, page, pageSize);
        if (hit.links.size < LINKS_PER_PAGE) hit.links.set(request.url, link);
      }
      reply.header('Link', link);
    }
    return reply.type('application/json; charset=utf-8').send(hit.body);
  };
  app.get('/xapi/containers', { schema: { tags, summary: 'Containers the caller may see, newest first, paged', querystring: listQuerySchema } }, list);
  app.get('/xapi/projects/:project/containers', {
    schema: { tags, summary: 'Containers of a project the caller may see', querystring: listQuerySchema,
      params: { type: 'object', properties: { project: { type: 'string' } }, required: ['project'] } },
  }, list);

  // A static path: Fastify's router prefers it to `/xapi/containers/:id` whatever the registration order.
  app.get('/xapi/containers/version', {
    schema: { tags, summary: 'Compatibility of the container service with the archive (any signed-in user)' },
  }, async (request) => {
    userOf(request);
    // XCS is its own archive: the version detected is the one /xapi/siteConfig/buildInfo reports.
    return {
      compatible: true, xnatVersionDetected: XCS_VERSION, xnatVersionRequired: XNAT_VERSION_REQUIRED,
      message: `XCS serves its own archive as XNAT ${XCS_VERSION}; the container service requires XNAT ${XNAT_VERSION_REQUIRED} or later.`,
    };
  });

  /**
   * What a non-manager may receive from the paginated request: runs they launched or of projects they can read
   * (SQL), and which of those in full (launched, or of a project they own); one look-up per project, not per run.
   */
  async function searchScope(user: User): Promise<{ visibleTo?: { login: string; projects: string[] }; full: (run: RunRecord) => boolean; key: unknown }> {
    if (await access.isContainerManager(user)) return { full: () => true, key: null };
    const roles = await access.users.projectsOf(user.login);
    const owned = new Set([...roles].filter(([, role]) => role === 'owner').map(([p]) => p));
    const readable = [...roles.keys()];
    for (const p of query.projects()) {
      if (!roles.has(p) && await access.users.can(user, 'read', { project: p })) readable.push(p);
    }
    return {
      visibleTo: { login: user.login, projects: readable },
      full: (run) => run.userId === user.login || (run.project !== null && owned.has(run.project)),
      // Everything the answer depends on besides the request and the runs: a role change gives another key.
      key: [user.login, readable.sort(), [...owned].sort()],
    };
  }

  app.post('/xapi/containers', {
    schema: { tags, summary: 'XNAT paginated request: a page of containers, filtered and sorted (non-owned records scrubbed)', body: searchBodySchema },
    // The body schema documents; `parseSearchRequest` validates, with JSON paths in its errors.
    validatorCompiler: () => () => true,
  }, async (request, reply) => {
    const user = userOf(request);
    const req = parseSearchRequest(request.body, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);
    const scope = await searchScope(user);
    // As for GET: a page serialised once per request, viewer scope and runs_version (clients poll the same page).
    const key = JSON.stringify(['search', req, scope.key]);
    const version = query.version();
    let hit = searchCache.get(key);
    if (!hit || hit.version !== version) {
      const { runs, total } = query.search({
        conditions: req.conditions, sort: req.sort, offset: (req.page - 1) * req.size, limit: req.size, visibleTo: scope.visibleTo,
      });
      const full = new Set(runs.filter(scope.full).map((r) => r.id));
      // One query for the page's histories; scrubbed records show none.
      const histories = query.histories([...full]);
      const body = Buffer.from(JSON.stringify(runs.map((r) => containerJson(r, histories.get(r.id) ?? [], full.has(r.id)))));
      hit = { version, total, body, links: new Map() };
      if (searchCache.size >= CACHE_ENTRIES) searchCache.delete(searchCache.keys().next().value as string);
      searchCache.set(key, hit);
    }
    reply.header('X-Total-Count', String(hit.total));
    return reply.type('application/json; charset=utf-8').send(hit.body);
  });

  app.delete<{ Params: { id: string } }>('/xapi/containers/:id', {
    schema: { tags, summary: 'Delete a finished container record and its logs (launcher, project owner, container manager)' },
  }, async (request, reply) => {
    const user = userOf(request);
    const run = await ctx.engine.state.find(request.params.id);
    if (!(await mayAct(user, run))) {
      // Those who cannot read the run's project get what a missing id gets.
      if (!run.project || !(await access.users.can(user, 'read', { project: run.project }))) throw runNotFound(request.params.id);
      throw new XcsError('auth.forbidden', `User ${user.login} cannot delete container ${request.params.id}`, { status: 403, path: request.params.id });
    }
    await query.delete(run.id);
    return reply.code(204).send();
  });

  const byName = async (user: User, name: string, project: string | undefined, nonfinalized: boolean): Promise<Record<string, unknown>> => {
    const { runs } = query.page({ containerName: name, project, nonfinalized }, 0, 1);
    const run = runs[0];
    if (!run) throw new XcsError('run.not-found', `No container named ${name}${project ? ` in project ${project}` : ''}`, { status: 404, path: name });
    return containerJson(run, await ctx.engine.state.history(run.id), await mayAct(user, run));
  };
  app.get<{ Params: { name: string }; Querystring: { nonfinalized?: string } }>('/xapi/container/name/:name', {
    schema: { tags, summary: 'A container by name (container managers)' },
  }, async (request) => {
    const user = await access.requireContainerManager(request);
    return byName(user, request.params.name, undefined, request.query.nonfinalized === 'true');
  });
  app.get<{ Params: { project: string; name: string }; Querystring: { nonfinalized?: string } }>('/xapi/projects/:project/containers/name/:name', {
    schema: { tags, summary: 'A container of the project by name (scrubbed unless owner)' },
  }, async (request) => {
    const user = userOf(request);
    if (await access.isContainerManager(user)) await access.requireExistingProject(request.params.project);
    else await access.requireProject(request, request.params.project, 'read');
    return byName(user, request.params.name, request.params.project, request.query.nonfinalized === 'true');
  });
}
