/**
 * XNAT's `/data` archive API (also under `/REST` and `/data/archive`): one handler walks the URL
 * (`/projects/P/subjects/S/experiments/E/scans/1/resources/R/files/x`), resolving each level by ID or
 * label, checks permissions, and lists, reads, creates, updates, deletes, uploads or downloads.
 *
 * Access rule: an object in a project the caller cannot read answers 404, exactly like a missing one
 * (existence is not leaked); a readable object the caller may not change answers 403.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import yazl from 'yazl';
import { XcsError } from '../../core/errors.ts';
import { assertNotScoped, type Action, type User, type UserDirectory } from '../../archive/users.ts';
import type {
  Archive, ArchiveCollection, ArchiveFile, ExtraFields, ObjectRef, PutFileOptions, ResourceParentRef,
} from '../../archive/types.ts';
import { parseArchivePath, type PathStep } from '../../archive/uri.ts';
import { checkWellFormed, parseXmlRoot } from '../../archive/xml.ts';
import { parseAccessibility } from './accessibility-routes.ts';
import { sendListing, type Listing, type Row } from '../format.ts';
import { parseJsonBody } from '../json-body.ts';
import { fileHeaders, zipHeaders } from './file-download.ts';
import { bodyStream, storeUpload } from './upload.ts';
import {
  applyFilters, assessorRow, buildListing, fileRow, objectXml, projectRow, resourceRow, scanRow, sessionRow,
  subjectRow,
} from './rows.ts';
import { itemsJson, subjectExperimentsJson } from './item-documents.ts';
import { pageRows } from './paging.ts';

export interface ArchiveRoutesDeps {
  archive: Archive;
  users: UserDirectory;
  maxUploadBytes: number;
}

type Query = Record<string, string>;

/** Query parameters that steer the request rather than set fields. */
const RESERVED = new Set([
  'format', 'xsiType', 'xsitype', 'columns', 'inbody', 'overwrite', 'extract', 'content', 'tags', 'removeFiles',
  'event_reason', 'event_type', 'event_action', 'event_comment', 'req_format', 'allowDataDeletion', 'limit', 'offset',
  'sortBy', 'sortOrder', 'file_upload', 'update-stats', 'quarantine', 'triggerPipelines', 'fixScanTypes', 'label_cache',
  'XNAT_CSRF', 'name', 'description', 'reference', 'method', 'accessible', 'XNAT_XSIType', 'handler', 'cache',
]);

function notFound(path: string): XcsError {
  return new XcsError('archive.not-found', `${path} not found`, { status: 404, path });
}

function forbidden(action: Action, path: string): XcsError {
  return new XcsError('auth.forbidden', `you may not ${action} ${path}`, { status: 403, path });
}

function flag(v: string | undefined): boolean {
  return v !== undefined && /^(true|1|yes|on)$/i.test(v);
}

