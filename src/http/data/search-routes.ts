/**
 * The subset of XNAT's search API that pyxnat needs for `print(project)` and `select('xnat:projectData').all()`:
 * `GET /data/search/elements` (searchable types), `GET /data/search/elements/{type}` (their fields) and
 * `POST /data/search?format=csv|json` with an `xdat:bundle` document. Supported: root element
 * `xnat:projectData`; criteria on its fields with `=`, `!=`, `LIKE` (`%` wildcards), `<`, `>`, joined by the
 * top-level set's `AND`/`OR` (nested sets are flattened into it). Rows are the projects the caller may see
 * (`can(user, 'list')`), so the search reveals nothing the listing does not.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { XcsError } from '../../core/errors.ts';
import type { Archive } from '../../archive/types.ts';
import type { UserDirectory } from '../../archive/users.ts';
import { sendListing, type Listing } from '../format.ts';

const PROJECT_FIELDS = ['ID', 'NAME', 'DESCRIPTION', 'SECONDARY_ID', 'KEYWORDS', 'PI', 'PROJ_MR_COUNT', 'PROJ_CT_COUNT',
  'PROJ_PET_COUNT', 'PROJ_UT_COUNT', 'PROJECT_OWNERS', 'PROJECT_ACCESS', 'INSERT_DATE', 'INSERT_USER'];
const ELEMENTS: Record<string, { singular: string; plural: string; fields: string[] }> = {
  'xnat:projectData': { singular: 'Project', plural: 'Projects', fields: PROJECT_FIELDS },
};

interface Criterion { field: string; op: string; value: string }
interface Bundle { root: string; columns: string[]; method: 'AND' | 'OR'; criteria: Criterion[] }

function tag(name: string): string {
  return `<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>`;
}

function unescape(s: string): string {
  return s.trim().replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function first(xml: string, name: string): string | undefined {
  const m = new RegExp(tag(name)).exec(xml);
  return m ? unescape(m[1]) : undefined;
}

function all(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(tag(name), 'g'))].map((m) => m[1]);
}

export function parseBundle(xml: string): Bundle {
  const root = first(xml, 'root_element_name');
  if (!root) throw new XcsError('search.bad-bundle', 'the search document has no root_element_name', { status: 400 });
  const columns = all(xml, 'search_field').map((f) => `${first(f, 'element_name') ?? root}/${first(f, 'field_ID') ?? ''}`);
  const method = /<(?:[\w-]+:)?search_where[^>]*\bmethod="OR"/i.test(xml) ? 'OR' : 'AND';
  const criteria = all(xml, 'criteria').map((c) => ({
    field: first(c, 'schema_field') ?? '', op: (first(c, 'comparison_type') ?? '=').toUpperCase(), value: first(c, 'value') ?? '',
  }));
  return { root, columns, method, criteria };
}

function matches(value: string, c: Criterion): boolean {
  switch (c.op) {
    case '=': return value === c.value;
    case '!=': return value !== c.value;
    case '<': return Number(value) < Number(c.value);
    case '>': return Number(value) > Number(c.value);
    case '<=': return Number(value) <= Number(c.value);
    case '>=': return Number(value) >= Number(c.value);
    case 'LIKE': {
      const re = c.value.split('%').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
      return new RegExp(`^${re}$`, 'i').test(value);
    }
    default:
      throw new XcsError('search.bad-operator', `unsupported comparison "${c.op}"`, { status: 400, path: c.field });
  }
}

async function readBody(request: FastifyRequest): Promise<string> {
  const body = request.body;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  const stream = body instanceof Readable ? body : request.raw;
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    n += b.length;
    if (n > 1024 * 1024) throw new XcsError('search.too-large', 'the search document is over 1 MiB', { status: 413 });
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function registerSearchRoutes(app: FastifyInstance, users: UserDirectory, archive: Archive): void {
  async function projectRows(request: FastifyRequest): Promise<Array<Record<string, string>>> {
    const rows = [];
    for (const p of await archive.listProjects()) {
      if (!(await users.can(request.user, 'list', { project: p.id }))) continue;
      const counts: Record<string, number> = { MR: 0, CT: 0, PET: 0, US: 0 };
      for (const s of await archive.listSessions({ project: p.id })) {
        const m = /xnat:(mr|ct|pet|us)SessionData/i.exec(s.xsiType)?.[1].toUpperCase();
        if (m) counts[m]++;
      }
      const owners = [];
      for (const m of await users.projectUsers(p.id)) {
        if (m.role !== 'owner') continue;
        const u = await users.getUser(m.login);
        owners.push(u ? `${u.firstName} ${u.lastName}`.trim() || m.login : m.login);
      }
      const count = (n: number) => (n > 0 ? String(n) : '');
      rows.push({
        id: p.id, name: p.name, description: p.description, secondary_id: p.secondaryId, keywords: p.keywords,
        pi: `${p.piLastname}${p.piFirstname ? `, ${p.piFirstname}` : ''}`, proj_mr_count: count(counts.MR),
        proj_ct_count: count(counts.CT), proj_pet_count: count(counts.PET), proj_ut_count: count(counts.US),
        project_owners: owners.join(' <br/> '), project_access: await users.accessibilityOf(p.id),
        insert_date: p.insertDate, insert_user: p.insertUser,
      });
    }
    return rows;
  }

  app.register(async (sub) => {
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    for (const prefix of ['/data', '/REST']) {
      sub.get<{ Querystring: { format?: string } }>(`${prefix}/search/elements`, async (request, reply) => {
        const rows = Object.entries(ELEMENTS).map(([name, e]) => ({
          ELEMENT_NAME: name, SINGULAR: e.singular, PLURAL: e.plural, SECURED: 'true', COUNT: '',
        }));
        return sendListing(reply, { title: 'Elements', columns: ['ELEMENT_NAME', 'SINGULAR', 'PLURAL', 'SECURED', 'COUNT'], rows },
          request.query.format);
      });
      sub.get<{ Params: { type: string }; Querystring: { format?: string } }>(`${prefix}/search/elements/:type`, async (request, reply) => {
        const e = ELEMENTS[request.params.type];
        if (!e) throw new XcsError('search.unknown-element', `no searchable element ${request.params.type}`, { status: 404, path: request.params.type });
        const rows = e.fields.map((f) => ({ FIELD_ID: f, HEADER: f.toLowerCase(), SUMMARY: '', TYPE: 'string', REQUIRES_VALUE: 'false', DESC: '', ELEMENT_NAME: request.params.type }));
        return sendListing(reply, { title: 'Fields', columns: Object.keys(rows[0]), rows }, request.query.format);
      });
      sub.post<{ Querystring: { format?: string } }>(`${prefix}/search`, async (request, reply) => {
        const bundle = parseBundle(await readBody(request));
        const element = ELEMENTS[bundle.root];
        if (!element) {
          throw new XcsError('search.unknown-element', `searching ${bundle.root} is not supported`,
            { status: 400, path: bundle.root, hint: `supported: ${Object.keys(ELEMENTS).join(', ')}` });
        }
        const fieldOf = (path: string) => path.split('/').pop()!.toLowerCase();
        const rows = (await projectRows(request)).filter((r) => {
          const results = bundle.criteria.map((c) => matches(r[fieldOf(c.field)] ?? '', c));
          if (results.length === 0) return true;
          return bundle.method === 'OR' ? results.some(Boolean) : results.every(Boolean);
        });
        const asked = bundle.columns.map(fieldOf).filter((c) => c in (rows[0] ?? Object.fromEntries(PROJECT_FIELDS.map((f) => [f.toLowerCase(), '']))));
        const columns = asked.length > 0 ? asked : PROJECT_FIELDS.map((f) => f.toLowerCase());
        const listing: Listing = { title: 'Search', columns, rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c]]))) };
        return sendListing(reply, listing, request.query.format ?? 'json');
      });
    }
  });
}
