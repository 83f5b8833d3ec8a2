/**
 * The embedded archive: metadata in SQLite (see db.ts), files on disk in XNAT's layout under
 * `{dataDir}/archive` (`{project}/arc001/{session}/SCANS/{scan}/{resource}/...`). Semantics are those of
 * the `Archive` interface (types.ts). Each resource row stores its directory (relative to the archive
 * root) so that renaming a label moves the directory once and never loses files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import { XcsError } from '../core/errors.ts';
import type {
  ArchiveDb, ExperimentsTable, FilesTable, ProjectsTable, ResourceRow, ResourcesTable, ScanRow, ScansTable, SubjectsTable,
} from './db.ts';
import { ArchiveEvents } from './events.ts';
import { checkFilePath, checkLabel } from './names.ts';
import { removeStaleStaging } from './staging-cleanup.ts';
import { parseArchivePath } from './uri.ts';
import {
  checkAssessorType, checkScanType, checkSessionType, isA, modalityOf,
} from './xsi.ts';
import { readAssessorDocument, readScanDocument, takenId } from './item-documents.ts';
import { openZip } from './zip.ts';
import { resolveUnpackLimits, type UnpackLimits } from './unpack-limits.ts';
import type {
  Actor, Archive, ArchiveCollection, ArchiveFile, AssessorRecord, AssessorSpec, CommitOptions, CommitResult,
  CreateOptions, DeleteOptions, ExtraFields, ObjectKind, ObjectRef, ProjectRecord, ProjectSpec, PutFileOptions, RecordOf,
  ResourceParentRef, ResourceRecord, ResourceSpec, ScanRecord, ScanSpec, SessionFilter, SessionRecord, SessionSpec,
  SubjectRecord, SubjectSpec,
} from './types.ts';

type Db = Kysely<ArchiveDb> | Transaction<ArchiveDb>;

export function xnatDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.0`;
}

function parseFields(json: string): ExtraFields {
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' ? (v as ExtraFields) : {};
  } catch {
    return {};
  }
}

function splitTags(tags: string): string[] {
  return tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

function notFound(what: string, path: string): XcsError {
  return new XcsError('archive.not-found', `${what} not found`, { status: 404, path });
}

function conflict(what: string, path: string): XcsError {
  return new XcsError('archive.conflict', `${what} already exists`, { status: 409, path });
}

const enc = encodeURIComponent;
/** Characters `encodeURIComponent` leaves alone, plus the `/` between segments. */
const URI_SAFE = /^[A-Za-z0-9\-_.!~*'()/]*$/;
function fileUri(resourceUri: string, path: string): string {
  // Most names need no escaping; testing first spares splitting every path of a big listing.
  return `${resourceUri}/files/${URI_SAFE.test(path) ? path : path.split('/').map(enc).join('/')}`;
}

/** A `files` row as listFiles reads it: path, size, md5, format, content, tags, modified. */
type FileTuple = [string, number, string, string, string, string, number];

/** Columns of each table that callers may set by name (XNAT field name → column). */
const PROJECT_FIELDS: Record<string, keyof ProjectsTable> = {
  name: 'name', secondary_id: 'secondary_id', description: 'description', 'pi/firstname': 'pi_firstname',
  pi_firstname: 'pi_firstname', 'pi/lastname': 'pi_lastname', pi_lastname: 'pi_lastname', keywords: 'keywords',
  accessibility: 'accessibility',
};
const SUBJECT_FIELDS: Record<string, keyof SubjectsTable> = { label: 'label', group: 'grp', src: 'src' };
const EXPERIMENT_FIELDS: Record<string, keyof ExperimentsTable> = {
  label: 'label', date: 'date', modality: 'modality', uid: 'uid', UID: 'uid', visit_id: 'visit_id',
};
const SCAN_FIELDS: Record<string, keyof Omit<ScansTable, 'pk'>> = {
  type: 'type', series_description: 'series_description', quality: 'quality', frames: 'frames', note: 'note',
  modality: 'modality', uid: 'uid', UID: 'uid',
};
const RESOURCE_FIELDS: Record<string, keyof Omit<ResourcesTable, 'id'>> = {
  label: 'label', format: 'format', content: 'content', description: 'description', tags: 'tags',
};

/** Splits `xsiType/field` or `field` values into known columns and extra fields. */
function splitFields<T>(fields: ExtraFields, columns: Record<string, keyof T>): { set: Partial<T>; extra: ExtraFields } {
  const set: Partial<T> = {};
  const extra: ExtraFields = {};
  for (const [k, v] of Object.entries(fields)) {
    const name = k.includes(':') && k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    const col = columns[name] ?? columns[name.toLowerCase()];
    if (col) (set as Record<string, unknown>)[col as string] = v;
    else extra[name] = v;
  }
  return { set, extra };
}

interface HashedFile { size: number; md5: string }

/** Streams `body` into `tmp`, computing MD5 and size; removes `tmp` on any failure. */
async function streamToFile(body: Readable, tmp: string, maxBytes: number): Promise<HashedFile> {
  const hash = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) {
        cb(new XcsError('archive.upload.too-large', `upload is larger than the limit of ${maxBytes} bytes`, { status: 413 }));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx' }));
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof XcsError) throw e;
    throw new XcsError('archive.upload.truncated', `the upload was interrupted or truncated: ${String(e)}`,
      { status: 400, cause: e });
  }
  return { size, md5: hash.digest('hex') };
}

async function hashFile(path: string): Promise<HashedFile> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, md5: hash.digest('hex') };
}

/**
 * Every regular file under `dir`, as paths relative to it (`/`-separated); refuses links. `emptyDirs`
 * tells whether some directory below `dir` holds nothing (moving the tree whole would then add it).
 */
async function walkFiles(dir: string): Promise<{ files: string[]; emptyDirs: boolean }> {
  const out: string[] = [];
  let emptyDirs = false;
  async function walk(d: string, prefix: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    if (entries.length === 0 && prefix !== '') emptyDirs = true;
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else if (e.isFile()) out.push(prefix + e.name);
      else {
        const p = join(d, e.name);
        throw new XcsError('archive.stage.not-regular', `staged entry "${relative(dir, p)}" is not a regular file`,
          { status: 400, path: p });
      }
    }
  }
  await walk(dir, '');
  return { files: out.sort(), emptyDirs };
}

/** Runs `fn` over `items` with at most `limit` at a time; every call has settled when it returns. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/** Whether `dir` is missing or empty. */
async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Rows per multi-row INSERT: 8 parameters each stays far below SQLite's variable limit. */
const INSERT_CHUNK = 500;

type FileDigest = { path: string; size: number; md5: string };
interface CommitPlan { files: FileDigest[]; replaced?: FileDigest[] }

export interface EmbeddedArchiveOptions {
  dataDir: string;
  /** Default upload limit in bytes (per file or zip). */
  maxUploadBytes?: number;
  siteId?: string;
  /** Staging entries untouched for this long are removed at start-up (`staging-cleanup.ts`). */
  stagingMaxAgeMs?: number;
  /** Archive-bomb limits for extracted zips (defaults in `unpack-limits.ts`). */
  unpackLimits?: Partial<UnpackLimits>;
}