/** Field values from the query: `xnat:mrSessionData/date=…`, `date=…` (reserved keys excluded). */
function fieldsOf(query: Query, extraReserved: string[] = []): ExtraFields {
  const out: ExtraFields = {};
  for (const [k, v] of Object.entries(query)) {
    if (RESERVED.has(k) || extraReserved.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Validates (and lower-cases) an accessibility among project fields; true when one is given. Changing it is
 * for owners (the `delete` level), as through `/accessibility/{value}`: a member must not publish a project.
 */
function checkAccessibility(fields: ExtraFields): boolean {
  let found = false;
  for (const k of Object.keys(fields)) {
    if (k.split('/').pop() !== 'accessibility') continue;
    fields[k] = parseAccessibility(String(fields[k]));
    found = true;
  }
  return found;
}

async function readSmallBody(request: FastifyRequest, limit = 10 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of bodyStream(request)) {
    n += (c as Buffer).length;
    if (n > limit) throw new XcsError('http.body.too-large', `request body larger than ${limit} bytes`, { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Resolved {
  /** Refs of every resolved step, in order. */
  refs: ObjectRef[];
  /** The last step that did not resolve (only allowed as the final step, for creation). */
  missing?: PathStep;
  project?: string;
}

export function registerArchiveRoutes(app: FastifyInstance, deps: ArchiveRoutesDeps): void {
  const { archive, users } = deps;

  async function canRead(user: User, project: string): Promise<boolean> {
    return users.can(user, 'read', { project });
  }

  /** `objects`: the chain the write goes through (a run's token writes only through its roots). */
  async function requireAction(user: User, action: Action, project: string, path: string, objects: readonly ObjectRef[]): Promise<void> {
    // A project the caller can see (protected, public) refuses with 403; an invisible one is not revealed.
    if (!(await users.can(user, 'list', { project }))) throw notFound(path);
    if (!(await users.can(user, action, { project, objects }))) throw forbidden(action, path);
  }

  /** `need` is `list` when only the project's own record is read: protected projects show that to everyone. */
  async function resolve(steps: PathStep[], user: User, path: string, need: 'list' | 'read'): Promise<Resolved> {
    const refs: ObjectRef[] = [];
    let parent: ObjectRef | null = null;
    let project: string | undefined;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const ref = await archive.findChild(parent, step.collection, step.id);
      if (!ref) {
        if (i === steps.length - 1) {
          if (project !== undefined && !(await canRead(user, project))) throw notFound(path);
          return { refs, missing: step, project };
        }
        throw notFound(path);
      }
      if (project === undefined) {
        project = await archive.projectOf(ref);
        // Hide objects of projects the caller cannot read (a project being created is not hidden).
        if (!(await users.can(user, need, { project }))) throw notFound(path);
      }
      refs.push(ref);
      parent = ref;
    }
    return { refs, project };
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const user = request.user!;
    const url = request.url.split('?')[0];
    const query = (request.query ?? {}) as Query;
    const method = request.method;
    const multi = MULTI_SCAN_FILES.exec(url);
    if (multi && (method === 'GET' || method === 'HEAD')) return scanFiles(reply, multi[1], multi[2], query, user);
    const parsed = parseArchivePath(url);
    const ownRecord = !parsed.collection && parsed.steps.length === 1 && parsed.steps[0].collection === 'projects';
    const r = await resolve(parsed.steps, user, url, ownRecord ? 'list' : 'read');
    const last = r.refs[r.refs.length - 1] as ObjectRef | undefined;

    if (r.missing) {
      if (method === 'PUT' || method === 'POST') return create(request, reply, r, query, url);
      throw notFound(url);
    }
    if (parsed.collection) {
      if (method === 'GET' || method === 'HEAD') return list(reply, last ?? null, parsed.collection, query, user, url);
      if ((method === 'POST' || method === 'PUT') && parsed.collection === 'files' && last?.kind === 'resource') {
        await requireAction(user, 'create', r.project!, url, r.refs);
        return upload(request, reply, last.resource, undefined, query, user);
      }
      if (method === 'POST' && parsed.collection === 'projects' && !last) return createProjectFromPost(request, reply, query, user);
      throw new XcsError('http.method', `${method} is not supported on ${url}`, { status: 405, path: url });
    }
    if (!last) throw notFound(url);
    const project = r.project!;
    switch (method) {
      case 'GET':
      case 'HEAD':
        return read(request, reply, last, query);
      case 'PUT':
      case 'POST': {
        if (last.kind === 'file') {
          await requireAction(user, query.overwrite && flag(query.overwrite) ? 'edit' : 'create', project, url, r.refs);
          return upload(request, reply, last.resource, last.path, query, user);
        }
        // A project's own record holds its settings (accessibility, name…): never a run's to change.
        if (last.kind === 'project') assertNotScoped(user, 'change project settings');
        await requireAction(user, 'edit', project, url, r.refs);
        if (last.kind === 'assessor' && carriesXml(request, query)) {
          // Replacing an assessor's document is not supported: a second upload of the same label is refused.
          throw new XcsError('archive.exists', `assessor "${(await archive.require(last)).label}" already exists`,
            { status: 409, path: url });
        }
        const fields = fieldsOf(query, last.kind === 'resource' ? [] : ['label_']);
        if (last.kind === 'project' && checkAccessibility(fields)) await requireAction(user, 'delete', project, url, r.refs);
        if (last.kind === 'resource') {
          for (const k of ['format', 'content', 'tags', 'description']) if (query[k] !== undefined) fields[k] = query[k];
        }
        await archive.update(last, fields, user.login);
        const rec = await archive.get(last);
        return reply.code(200).type('text/plain').send(rec && 'id' in rec ? String(rec.id) : '');
      }
      case 'DELETE':
        if (last.kind === 'project') assertNotScoped(user, 'delete projects');
        await requireAction(user, 'delete', project, url, r.refs);
        await archive.delete(last, { removeFiles: query.removeFiles === undefined || flag(query.removeFiles) }, user.login);
        if (last.kind === 'project') await users.dropProject(last.project);
        return reply.code(200).send('');
      default:
        throw new XcsError('http.method', `${method} is not supported on ${url}`, { status: 405, path: url });
    }
  }

  async function createProjectFromPost(request: FastifyRequest, reply: FastifyReply, query: Query, user: User): Promise<unknown> {
    const fields: Query = { ...query };
    const type = request.headers['content-type'] ?? '';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(await readSmallBody(request))) fields[k] = v;
    } else if (type.includes('json')) {
      const body: unknown = parseJsonBody(await readSmallBody(request)) ?? {};
      if (body && typeof body === 'object') for (const [k, v] of Object.entries(body)) fields[k] = String(v);
    }
    const id = fields.ID ?? fields.id ?? fields['xnat:projectData/ID'];
    if (!id) throw new XcsError('archive.project.no-id', 'give the project ID (parameter "ID")', { status: 400, path: 'ID' });
    return createProject(reply, id, fields, user);
  }

  async function createProject(reply: FastifyReply, id: string, query: Query, user: User): Promise<unknown> {
    if (!(await users.can(user, 'create', { site: true }))) throw forbidden('create', `project ${id}`);
    const fields = fieldsOf(query, ['ID', 'id', 'xnat:projectData/ID']);
    checkAccessibility(fields);
    if (query.name) fields.name = query.name;
    if (query.description) fields.description = query.description;
    const p = await archive.createProject({ id, name: fields.name ?? fields['xnat:projectData/name'], fields }, user.login);
    if (!user.siteAdmin) await users.setRole(p.id, user.login, 'owner');
    return reply.code(201).type('text/plain').send(p.id);
  }

  async function create(request: FastifyRequest, reply: FastifyReply, r: Resolved, query: Query, url: string): Promise<unknown> {
    const user = request.user!;
    const step = r.missing!;
    const parent = r.refs[r.refs.length - 1] as ObjectRef | undefined;
    const xsiType = query.xsiType ?? query.xsitype;
    if (!parent) {
      if (step.collection === 'projects') return createProject(reply, step.id, query, user);
      throw notFound(url);
    }
    await requireAction(user, 'create', r.project!, url, r.refs);
    const fields = fieldsOf(query);
    delete fields.label;
    const label = query.label ?? query[`${xsiType}/label`] ?? step.id;
    switch (step.collection) {
      case 'subjects': {
        if (parent.kind !== 'project') throw notFound(url);
        const s = await archive.createSubject(parent.project, { label, fields: stripKey(fields, `${xsiType}/label`) }, user.login);
        return reply.code(201).type('text/plain').send(s.id);
      }
      case 'experiments': {
        let subject: string | undefined;
        if (parent.kind === 'subject') subject = parent.subject;
        else if (parent.kind === 'project') {
          const given = query.subject_ID ?? query[`${xsiType}/subject_ID`] ?? query.subject_id;
          const ref = given ? await archive.findChild(parent, 'subjects', given) : undefined;
          if (!ref || ref.kind !== 'subject') {
            throw new XcsError('archive.experiment.no-subject', 'creating an experiment under a project needs an existing subject_ID',
              { status: 400, path: url });
          }
          subject = ref.subject;
        } else throw notFound(url);
        const e = await archive.createSession(subject, { label, xsiType, fields: stripKey(fields, `${xsiType}/label`, 'subject_ID') }, user.login);
        return reply.code(201).type('text/plain').send(e.id);
      }
      case 'scans': {
        if (parent.kind !== 'session') throw notFound(url);
        const s = await archive.createScan(parent.session, { id: step.id, xsiType, fields }, user.login);
        return reply.code(201).type('text/plain').send(s.id);
      }
      case 'assessors': {
        if (parent.kind !== 'session') throw notFound(url);
        if (carriesXml(request, query)) {
          const text = await readXmlBody(request);
          if (text.trim() !== '' || request.isMultipart()) {
            await requireAction(user, 'edit', r.project!, url, r.refs);
            checkWellFormed(text);
            const inXml = parseXmlRoot(text);
            const xmlLabel = inXml.attributes.label ?? inXml.leaves.label;
            if (xmlLabel !== undefined && xmlLabel !== step.id) {
              throw new XcsError('archive.xml.label-mismatch', `the XML's label "${xmlLabel}" differs from "${step.id}" in the URL`,
                { status: 400, path: url });
            }
            const a = await archive.createAssessorFromXml(parent.session, text, user.login);
            return reply.code(201).type('text/plain').send(a.id);
          }
        }
        if (!xsiType) throw new XcsError('archive.assessor.no-type', 'give the assessor type with xsiType=ns:name', { status: 400, path: url });
        const a = await archive.createAssessor(parent.session, { label, xsiType, fields }, user.login);
        return reply.code(201).type('text/plain').send(a.id);
      }
      case 'resources': {
        if (parent.kind === 'resource' || parent.kind === 'file') throw notFound(url);
        const res = await archive.createResource(parent as ResourceParentRef, {
          label: step.id, format: query.format, content: query.content, description: query.description,
          tags: query.tags ? query.tags.split(',') : undefined,
        }, user.login);
        return reply.code(201).type('text/plain').send(String(res.id));
      }
      case 'files': {
        if (parent.kind !== 'resource') throw notFound(url);
        return upload(request, reply, parent.resource, step.id, query, user);
      }
      default:
        throw notFound(url);
    }
  }

  async function list(reply: FastifyReply, parent: ObjectRef | null, collection: ArchiveCollection, query: Query,
    user: User, url: string): Promise<unknown> {
    const format = query.format;
    const readable = async (project: string) => canRead(user, project);
    /** A listing of the filtered rows, cut to the page asked for (`offset`, `limit`, `sortBy`), if any. */
    const paged: PagedListing = (collection, title, rows, q, columns, extra) => {
      const page = pageRows(rows, q);
      return { ...buildListing(collection, title, page.rows, columns, extra), total: page.total };
    };
    switch (collection) {
      case 'projects': {
        const all = parent ? [] : await archive.listProjects();
        const rows = [];
        for (const p of all) if (await users.can(user, 'list', { project: p.id })) rows.push(projectRow(p));
        return sendListing(reply, paged('projects', 'Projects', applyFilters(rows, query), query, query.columns), format);
      }
      case 'subjects': {
        let subs;
        if (parent?.kind === 'project') subs = await archive.listSubjects(parent.project);
        else if (!parent) {
          subs = [];
          for (const p of await archive.listProjects()) if (await readable(p.id)) subs.push(...await archive.listSubjects(p.id));
        } else throw notFound(url);
        return sendListing(reply, paged('subjects', 'Subjects', applyFilters(subs.map(subjectRow), query), query, query.columns), format);
      }
      case 'experiments': {
        let rows;
        if (parent?.kind === 'project') rows = (await archive.listSessions({ project: parent.project })).map(sessionRow);
        else if (parent?.kind === 'subject') rows = (await archive.listSessions({ subject: parent.subject })).map(sessionRow);
        else if (!parent) {
          rows = [];
          for (const p of await archive.listProjects()) {
            if (await readable(p.id)) rows.push(...(await archive.listSessions({ project: p.id })).map(sessionRow));
          }
        } else throw notFound(url);
        const listing = paged('experiments', 'Experiments', applyFilters(rows, query), query, query.columns);
        if (parent?.kind === 'subject' && (format ?? 'json').toLowerCase() === 'json') {
          return reply.type('application/json; charset=utf-8').send(await subjectExperimentsJson(archive, await archive.require(parent), listing));
        }
        return sendListing(reply, listing, format);
      }
      case 'scans': {
        if (parent?.kind !== 'session') throw notFound(url);
        const rows = (await archive.listScans(parent.session)).map(scanRow);
        return sendListing(reply, paged('scans', 'Scans', applyFilters(rows, query), query, query.columns), format);
      }
      case 'assessors': {
        if (parent?.kind !== 'session') throw notFound(url);
        const rows = (await archive.listAssessors(parent.session)).map(assessorRow);
        return sendListing(reply, paged('assessors', 'Assessments', applyFilters(rows, query), query, query.columns), format);
      }
      case 'resources': {
        if (!parent || parent.kind === 'resource' || parent.kind === 'file') throw notFound(url);
        const rows = (await archive.listResources(parent as ResourceParentRef)).map(resourceRow);
        return sendListing(reply, paged('resources', 'Resources', rows, query, query.columns), format);
      }
      case 'files': {
        if (parent?.kind !== 'resource') throw notFound(url);
        const res = await archive.require(parent);
        const files = await archive.listFiles(parent.resource);
        if (format === 'zip') return sendZip(reply, res.label, await zipPrefix(res.parent), files);
        const rows = files.map((f) => fileRow(f, res.label));
        return sendListing(reply, paged('files', 'Files', rows, query, query.columns,
          { Columns: [{ key: 'URI', serverRoot: '' }] }), format);
      }
    }
  }

  /** Where a resource's files sit inside a zip download: pyxnat looks for a `files/` segment. */
  async function zipPrefix(parent: ResourceParentRef): Promise<string> {
    switch (parent.kind) {
      case 'project': return parent.project;
      case 'subject': return (await archive.require(parent)).label;
      case 'session': return (await archive.require(parent)).label;
      case 'assessor': {
        const a = await archive.require(parent);
        return `${(await archive.require({ kind: 'session', session: a.sessionId })).label}/assessors/${a.label}`;
      }
      case 'scan': {
        const s = await archive.require(parent);
        const sess = await archive.require({ kind: 'session', session: parent.session });
        return `${sess.label}/scans/${s.id}${s.type ? `-${s.type.replace(/[^\w.-]/g, '_')}` : ''}`;
      }
    }
  }

  function sendZip(reply: FastifyReply, label: string, prefix: string, files: ZipFile[]): FastifyReply {
    return sendZipOf(reply, label, [{ label, prefix, files }]);
  }

  function sendZipOf(reply: FastifyReply, name: string,
    parts: Array<{ label: string; prefix: string; files: ZipFile[] }>): FastifyReply {
    const zip = new yazl.ZipFile();
    // A file gone from disk fails its entry on the zip object; without a listener that would end the process.
    zip.on('error', (e: Error) => (zip.outputStream as Readable).destroy(e));
    for (const { label, prefix, files } of parts) {
      for (const f of files) {
        // Opened only when yazl reaches the entry: through the archive, which need not be a local disk.
        zip.addReadStreamLazy(`${prefix}/resources/${label}/files/${f.name}`, { mtime: f.modified, size: f.size },
          (done) => {
            // yazl looks only at the error when there is one.
            archive.openFile(f.resourceId, f.name).then((stream) => done(null, stream), (e: unknown) => done(e, undefined as unknown as Readable));
          });
      }
    }
    zip.end();
    return zipHeaders(reply, name).send(zip.outputStream);
  }

  /**
   * `…/experiments/E/scans/{ALL|1,2|T1w}/files` (pyxnat's `Scans.download()`): every resource of the chosen
   * scans, in the single-resource zip layout. Entries match a scan ID or type, as XNAT's do (pyxnat passes
   * types); entries matching nothing are skipped, but a selection matching no scan is a 404.
   */
  async function scanFiles(reply: FastifyReply, sessionPath: string, selector: string, query: Query, user: User): Promise<unknown> {
    const steps = parseArchivePath(sessionPath).steps;
    const r = await resolve(steps, user, sessionPath, 'read');
    const session = r.refs[r.refs.length - 1];
    if (r.missing || session?.kind !== 'session') throw notFound(sessionPath);
    const wanted = selector.split(',').map((s) => decodeSegment(s, sessionPath).trim()).filter((s) => s !== '');
    const all = wanted.length === 0 || wanted.includes('ALL');
    const scans = (await archive.listScans(session.session)).filter((s) => all || wanted.includes(s.id) || wanted.includes(s.type));
    if (!all && scans.length === 0) throw notFound(`${sessionPath}/scans/${selector}`);
    const parts: Array<{ label: string; prefix: string; files: ArchiveFile[] }> = [];
    for (const scan of scans) {
      const ref: ResourceParentRef = { kind: 'scan', session: session.session, scan: scan.id };
      const prefix = await zipPrefix(ref);
      for (const res of await archive.listResources(ref)) parts.push({ label: res.label, prefix, files: await archive.listFiles(res.id) });
    }
    if ((query.format ?? '').toLowerCase() === 'zip') {
      const label = (await archive.require(session)).label;
      return sendZipOf(reply, `${label}_scans_${all ? 'ALL' : wanted.join('_')}`, parts);
    }
    const rows = parts.flatMap((p) => p.files.map((f) => fileRow(f, p.label)));
    return sendListing(reply, buildListing('files', 'Files', rows, query.columns, { Columns: [{ key: 'URI', serverRoot: '' }] }),
      query.format);
  }

  async function read(request: FastifyRequest, reply: FastifyReply, ref: ObjectRef, query: Query): Promise<unknown> {
    if (ref.kind === 'file') {
      const f = await archive.require(ref);
      reply.header('Last-Modified', f.modified.toUTCString()).header('Content-Length', String(f.size))
        .header('ETag', `"${f.checksum}"`);
      fileHeaders(reply, f.name);
      if (request.method === 'HEAD') return reply.send();
      return reply.send(await archive.openFile(f.resourceId, f.name));
    }
    const rec = await archive.require(ref);
    const format = (query.format ?? 'json').toLowerCase();
    if (format === 'xml' && rec.kind !== 'resource') {
      return reply.type('text/xml; charset=utf-8').send(objectXml(rec));
    }
    if (format === 'zip' && rec.kind === 'resource') {
      return sendZip(reply, rec.label, await zipPrefix(rec.parent), await archive.listFiles(rec.id));
    }
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(await itemsJson(archive, rec)));
  }

  async function upload(request: FastifyRequest, reply: FastifyReply, resource: number, name: string | undefined,
    query: Query, user: User): Promise<unknown> {
    const opts: PutFileOptions = {
      overwrite: flag(query.overwrite), format: query.format, content: query.content,
      tags: query.tags ? query.tags.split(',').map((t) => t.trim()).filter((t) => t !== '') : undefined,
      maxBytes: deps.maxUploadBytes,
    };
    await storeUpload(archive, request, { resource, name, extract: flag(query.extract), opts, login: user.login });
    return reply.code(200).send('');
  }

  /**
   * `POST /xapi/archive/upload/xml`: an assessor document names its session itself (`imageSession_ID`, an ID
   * or, with the root's `project`, a label), so the target is read from the XML.
   */
  async function uploadXml(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const user = request.user!;
    const url = request.url.split('?')[0];
    const text = await readXmlBody(request);
    checkWellFormed(text);
    const root = parseXmlRoot(text);
    const sessionKey = root.leaves.imageSession_ID ?? root.attributes.imageSession_ID;
    if (!sessionKey) {
      throw new XcsError('archive.xml.no-session', 'the assessor XML names no session (element "imageSession_ID")',
        { status: 400, path: url });
    }
    const project = root.attributes.project ?? root.leaves.project;
    let ref = await archive.findChild(null, 'experiments', sessionKey);
    if (!ref && project) ref = await archive.findChild({ kind: 'project', project }, 'experiments', sessionKey).catch(() => undefined);
    const where = `session ${sessionKey}`;
    if (ref?.kind !== 'session') throw notFound(where);
    const sessionProject = await archive.projectOf(ref);
    if (project !== undefined && project !== sessionProject) {
      throw new XcsError('archive.xml.project-mismatch', `${where} is in project ${sessionProject}, not "${project}"`,
        { status: 400, path: url });
    }
    await requireAction(user, 'edit', sessionProject, where, [ref]);
    const a = await archive.createAssessorFromXml(ref.session, text, user.login);
    return reply.code(200).type('text/plain').send(a.id);
  }

  /** The XML document: the first file part of a multipart request (pyxnat, curl -F), else the raw body. */
  async function readXmlBody(request: FastifyRequest): Promise<string> {
    if (!request.isMultipart()) return readSmallBody(request);
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      const buf = await part.toBuffer();
      if (part.file.truncated) throw new XcsError('http.body.too-large', 'the XML document exceeds the size limit', { status: 413 });
      return buf.toString('utf8');
    }
    throw new XcsError('archive.xml.no-file', 'the multipart request holds no XML file part', { status: 400 });
  }

  app.post('/xapi/archive/upload/xml', uploadXml);

  for (const prefix of ['/data', '/REST', '/data/archive', '/REST/archive']) {
    for (const top of ['projects', 'subjects', 'experiments']) {
      app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: `${prefix}/${top}`, handler: handle });
      app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: `${prefix}/${top}/*`, handler: handle });
    }
  }
}

function decodeSegment(seg: string, path: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new XcsError('archive.uri.bad-escape', `bad percent-escape in "${seg}"`, { status: 400, path });
  }
}

type PagedListing = (collection: Parameters<typeof buildListing>[0], title: string, rows: Row[], query: Query, columns: string | undefined,
  extra?: Record<string, unknown>) => Listing;

type ZipFile = Pick<ArchiveFile, 'name' | 'resourceId' | 'size' | 'modified'>;

/** The multi-scan form `…/experiments/{E}/scans/{ALL|ids|types}/files`, which the path grammar lacks. */
const MULTI_SCAN_FILES = /^(.*\/experiments\/[^/]+)\/scans\/([^/]+)\/files\/?$/;

/** An assessor PUT carries a document when asked (`inbody=true`), typed as XML, or sent multipart (pyxnat `create(xml=)`). */
function carriesXml(request: FastifyRequest, query: Query): boolean {
  return flag(query.inbody) || (request.headers['content-type'] ?? '').includes('xml') || request.isMultipart();
}

function stripKey(fields: ExtraFields, ...keys: string[]): ExtraFields {
  const out = { ...fields };
  for (const k of keys) delete out[k];
  return out;
}