export class EmbeddedArchive implements Archive {
  readonly events = new ArchiveEvents();
  readonly root: string;
  readonly #db: Kysely<ArchiveDb>;
  readonly #staging: string;
  readonly #uploads: string;
  readonly #maxUpload: number;
  readonly #siteId: string;
  readonly #stagingMaxAge: number | undefined;
  readonly #unpackLimits: UnpackLimits;

  constructor(db: Kysely<ArchiveDb>, opts: EmbeddedArchiveOptions) {
    this.#db = db;
    this.root = join(opts.dataDir, 'archive');
    this.#staging = join(opts.dataDir, 'staging');
    this.#uploads = join(this.#staging, '.uploads');
    this.#maxUpload = opts.maxUploadBytes ?? 1024 ** 4;
    this.#siteId = opts.siteId ?? 'XNAT';
    this.#stagingMaxAge = opts.stagingMaxAgeMs;
    this.#unpackLimits = resolveUnpackLimits(opts.unpackLimits);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await mkdir(this.#uploads, { recursive: true });
    // Another process may be working in the same staging dir: only entries untouched for long are removed.
    await removeStaleStaging(this.#staging, { maxAgeMs: this.#stagingMaxAge });
  }

  stagingDir(): string {
    return this.#staging;
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  #tmpPath(): string {
    return join(this.#uploads, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  // ---- row → record -------------------------------------------------------------------------------

  #project(r: ProjectsTable): ProjectRecord {
    return {
      kind: 'project', id: r.id, name: r.name, secondaryId: r.secondary_id, description: r.description,
      piFirstname: r.pi_firstname, piLastname: r.pi_lastname, keywords: r.keywords, accessibility: r.accessibility,
      fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
      uri: `/data/projects/${enc(r.id)}`, archiveUri: `/archive/projects/${enc(r.id)}`,
    };
  }

  #subject(r: SubjectsTable): SubjectRecord {
    return {
      kind: 'subject', id: r.id, label: r.label, project: r.project, group: r.grp, src: r.src,
      fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
      uri: `/data/subjects/${r.id}`, archiveUri: `/archive/projects/${enc(r.project)}/subjects/${r.id}`,
    };
  }

  #session(r: ExperimentsTable & { subject_label: string }): SessionRecord {
    return {
      kind: 'session', id: r.id, label: r.label, project: r.project, subjectId: r.subject_id,
      subjectLabel: r.subject_label, xsiType: r.xsi_type, date: r.date, modality: r.modality, uid: r.uid,
      visitId: r.visit_id, fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
      uri: `/data/experiments/${r.id}`, archiveUri: `/archive/experiments/${r.id}`,
    };
  }

  #assessor(r: ExperimentsTable): AssessorRecord {
    return {
      kind: 'assessor', id: r.id, label: r.label, project: r.project, sessionId: r.session_id ?? '',
      subjectId: r.subject_id, xsiType: r.xsi_type, date: r.date, fields: parseFields(r.fields),
      ...(r.document !== null ? { document: { format: r.document_format === 'json' ? 'json' : 'xml', text: r.document } } : {}),
      insertDate: r.insert_date, insertUser: r.insert_user,
      uri: `/data/experiments/${r.session_id}/assessors/${r.id}`, archiveUri: `/archive/experiments/${r.id}`,
    };
  }

  #scan(r: ScanRow, project: string): ScanRecord {
    const base = `/experiments/${r.session_id}/scans/${enc(r.scan_id)}`;
    return {
      kind: 'scan', id: r.scan_id, internalId: r.pk, sessionId: r.session_id, project, xsiType: r.xsi_type,
      type: r.type, seriesDescription: r.series_description, quality: r.quality, frames: r.frames, note: r.note,
      modality: r.modality, uid: r.uid, fields: parseFields(r.fields), insertDate: r.insert_date,
      insertUser: r.insert_user, uri: `/data${base}`, archiveUri: `/archive${base}`,
    };
  }

  async #parentUris(kind: string, key: string): Promise<{ parent: ResourceParentRef; uri: string; archiveUri: string }> {
    switch (kind) {
      case 'project':
        return { parent: { kind, project: key }, uri: `/data/projects/${enc(key)}`, archiveUri: `/archive/projects/${enc(key)}` };
      case 'subject': {
        const s = await this.#db.selectFrom('subjects').select('project').where('id', '=', key).executeTakeFirst();
        return { parent: { kind, subject: key }, uri: `/data/subjects/${key}`,
          archiveUri: `/archive/projects/${enc(s?.project ?? '')}/subjects/${key}` };
      }
      case 'session':
        return { parent: { kind, session: key }, uri: `/data/experiments/${key}`, archiveUri: `/archive/experiments/${key}` };
      case 'assessor': {
        const a = await this.#db.selectFrom('experiments').select('session_id').where('id', '=', key).executeTakeFirst();
        return { parent: { kind, assessor: key }, uri: `/data/experiments/${a?.session_id}/assessors/${key}`,
          archiveUri: `/archive/experiments/${key}` };
      }
      default: {
        const s = await this.#db.selectFrom('scans').select(['session_id', 'scan_id']).where('pk', '=', Number(key)).executeTakeFirst();
        const base = `/experiments/${s?.session_id}/scans/${enc(s?.scan_id ?? '')}`;
        return { parent: { kind: 'scan', session: s?.session_id ?? '', scan: s?.scan_id ?? '' }, uri: `/data${base}`,
          archiveUri: `/archive${base}` };
      }
    }
  }

  async #resources(rows: ResourceRow[]): Promise<ResourceRecord[]> {
    if (rows.length === 0) return [];
    const stats = await this.#db.selectFrom('files')
      .select((eb) => ['resource_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
      .where('resource_id', 'in', rows.map((r) => r.id)).groupBy('resource_id').execute();
    const byId = new Map(stats.map((s) => [s.resource_id, s]));
    const out: ResourceRecord[] = [];
    for (const r of rows) {
      const p = await this.#parentUris(r.parent_kind, r.parent_key);
      out.push({
        kind: 'resource', id: r.id, label: r.label, parent: p.parent, project: r.project, format: r.format,
        content: r.content, description: r.description, tags: splitTags(r.tags),
        fileCount: Number(byId.get(r.id)?.n ?? 0), fileSize: Number(byId.get(r.id)?.bytes ?? 0),
        fields: {}, insertDate: r.insert_date, insertUser: r.insert_user,
        uri: `${p.uri}/resources/${r.id}`, archiveUri: `${p.archiveUri}/resources/${enc(r.label)}`,
      });
    }
    return out;
  }

  #file(r: FilesTable, resource: ResourceRow, resourceUri: string): ArchiveFile {
    return {
      kind: 'file', resourceId: r.resource_id, name: r.path, size: r.size, checksum: r.md5, format: r.format,
      content: r.content, tags: splitTags(r.tags), uri: fileUri(resourceUri, r.path),
      // Paths were normalised on the way in, so plain concatenation is safe (and fast for big listings).
      absolutePath: `${this.root}${sep}${resource.dir}${sep}${r.path}`, modified: new Date(r.modified),
    };
  }

  // ---- lookups ------------------------------------------------------------------------------------

  #sessionQuery(db: Db = this.#db) {
    return db.selectFrom('experiments').innerJoin('subjects', 'subjects.id', 'experiments.subject_id')
      .selectAll('experiments').select('subjects.label as subject_label');
  }

  async get<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K] | undefined> {
    return (await this.#get(ref as ObjectRef)) as RecordOf[K] | undefined;
  }

  async #get(ref: ObjectRef): Promise<RecordOf[ObjectKind] | undefined> {
    switch (ref.kind) {
      case 'project': {
        const r = await this.#db.selectFrom('projects').selectAll().where('id', '=', ref.project).executeTakeFirst();
        return r && this.#project(r);
      }
      case 'subject': {
        const r = await this.#db.selectFrom('subjects').selectAll().where('id', '=', ref.subject).executeTakeFirst();
        return r && this.#subject(r);
      }
      case 'session': {
        const r = await this.#sessionQuery().where('experiments.id', '=', ref.session)
          .where('experiments.session_id', 'is', null).executeTakeFirst();
        return r && this.#session(r);
      }
      case 'assessor': {
        const r = await this.#db.selectFrom('experiments').selectAll().where('id', '=', ref.assessor)
          .where('session_id', 'is not', null).executeTakeFirst();
        return r && this.#assessor(r);
      }
      case 'scan': {
        const r = await this.#db.selectFrom('scans').innerJoin('experiments', 'experiments.id', 'scans.session_id')
          .selectAll('scans').select('experiments.project')
          .where('scans.session_id', '=', ref.session).where('scans.scan_id', '=', ref.scan).executeTakeFirst();
        return r && this.#scan(r, r.project);
      }
      case 'resource': {
        const r = await this.#db.selectFrom('resources').selectAll().where('id', '=', ref.resource).executeTakeFirst();
        return r && (await this.#resources([r]))[0];
      }
      case 'file': {
        const res = await this.#db.selectFrom('resources').selectAll().where('id', '=', ref.resource).executeTakeFirst();
        if (!res) return undefined;
        const f = await this.#db.selectFrom('files').selectAll().where('resource_id', '=', ref.resource)
          .where('path', '=', ref.path).executeTakeFirst();
        if (!f) return undefined;
        const [rec] = await this.#resources([res]);
        return this.#file(f, res, rec.uri);
      }
    }
  }

  async require<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K]> {
    const r = await this.get(ref);
    if (!r) throw notFound(ref.kind, JSON.stringify(ref));
    return r;
  }

  async findChild(parent: ObjectRef | null, collection: ArchiveCollection, idOrLabel: string): Promise<ObjectRef | undefined> {
    const db = this.#db;
    const experimentRef = (r: { id: string; session_id: string | null } | undefined): ObjectRef | undefined =>
      r && (r.session_id === null ? { kind: 'session', session: r.id } : { kind: 'assessor', assessor: r.id });
    if (parent === null) {
      if (collection === 'projects') {
        const r = await db.selectFrom('projects').select('id').where('id', '=', idOrLabel).executeTakeFirst();
        return r && { kind: 'project', project: r.id };
      }
      if (collection === 'subjects') {
        const r = await db.selectFrom('subjects').select('id').where('id', '=', idOrLabel).executeTakeFirst();
        return r && { kind: 'subject', subject: r.id };
      }
      if (collection === 'experiments') {
        return experimentRef(await db.selectFrom('experiments').select(['id', 'session_id']).where('id', '=', idOrLabel).executeTakeFirst());
      }
      return undefined;
    }
    if (collection === 'resources') {
      if (parent.kind === 'resource' || parent.kind === 'file') return undefined;
      const key = await this.#parentKey(parent);
      if (key === undefined) return undefined;
      let q = db.selectFrom('resources').select('id').where('parent_kind', '=', parent.kind).where('parent_key', '=', key);
      q = /^\d+$/.test(idOrLabel)
        ? q.where((eb) => eb.or([eb('label', '=', idOrLabel), eb('id', '=', Number(idOrLabel))]))
        : q.where('label', '=', idOrLabel);
      const rows = await q.orderBy('id').execute();
      // A label equal to another resource's number is ambiguous; the label wins, as in XNAT.
      const byLabel = await db.selectFrom('resources').select('id').where('parent_kind', '=', parent.kind)
        .where('parent_key', '=', key).where('label', '=', idOrLabel).executeTakeFirst();
      const id = byLabel?.id ?? rows[0]?.id;
      return id === undefined ? undefined : { kind: 'resource', resource: id };
    }
    switch (parent.kind) {
      case 'project': {
        if (collection === 'subjects') {
          const r = await db.selectFrom('subjects').select('id').where('project', '=', parent.project)
            .where((eb) => eb.or([eb('id', '=', idOrLabel), eb('label', '=', idOrLabel)])).executeTakeFirst();
          return r && { kind: 'subject', subject: r.id };
        }
        if (collection === 'experiments') {
          return experimentRef(await db.selectFrom('experiments').select(['id', 'session_id']).where('project', '=', parent.project)
            .where((eb) => eb.or([eb('id', '=', idOrLabel), eb('label', '=', idOrLabel)])).executeTakeFirst());
        }
        return undefined;
      }
      case 'subject': {
        if (collection !== 'experiments') return undefined;
        return experimentRef(await db.selectFrom('experiments').select(['id', 'session_id']).where('subject_id', '=', parent.subject)
          .where((eb) => eb.or([eb('id', '=', idOrLabel), eb('label', '=', idOrLabel)])).executeTakeFirst());
      }
      case 'session': {
        if (collection === 'scans') {
          const r = await db.selectFrom('scans').select('scan_id').where('session_id', '=', parent.session)
            .where('scan_id', '=', idOrLabel).executeTakeFirst();
          return r && { kind: 'scan', session: parent.session, scan: r.scan_id };
        }
        if (collection === 'assessors') {
          const r = await db.selectFrom('experiments').select('id').where('session_id', '=', parent.session)
            .where((eb) => eb.or([eb('id', '=', idOrLabel), eb('label', '=', idOrLabel)])).executeTakeFirst();
          return r && { kind: 'assessor', assessor: r.id };
        }
        return undefined;
      }
      case 'resource': {
        if (collection !== 'files') return undefined;
        const path = checkFilePath(idOrLabel);
        const r = await db.selectFrom('files').select('path').where('resource_id', '=', parent.resource)
          .where('path', '=', path).executeTakeFirst();
        return r && { kind: 'file', resource: parent.resource, path: r.path };
      }
      default:
        return undefined;
    }
  }

  async resolveUri(uri: string): Promise<ObjectRef> {
    const parsed = parseArchivePath(uri);
    if (parsed.collection || parsed.steps.length === 0) {
      throw new XcsError('archive.uri.not-object', `"${uri}" names a collection, not an object`, { status: 400, path: uri });
    }
    let ref: ObjectRef | null = null;
    for (const step of parsed.steps) {
      const next: ObjectRef | undefined = await this.findChild(ref, step.collection, step.id);
      if (!next) throw notFound(`${step.collection.replace(/s$/, '')} "${step.id}"`, uri);
      ref = next;
    }
    return ref!;
  }

  async projectOf(ref: ObjectRef): Promise<string> {
    switch (ref.kind) {
      case 'project': return ref.project;
      case 'subject': return (await this.require(ref)).project;
      case 'session': return (await this.require(ref)).project;
      case 'assessor': return (await this.require(ref)).project;
      case 'scan': return (await this.require({ kind: 'session', session: ref.session })).project;
      case 'resource':
      case 'file': {
        const r = await this.#db.selectFrom('resources').select('project').where('id', '=', ref.resource).executeTakeFirst();
        if (!r) throw notFound('resource', String(ref.resource));
        return r.project;
      }
    }
  }

  async #parentKey(parent: ResourceParentRef, db: Db = this.#db): Promise<string | undefined> {
    switch (parent.kind) {
      case 'project': return parent.project;
      case 'subject': return parent.subject;
      case 'session': return parent.session;
      case 'assessor': return parent.assessor;
      case 'scan': {
        const r = await db.selectFrom('scans').select('pk').where('session_id', '=', parent.session)
          .where('scan_id', '=', parent.scan).executeTakeFirst();
        return r === undefined ? undefined : String(r.pk);
      }
    }
  }

  // ---- listings -----------------------------------------------------------------------------------

  async listProjects(): Promise<ProjectRecord[]> {
    return (await this.#db.selectFrom('projects').selectAll().orderBy('id').execute()).map((r) => this.#project(r));
  }

  async listSubjects(project: string): Promise<SubjectRecord[]> {
    return (await this.#db.selectFrom('subjects').selectAll().where('project', '=', project).orderBy('id').execute())
      .map((r) => this.#subject(r));
  }

  async listSessions(filter: SessionFilter): Promise<SessionRecord[]> {
    let q = this.#sessionQuery().where('experiments.session_id', 'is', null);
    if (filter.project !== undefined) q = q.where('experiments.project', '=', filter.project);
    if (filter.subject !== undefined) q = q.where('experiments.subject_id', '=', filter.subject);
    const rows = await q.orderBy('experiments.id').execute();
    return rows.map((r) => this.#session(r)).filter((s) => !filter.xsiType || isA(s.xsiType, filter.xsiType));
  }

  async listScans(session: string): Promise<ScanRecord[]> {
    const s = await this.#db.selectFrom('experiments').select('project').where('id', '=', session).executeTakeFirst();
    if (!s) return [];
    const rows = await this.#db.selectFrom('scans').selectAll().where('session_id', '=', session).orderBy('pk').execute();
    return rows.map((r) => this.#scan(r, s.project));
  }

  async listAssessors(session: string): Promise<AssessorRecord[]> {
    return (await this.#db.selectFrom('experiments').selectAll().where('session_id', '=', session).orderBy('id').execute())
      .map((r) => this.#assessor(r));
  }

  async listResources(parent: ResourceParentRef): Promise<ResourceRecord[]> {
    const key = await this.#parentKey(parent);
    if (key === undefined) return [];
    const rows = await this.#db.selectFrom('resources').selectAll().where('parent_kind', '=', parent.kind)
      .where('parent_key', '=', key).orderBy('id').execute();
    return this.#resources(rows);
  }

  async listFiles(resource: number): Promise<ArchiveFile[]> {
    const res = await this.#db.selectFrom('resources').selectAll().where('id', '=', resource).executeTakeFirst();
    if (!res) throw notFound('resource', String(resource));
    const p = await this.#parentUris(res.parent_kind, res.parent_key);
    const uri = `${p.uri}/resources/${res.id}`;
    // One row of JSON rather than one row object per file: SQLite builds it in C, and JSON.parse makes
    // arrays faster than the driver makes row objects (a listing of 10,000 files takes half the time).
    // SQLite-specific, like this class; PostgreSQL would use json_agg.
    const row = await sql<{ j: string }>`SELECT json_group_array(json_array(path, size, md5, format, content, tags, modified)
      ORDER BY path) AS j FROM files WHERE resource_id = ${resource}`.execute(this.#db);
    const rows = JSON.parse(row.rows[0]?.j ?? '[]') as FileTuple[];
    const dir = `${this.root}${sep}${res.dir}${sep}`;
    const tagCache = new Map<string, string[]>();
    const out = new Array<ArchiveFile>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [path, size, md5, format, content, tags, modified] = rows[i];
      let tagList = tagCache.get(tags);
      if (!tagList) tagCache.set(tags, tagList = splitTags(tags));
      out[i] = {
        kind: 'file', resourceId: resource, name: path, size, checksum: md5, format, content, tags: [...tagList],
        uri: fileUri(uri, path),
        // Paths were normalised on the way in, so plain concatenation is safe (and fast for big listings).
        absolutePath: dir + path, modified: new Date(modified),
      };
    }
    return out;
  }

  // ---- creation -----------------------------------------------------------------------------------

  async #nextAccession(trx: Db, counter: 'subject' | 'experiment'): Promise<string> {
    await trx.insertInto('counters').values({ name: counter, value: 0 }).onConflict((oc) => oc.doNothing()).execute();
    const r = await trx.updateTable('counters').set((eb) => ({ value: eb('value', '+', 1) }))
      .where('name', '=', counter).returning('value').executeTakeFirstOrThrow();
    const id = `${this.#siteId}_${counter === 'subject' ? 'S' : 'E'}${String(r.value).padStart(5, '0')}`;
    // An assessor document may have brought this very ID (item-documents.ts): take the next number then.
    const clash = counter === 'experiment' && await trx.selectFrom('experiments').select('id').where('id', '=', id).executeTakeFirst();
    return clash ? this.#nextAccession(trx, counter) : id;
  }

  async createProject(spec: ProjectSpec, actor: Actor): Promise<ProjectRecord> {
    checkLabel('project ID', spec.id);
    const { set, extra } = splitFields<ProjectsTable>(spec.fields ?? {}, PROJECT_FIELDS);
    if (await this.get({ kind: 'project', project: spec.id })) throw conflict(`project "${spec.id}"`, spec.id);
    await this.#db.insertInto('projects').values({
      id: spec.id, name: spec.name ?? set.name ?? spec.id, secondary_id: set.secondary_id ?? spec.id,
      description: set.description ?? '', pi_firstname: set.pi_firstname ?? '', pi_lastname: set.pi_lastname ?? '',
      keywords: set.keywords ?? '', accessibility: set.accessibility ?? 'private', fields: JSON.stringify(extra),
      insert_date: xnatDate(), insert_user: actor,
    }).execute();
    await mkdir(join(this.root, spec.id), { recursive: true });
    return this.require({ kind: 'project', project: spec.id });
  }

  async createSubject(project: string, spec: SubjectSpec, actor: Actor): Promise<SubjectRecord> {
    checkLabel('subject label', spec.label);
    await this.require({ kind: 'project', project });
    const { set, extra } = splitFields<SubjectsTable>(spec.fields ?? {}, SUBJECT_FIELDS);
    const id = await this.#db.transaction().execute(async (trx) => {
      const dup = await trx.selectFrom('subjects').select('id').where('project', '=', project).where('label', '=', spec.label).executeTakeFirst();
      if (dup) throw conflict(`subject "${spec.label}" in project ${project}`, spec.label);
      const newId = await this.#nextAccession(trx, 'subject');
      await trx.insertInto('subjects').values({
        id: newId, project, label: spec.label, grp: set.grp ?? '', src: set.src ?? '', fields: JSON.stringify(extra),
        insert_date: xnatDate(), insert_user: actor,
      }).execute();
      return newId;
    });
    return this.require({ kind: 'subject', subject: id });
  }

  async createSession(subject: string, spec: SessionSpec, actor: Actor, opts: CreateOptions = {}): Promise<SessionRecord> {
    checkLabel('session label', spec.label);
    const xsiType = checkSessionType(spec.xsiType ?? 'xnat:mrSessionData', 'xsiType');
    const subj = await this.require({ kind: 'subject', subject });
    const { set, extra } = splitFields<ExperimentsTable>(spec.fields ?? {}, EXPERIMENT_FIELDS);
    const id = await this.#db.transaction().execute(async (trx) => {
      await this.#checkExperimentLabel(trx, subj.project, spec.label);
      const newId = await this.#nextAccession(trx, 'experiment');
      await trx.insertInto('experiments').values({
        id: newId, project: subj.project, subject_id: subject, session_id: null, label: spec.label, xsi_type: xsiType,
        date: set.date ?? '', modality: set.modality ?? modalityOf(xsiType), uid: set.uid ?? '', visit_id: set.visit_id ?? '',
        fields: JSON.stringify(extra), document: null, document_format: null, insert_date: xnatDate(), insert_user: actor,
      }).execute();
      return newId;
    });
    const rec = await this.require({ kind: 'session', session: id });
    const e = { project: rec.project, subject: rec.subjectId, session: rec.id, uri: rec.archiveUri, xsiType, user: actor };
    this.events.emit('session.created', e);
    if (opts.archived !== false) this.events.emit('session.archived', e);
    return rec;
  }

  async #checkExperimentLabel(trx: Db, project: string, label: string): Promise<void> {
    const dup = await trx.selectFrom('experiments').select('id').where('project', '=', project).where('label', '=', label).executeTakeFirst();
    if (dup) throw conflict(`experiment "${label}" in project ${project}`, label);
  }

  async createScan(session: string, spec: ScanSpec, actor: Actor, opts: CreateOptions = {}): Promise<ScanRecord> {
    checkLabel('scan ID', spec.id);
    const xsiType = checkScanType(spec.xsiType ?? 'xnat:mrScanData', 'xsiType');
    const sess = await this.require({ kind: 'session', session });
    const { set, extra } = splitFields<Omit<ScansTable, 'pk'>>(spec.fields ?? {}, SCAN_FIELDS);
    await this.#db.transaction().execute(async (trx) => {
      const dup = await trx.selectFrom('scans').select('pk').where('session_id', '=', session).where('scan_id', '=', spec.id).executeTakeFirst();
      if (dup) throw conflict(`scan "${spec.id}" in session ${sess.label}`, spec.id);
      await trx.insertInto('scans').values({
        session_id: session, scan_id: spec.id, xsi_type: xsiType, type: set.type ?? '',
        series_description: set.series_description ?? '', quality: set.quality ?? 'usable', frames: set.frames ?? '',
        note: set.note ?? '', modality: set.modality ?? modalityOf(xsiType), uid: set.uid ?? '', fields: JSON.stringify(extra),
        insert_date: xnatDate(), insert_user: actor,
      }).execute();
    });
    const rec = await this.require({ kind: 'scan', session, scan: spec.id });
    const e = { project: sess.project, subject: sess.subjectId, session, scan: spec.id, uri: rec.archiveUri, xsiType, user: actor };
    this.events.emit('scan.created', e);
    if (opts.archived !== false) this.events.emit('scan.archived', e);
    return rec;
  }

  async markArchived(ref: Extract<ObjectRef, { kind: 'session' | 'scan' }>, actor: Actor): Promise<void> {
    if (ref.kind === 'session') {
      const rec = await this.require(ref);
      this.events.emit('session.archived', { project: rec.project, subject: rec.subjectId, session: rec.id, uri: rec.archiveUri,
        xsiType: rec.xsiType, user: actor });
      return;
    }
    const sess = await this.require({ kind: 'session', session: ref.session });
    const rec = await this.require(ref);
    this.events.emit('scan.archived', { project: sess.project, subject: sess.subjectId, session: sess.id, scan: rec.id,
      uri: rec.archiveUri, xsiType: rec.xsiType, user: actor });
  }

  async createAssessor(session: string, spec: AssessorSpec, actor: Actor): Promise<AssessorRecord> {
    checkLabel('assessor label', spec.label);
    const xsiType = checkAssessorType(spec.xsiType, 'xsiType');
    const sess = await this.require({ kind: 'session', session });
    const { set, extra } = splitFields<ExperimentsTable>(spec.fields ?? {}, EXPERIMENT_FIELDS);
    const id = await this.#db.transaction().execute(async (trx) => {
      await this.#checkExperimentLabel(trx, sess.project, spec.label);
      const newId = spec.id ?? await this.#nextAccession(trx, 'experiment');
      await trx.insertInto('experiments').values({
        id: newId, project: sess.project, subject_id: sess.subjectId, session_id: session, label: spec.label,
        xsi_type: xsiType, date: set.date ?? '', modality: '', uid: '', visit_id: '', fields: JSON.stringify(extra),
        document: spec.document?.text ?? null, document_format: spec.document?.format ?? null,
        insert_date: xnatDate(), insert_user: actor,
      }).execute();
      return newId;
    });
    return this.require({ kind: 'assessor', assessor: id });
  }

  /** Directory of a resource's parent, relative to the archive root. */
  async #parentDir(parent: ResourceParentRef): Promise<{ dir: string; project: string }> {
    switch (parent.kind) {
      case 'project':
        await this.require(parent);
        return { dir: join(parent.project, 'resources'), project: parent.project };
      case 'subject': {
        const s = await this.require(parent);
        return { dir: join(s.project, 'subjects', s.label), project: s.project };
      }
      case 'session': {
        const s = await this.require(parent);
        return { dir: join(s.project, 'arc001', s.label, 'RESOURCES'), project: s.project };
      }
      case 'scan': {
        const s = await this.require({ kind: 'session', session: parent.session });
        await this.require(parent);
        return { dir: join(s.project, 'arc001', s.label, 'SCANS', parent.scan), project: s.project };
      }
      case 'assessor': {
        const a = await this.require(parent);
        const s = await this.require({ kind: 'session', session: a.sessionId });
        return { dir: join(s.project, 'arc001', s.label, 'ASSESSORS', a.label), project: s.project };
      }
    }
  }

  async createResource(parent: ResourceParentRef, spec: ResourceSpec, actor: Actor): Promise<ResourceRecord> {
    checkLabel('resource label', spec.label);
    const { dir, project } = await this.#parentDir(parent);
    const key = (await this.#parentKey(parent))!;
    const dup = await this.#db.selectFrom('resources').select('id').where('parent_kind', '=', parent.kind)
      .where('parent_key', '=', key).where('label', '=', spec.label).executeTakeFirst();
    if (dup) throw conflict(`resource "${spec.label}"`, spec.label);
    const r = await this.#db.insertInto('resources').values({
      parent_kind: parent.kind, parent_key: key, project, label: spec.label, format: spec.format ?? '',
      content: spec.content ?? '', description: spec.description ?? '', tags: (spec.tags ?? []).join(','),
      dir: join(dir, spec.label), insert_date: xnatDate(), insert_user: actor,
    }).returning('id').executeTakeFirstOrThrow();
    await mkdir(join(this.root, dir, spec.label), { recursive: true });
    const rec = await this.require({ kind: 'resource', resource: r.id });
    this.events.emit('resource.created', {
      project, resource: r.id, uri: rec.archiveUri, xsiType: 'xnat:resourceCatalog', user: actor,
      ...(parent.kind === 'session' ? { session: parent.session } : {}),
      ...(parent.kind === 'scan' ? { session: parent.session, scan: parent.scan } : {}),
      ...(parent.kind === 'subject' ? { subject: parent.subject } : {}),
    });
    return rec;
  }

  // ---- update and delete ----------------------------------------------------------------------------

  async update(ref: ObjectRef, fields: ExtraFields, _actor: Actor): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    switch (ref.kind) {
      case 'project': {
        const cur = await this.require(ref);
        const { set, extra } = splitFields<ProjectsTable>(fields, PROJECT_FIELDS);
        await this.#db.updateTable('projects').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
          .where('id', '=', ref.project).execute();
        return;
      }
      case 'subject': {
        const cur = await this.require(ref);
        const { set, extra } = splitFields<SubjectsTable>(fields, SUBJECT_FIELDS);
        if (set.label !== undefined && set.label !== cur.label) {
          checkLabel('subject label', set.label);
          const dup = await this.findChild({ kind: 'project', project: cur.project }, 'subjects', set.label);
          if (dup) throw conflict(`subject "${set.label}"`, set.label);
          await this.#relocate(join(cur.project, 'subjects', cur.label), join(cur.project, 'subjects', set.label));
        }
        await this.#db.updateTable('subjects').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
          .where('id', '=', ref.subject).execute();
        return;
      }
      case 'session':
      case 'assessor': {
        const id = ref.kind === 'session' ? ref.session : ref.assessor;
        const cur = ref.kind === 'session' ? await this.require(ref) : await this.require(ref);
        const { set, extra } = splitFields<ExperimentsTable>(fields, EXPERIMENT_FIELDS);
        if (set.label !== undefined && set.label !== cur.label) {
          checkLabel('experiment label', set.label);
          await this.#checkExperimentLabel(this.#db, cur.project, set.label);
          if (cur.kind === 'session') {
            await this.#relocate(join(cur.project, 'arc001', cur.label), join(cur.project, 'arc001', set.label));
          } else {
            const s = await this.require({ kind: 'session', session: cur.sessionId });
            const base = join(s.project, 'arc001', s.label, 'ASSESSORS');
            await this.#relocate(join(base, cur.label), join(base, set.label));
          }
        }
        await this.#db.updateTable('experiments').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
          .where('id', '=', id).execute();
        return;
      }
      case 'scan': {
        const cur = await this.require(ref);
        const { set, extra } = splitFields<Omit<ScansTable, 'pk'>>(fields, SCAN_FIELDS);
        await this.#db.updateTable('scans').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
          .where('pk', '=', cur.internalId).execute();
        return;
      }
      case 'resource': {
        const cur = await this.require(ref);
        const { set } = splitFields<Omit<ResourcesTable, 'id'>>(fields, RESOURCE_FIELDS);
        if (set.label !== undefined && set.label !== cur.label) {
          throw new XcsError('archive.resource.relabel', 'a resource label cannot be changed', { status: 400, path: cur.uri });
        }
        await this.#db.updateTable('resources').set(set).where('id', '=', ref.resource).execute();
        return;
      }
      case 'file': {
        await this.require(ref);
        const set: Partial<FilesTable> = {};
        if (fields.format !== undefined) set.format = fields.format;
        if (fields.content !== undefined) set.content = fields.content;
        if (fields.tags !== undefined) set.tags = fields.tags;
        if (Object.keys(set).length) {
          await this.#db.updateTable('files').set(set).where('resource_id', '=', ref.resource).where('path', '=', ref.path).execute();
        }
      }
    }
  }

  /** Moves a labelled directory and every resource under it. */
  async #relocate(from: string, to: string): Promise<void> {
    const src = join(this.root, from);
    const dst = join(this.root, to);
    const exists = await stat(src).then(() => true, () => false);
    if (exists) {
      await mkdir(dirname(dst), { recursive: true });
      await rename(src, dst);
    }
    const rows = await this.#db.selectFrom('resources').select(['id', 'dir']).where('dir', 'like', `${from}/%`).execute();
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const r of rows) {
          if (!r.dir.startsWith(from + '/')) continue;
          await trx.updateTable('resources').set({ dir: to + r.dir.slice(from.length) }).where('id', '=', r.id).execute();
        }
      });
    } catch (e) {
      if (exists) await rename(dst, src);
      throw e;
    }
  }

  async delete(ref: ObjectRef, opts: DeleteOptions, _actor: Actor): Promise<void> {
    const removeFiles = opts.removeFiles !== false;
    if (ref.kind === 'file') {
      const f = await this.require(ref);
      await this.#db.deleteFrom('files').where('resource_id', '=', ref.resource).where('path', '=', ref.path).execute();
      if (removeFiles) await rm(f.absolutePath, { force: true });
      return;
    }
    const dirs: string[] = [];
    const resourceIds: number[] = [];
    const experimentIds: string[] = [];
    const scanPks: number[] = [];
    const collectResources = async (kind: string, keys: string[]) => {
      if (keys.length === 0) return;
      const rows = await this.#db.selectFrom('resources').select(['id', 'dir']).where('parent_kind', '=', kind)
        .where('parent_key', 'in', keys).execute();
      for (const r of rows) { resourceIds.push(r.id); dirs.push(r.dir); }
    };
    const collectSessions = async (ids: string[]) => {
      if (ids.length === 0) return;
      const sessions = await this.#sessionQuery().where('experiments.id', 'in', ids).execute();
      const assessors = await this.#db.selectFrom('experiments').select('id').where('session_id', 'in', ids).execute();
      const scans = await this.#db.selectFrom('scans').select('pk').where('session_id', 'in', ids).execute();
      experimentIds.push(...ids, ...assessors.map((a) => a.id));
      scanPks.push(...scans.map((s) => s.pk));
      await collectResources('session', ids);
      await collectResources('assessor', assessors.map((a) => a.id));
      await collectResources('scan', scans.map((s) => String(s.pk)));
      for (const s of sessions) dirs.push(join(s.project, 'arc001', s.label));
    };
    let subjectIds: string[] = [];
    let project: string | undefined;
    switch (ref.kind) {
      case 'resource': {
        const r = await this.#db.selectFrom('resources').select(['id', 'dir']).where('id', '=', ref.resource).executeTakeFirst();
        if (!r) throw notFound('resource', String(ref.resource));
        resourceIds.push(r.id); dirs.push(r.dir);
        break;
      }
      case 'scan': {
        const s = await this.require(ref);
        scanPks.push(s.internalId);
        await collectResources('scan', [String(s.internalId)]);
        break;
      }
      case 'assessor': {
        await this.require(ref);
        experimentIds.push(ref.assessor);
        await collectResources('assessor', [ref.assessor]);
        break;
      }
      case 'session':
        await this.require(ref);
        await collectSessions([ref.session]);
        break;
      case 'subject': {
        const s = await this.require(ref);
        subjectIds = [s.id];
        const sess = await this.#db.selectFrom('experiments').select('id').where('subject_id', '=', s.id).where('session_id', 'is', null).execute();
        await collectSessions(sess.map((x) => x.id));
        await collectResources('subject', [s.id]);
        dirs.push(join(s.project, 'subjects', s.label));
        break;
      }
      case 'project': {
        await this.require(ref);
        project = ref.project;
        const subs = await this.#db.selectFrom('subjects').select('id').where('project', '=', ref.project).execute();
        subjectIds = subs.map((s) => s.id);
        const sess = await this.#db.selectFrom('experiments').select('id').where('project', '=', ref.project).where('session_id', 'is', null).execute();
        await collectSessions(sess.map((x) => x.id));
        await collectResources('subject', subjectIds);
        await collectResources('project', [ref.project]);
        dirs.push(ref.project);
        break;
      }
    }
    await this.#db.transaction().execute(async (trx) => {
      if (resourceIds.length) {
        await trx.deleteFrom('files').where('resource_id', 'in', resourceIds).execute();
        await trx.deleteFrom('resources').where('id', 'in', resourceIds).execute();
      }
      if (scanPks.length) await trx.deleteFrom('scans').where('pk', 'in', scanPks).execute();
      if (experimentIds.length) {
        await trx.deleteFrom('experiments').where('session_id', 'in', experimentIds).execute();
        await trx.deleteFrom('experiments').where('id', 'in', experimentIds).execute();
      }
      if (subjectIds.length) await trx.deleteFrom('subjects').where('id', 'in', subjectIds).execute();
      if (project) {
        await trx.deleteFrom('projects').where('id', '=', project).execute();
        await trx.deleteFrom('project_roles').where('project', '=', project).execute();
      }
    });
    if (ref.kind === 'scan') {
      const s = await this.require({ kind: 'session', session: ref.session });
      dirs.push(join(s.project, 'arc001', s.label, 'SCANS', ref.scan));
    }
    if (removeFiles) for (const d of dirs) await rm(join(this.root, d), { recursive: true, force: true });
  }

  // ---- files --------------------------------------------------------------------------------------

  async #resourceRow(resource: number): Promise<ResourceRow> {
    const r = await this.#db.selectFrom('resources').selectAll().where('id', '=', resource).executeTakeFirst();
    if (!r) throw notFound('resource', String(resource));
    return r;
  }

  async putFile(resource: number, path: string, body: Readable, opts: PutFileOptions, _actor: Actor): Promise<ArchiveFile> {
    const name = checkFilePath(path);
    const res = await this.#resourceRow(resource);
    const existsBefore = await this.#fileExists(resource, name);
    if (existsBefore && !opts.overwrite) {
      body.resume();
      throw conflict(`file "${name}"`, name);
    }
    const tmp = this.#tmpPath();
    const h = await streamToFile(body, tmp, opts.maxBytes ?? this.#maxUpload);
    const dest = join(this.root, res.dir, ...name.split('/'));
    try {
      await this.#place([{ tmp, dest, name, ...h }], res, opts);
    } finally {
      await rm(tmp, { force: true });
    }
    return (await this.get({ kind: 'file', resource, path: name }))!;
  }

  async #fileExists(resource: number, path: string): Promise<boolean> {
    return (await this.#db.selectFrom('files').select('path').where('resource_id', '=', resource).where('path', '=', path)
      .executeTakeFirst()) !== undefined;
  }

  /**
   * Renames temporary files into the resource and writes their rows in one transaction. A file whose
   * name is taken fails the whole batch (unless overwriting); a failed transaction removes new files.
   */
  async #place(items: Array<{ tmp: string; dest: string; name: string; size: number; md5: string }>, res: ResourceRow,
    opts: PutFileOptions): Promise<void> {
    if (!opts.overwrite) {
      for (const it of items) if (await this.#fileExists(res.id, it.name)) throw conflict(`file "${it.name}"`, it.name);
    }
    const resDir = join(this.root, res.dir);
    const placed: string[] = [];
    try {
      for (const it of items) {
        const d = dirname(it.dest);
        await mkdir(d, { recursive: true });
        // A directory where a file should go (or the reverse) is a conflict, not a crash.
        const st = await stat(it.dest).catch(() => undefined);
        if (st?.isDirectory()) throw conflict(`directory "${it.name}"`, it.name);
        if (!it.dest.startsWith(resDir + sep)) throw new XcsError('archive.bad-file-name', `"${it.name}" leaves the resource`, { status: 400 });
        await rename(it.tmp, it.dest);
        placed.push(it.dest);
      }
      const now = Date.now();
      await this.#db.transaction().execute(async (trx) => {
        for (const it of items) {
          const row = {
            resource_id: res.id, path: it.name, size: it.size, md5: it.md5, format: opts.format ?? '',
            content: opts.content ?? '', tags: (opts.tags ?? []).join(','), modified: now,
          };
          await trx.insertInto('files').values(row)
            .onConflict((oc) => oc.columns(['resource_id', 'path']).doUpdateSet({
              size: row.size, md5: row.md5, format: row.format, content: row.content, tags: row.tags, modified: now,
            })).execute();
        }
      });
    } catch (e) {
      if (!opts.overwrite) for (const p of placed) await rm(p, { force: true });
      throw e;
    }
  }

  async putZip(resource: number, zipPath: string, opts: PutFileOptions, _actor: Actor): Promise<ArchiveFile[]> {
    const res = await this.#resourceRow(resource);
    const zip = await openZip(zipPath, opts.maxBytes ?? this.#maxUpload, this.#unpackLimits);
    const tmpDir = this.#tmpPath();
    const names = zip.entries.map((e) => e.name);
    try {
      if (new Set(names).size !== names.length) {
        throw new XcsError('archive.zip.duplicate', 'the zip holds the same file name twice', { status: 400 });
      }
      if (!opts.overwrite) {
        for (const n of names) if (await this.#fileExists(resource, n)) throw conflict(`file "${n}"`, n);
      }
      await mkdir(tmpDir);
      const items: Array<{ tmp: string; dest: string; name: string; size: number; md5: string }> = [];
      let i = 0;
      for (const e of zip.entries) {
        const tmp = join(tmpDir, String(i++));
        const h = await streamToFile(await zip.open(e), tmp, e.uncompressedSize);
        items.push({ tmp, dest: join(this.root, res.dir, ...e.name.split('/')), name: e.name, ...h });
      }
      await this.#place(items, res, opts);
    } finally {
      zip.close();
      await rm(tmpDir, { recursive: true, force: true });
    }
    const all = await this.listFiles(resource);
    const set = new Set(names);
    return all.filter((f) => set.has(f.name));
  }

  // ---- directories, staging and commits -------------------------------------------------------------

  async directoryOf(ref: ObjectRef): Promise<string> {
    switch (ref.kind) {
      case 'project': await this.require(ref); return join(this.root, ref.project);
      case 'subject': { const s = await this.require(ref); return join(this.root, s.project, 'subjects', s.label); }
      case 'session': { const s = await this.require(ref); return join(this.root, s.project, 'arc001', s.label); }
      case 'scan': {
        await this.require(ref);
        const s = await this.require({ kind: 'session', session: ref.session });
        return join(this.root, s.project, 'arc001', s.label, 'SCANS', ref.scan);
      }
      case 'assessor': {
        const a = await this.require(ref);
        const s = await this.require({ kind: 'session', session: a.sessionId });
        return join(this.root, s.project, 'arc001', s.label, 'ASSESSORS', a.label);
      }
      case 'resource': return join(this.root, (await this.#resourceRow(ref.resource)).dir);
      case 'file': return (await this.require(ref)).absolutePath;
    }
  }

  async commitResource(parent: ResourceParentRef, spec: ResourceSpec, stagedDir: string, opts: CommitOptions,
    actor: Actor): Promise<CommitResult> {
    const done = await this.#db.selectFrom('resource_commits').selectAll().where('key', '=', opts.idempotencyKey).executeTakeFirst();
    if (done?.state === 'done') return { uri: done.uri, resource: done.resource_id, created: false };
    let res: ResourceRow;
    let plan: CommitPlan;
    // Moving the staged tree with one rename is only exact when it holds nothing but the plan's files.
    let wholeTree = false;
    if (done) {
      res = await this.#resourceRow(done.resource_id);
      plan = JSON.parse(done.plan) as CommitPlan;
    } else {
      const rel = relative(this.#staging, stagedDir);
      if (rel.startsWith('..') || rel === '' || rel.startsWith(sep)) {
        throw new XcsError('archive.commit.not-staged', `staged directory must be inside ${this.#staging}`, { status: 400, path: stagedDir });
      }
      const walked = await walkFiles(stagedDir);
      const files = walked.files;
      for (const f of files) checkFilePath(f);
      const parentKey = await this.#parentKey(parent);
      if (parentKey === undefined) throw notFound('parent of the resource', JSON.stringify(parent));
      const existing = await this.#db.selectFrom('resources').selectAll().where('parent_kind', '=', parent.kind)
        .where('parent_key', '=', parentKey).where('label', '=', spec.label).executeTakeFirst();
      res = existing ?? await this.#resourceRow((await this.createResource(parent, spec, actor)).id);
      // Same-named files are replaced (as XNAT copies over them) only with `overwrite`; otherwise a 409.
      const staged = new Set(files);
      const replaced = existing ? (await this.#db.selectFrom('files').select(['path', 'size', 'md5']).where('resource_id', '=', res.id)
        .execute()).filter((r) => staged.has(r.path)) : [];
      if (!opts.overwrite && replaced.length > 0) throw conflict(`file "${replaced[0].path}" in resource ${spec.label}`, replaced[0].path);
      const given = new Map((opts.files ?? []).map((f) => [f.path, f]));
      const hashed = new Map<string, HashedFile>();
      await forEachLimited(files.filter((f) => !given.has(f)), 4, async (f) => {
        hashed.set(f, await hashFile(join(stagedDir, ...f.split('/'))));
      });
      plan = { replaced, files: files.map((f) => {
        const h = given.get(f) ?? hashed.get(f)!;
        return { path: f, size: h.size, md5: h.md5 };
      }) };
      wholeTree = !walked.emptyDirs;
      const rec = (await this.#resources([res]))[0];
      // Record the intent before moving anything: a retry after a crash finishes from this plan.
      await this.#db.insertInto('resource_commits').values({
        key: opts.idempotencyKey, state: 'moving', resource_id: res.id, uri: rec.archiveUri, plan: JSON.stringify(plan),
      }).execute();
    }
    const resDir = join(this.root, res.dir);
    if (!(wholeTree && await this.#moveTree(stagedDir, resDir))) await this.#moveFiles(stagedDir, resDir, plan);
    const now = Date.now();
    const uri = (await this.#resources([res]))[0].archiveUri;
    const format = spec.format ?? '';
    const content = spec.content ?? '';
    const tags = (spec.tags ?? []).join(',');
    await this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < plan.files.length; i += INSERT_CHUNK) {
        const rows = plan.files.slice(i, i + INSERT_CHUNK).map((f) => ({
          resource_id: res.id, path: f.path, size: f.size, md5: f.md5, format, content, tags, modified: now,
        }));
        await trx.insertInto('files').values(rows).onConflict((oc) => oc.columns(['resource_id', 'path'])
          .doUpdateSet((eb) => ({ size: eb.ref('excluded.size'), md5: eb.ref('excluded.md5'), modified: now }))).execute();
      }
      await trx.updateTable('resource_commits').set({ state: 'done', uri }).where('key', '=', opts.idempotencyKey).execute();
    });
    await rm(stagedDir, { recursive: true, force: true });
    return { uri, resource: res.id, created: true, ...(plan.replaced?.length ? { replaced: plan.replaced } : {}) };
  }

  /** Moves the whole staged tree into a missing or empty resource directory with one rename. */
  async #moveTree(stagedDir: string, resDir: string): Promise<boolean> {
    if (!(await isEmptyDir(resDir))) return false;
    await mkdir(dirname(resDir), { recursive: true });
    try {
      // Replaces an empty directory atomically (POSIX rename).
      await rename(stagedDir, resDir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Someone put a file there meanwhile, or the staged tree is gone (moved by an earlier attempt).
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Moves the plan's files one by one; a file already moved by an interrupted attempt is accepted. */
  async #moveFiles(stagedDir: string, resDir: string, plan: CommitPlan): Promise<void> {
    const dirs = new Set<string>();
    for (const f of plan.files) {
      const i = f.path.lastIndexOf('/');
      if (i > 0) dirs.add(f.path.slice(0, i));
    }
    await mkdir(resDir, { recursive: true });
    for (const d of [...dirs].sort()) await mkdir(join(resDir, ...d.split('/')), { recursive: true });
    await forEachLimited(plan.files, 16, async (f) => {
      const src = join(stagedDir, ...f.path.split('/'));
      const dst = join(resDir, ...f.path.split('/'));
      try {
        await rename(src, dst);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        if (!(await stat(dst).then(() => true, () => false))) {
          throw new XcsError('archive.commit.lost-file', `staged file "${f.path}" is neither staged nor committed`,
            { status: 500, path: src });
        }
      }
    });
  }

  /** A document whose own ID names an assessor of this session replaces it (XNAT updates the item it names). */
  async createAssessorFromXml(session: string, xml: string, actor: Actor): Promise<AssessorRecord> {
    const doc = readAssessorDocument(xml);
    const taken = doc.id ? await this.#db.selectFrom('experiments').selectAll().where('id', '=', doc.id).executeTakeFirst() : undefined;
    if (!taken) return this.createAssessor(session, { ...doc, document: { format: 'xml', text: xml } }, actor);
    if (taken.session_id !== session) throw takenId(doc.id ?? '', taken.session_id ? 'an assessor of another session' : 'a session');
    await this.#db.transaction().execute(async (trx) => {
      if (doc.label !== taken.label) await this.#checkExperimentLabel(trx, taken.project, doc.label);
      await trx.updateTable('experiments').set({ label: checkLabel('assessor label', doc.label), xsi_type: checkAssessorType(doc.xsiType),
        date: doc.fields.date ?? taken.date, document: xml, document_format: 'xml' }).where('id', '=', taken.id).execute();
    });
    return this.require({ kind: 'assessor', assessor: taken.id });
  }

  async createScanFromXml(session: string, xml: string, actor: Actor): Promise<ScanRecord> {
    return this.createScan(session, readScanDocument(xml), actor);
  }
}
