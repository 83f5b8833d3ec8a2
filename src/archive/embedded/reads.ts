/** Lookups by reference, ID or label, URI resolution, and the listings. */
import { sep } from 'node:path';
import { sql } from 'kysely';
import { XcsError } from '../../core/errors.ts';
import { checkFilePath } from '../names.ts';
import { dialectOf } from '../portable-sql.ts';
import { parseArchivePath } from '../uri.ts';
import { isA } from '../xsi.ts';
import type {
  ArchiveCollection, ArchiveFile, AssessorRecord, ObjectKind, ObjectRef, ProjectRecord, RecordOf, ResourceParentRef,
  ResourceRecord, ScanRecord, SessionFilter, SessionRecord, SubjectRecord,
} from '../types.ts';
import { splitTags } from './columns.ts';
import { notFound, type ArchiveContext, type Db } from './context.ts';
import {
  assessorRecord, fileRecord, fileUri, parentUris, projectRecord, resourceRecords, scanRecord, sessionQuery, sessionRecord,
  subjectRecord, type FileTuple,
} from './records.ts';

export async function getRecord(ctx: ArchiveContext, ref: ObjectRef): Promise<RecordOf[ObjectKind] | undefined> {
  switch (ref.kind) {
    case 'project': {
      const r = await ctx.db.selectFrom('projects').selectAll().where('id', '=', ref.project).executeTakeFirst();
      return r && projectRecord(r);
    }
    case 'subject': {
      const r = await ctx.db.selectFrom('subjects').selectAll().where('id', '=', ref.subject).executeTakeFirst();
      return r && subjectRecord(r);
    }
    case 'session': {
      const r = await sessionQuery(ctx.db).where('experiments.id', '=', ref.session)
        .where('experiments.session_id', 'is', null).executeTakeFirst();
      return r && sessionRecord(r);
    }
    case 'assessor': {
      const r = await ctx.db.selectFrom('experiments').selectAll().where('id', '=', ref.assessor)
        .where('session_id', 'is not', null).executeTakeFirst();
      return r && assessorRecord(r);
    }
    case 'scan': {
      const r = await ctx.db.selectFrom('scans').innerJoin('experiments', 'experiments.id', 'scans.session_id')
        .selectAll('scans').select('experiments.project')
        .where('scans.session_id', '=', ref.session).where('scans.scan_id', '=', ref.scan).executeTakeFirst();
      return r && scanRecord(r, r.project);
    }
    case 'resource': {
      const r = await ctx.db.selectFrom('resources').selectAll().where('id', '=', ref.resource).executeTakeFirst();
      return r && (await resourceRecords(ctx, [r]))[0];
    }
    case 'file': {
      const res = await ctx.db.selectFrom('resources').selectAll().where('id', '=', ref.resource).executeTakeFirst();
      if (!res) return undefined;
      const f = await ctx.db.selectFrom('files').selectAll().where('resource_id', '=', ref.resource)
        .where('path', '=', ref.path).executeTakeFirst();
      if (!f) return undefined;
      const [rec] = await resourceRecords(ctx, [res]);
      return fileRecord(ctx, f, res, rec.uri);
    }
  }
}

export async function findChild(ctx: ArchiveContext, parent: ObjectRef | null, collection: ArchiveCollection, idOrLabel: string): Promise<ObjectRef | undefined> {
  const db = ctx.db;
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
    const key = await parentKey(ctx, parent);
    if (key === undefined) return undefined;
    let q = db.selectFrom('resources').select('id').where('parent_kind', '=', parent.kind).where('parent_key', '=', key);
    // A number beyond any ID is a label only (PostgreSQL would refuse comparing it with a BIGINT column).
    q = /^\d{1,15}$/.test(idOrLabel)
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

export async function resolveUri(ctx: ArchiveContext, uri: string): Promise<ObjectRef> {
  const parsed = parseArchivePath(uri);
  if (parsed.collection || parsed.steps.length === 0) {
    throw new XcsError('archive.uri.not-object', `"${uri}" names a collection, not an object`, { path: uri });
  }
  let ref: ObjectRef | null = null;
  for (const step of parsed.steps) {
    const next: ObjectRef | undefined = await ctx.archive.findChild(ref, step.collection, step.id);
    if (!next) throw notFound(`${step.collection.replace(/s$/, '')} "${step.id}"`, uri);
    ref = next;
  }
  return ref!;
}

export async function projectOf(ctx: ArchiveContext, ref: ObjectRef): Promise<string> {
  switch (ref.kind) {
    case 'project': return ref.project;
    case 'subject': return (await ctx.archive.require(ref)).project;
    case 'session': return (await ctx.archive.require(ref)).project;
    case 'assessor': return (await ctx.archive.require(ref)).project;
    case 'scan': return (await ctx.archive.require({ kind: 'session', session: ref.session })).project;
    case 'resource':
    case 'file': {
      const r = await ctx.db.selectFrom('resources').select('project').where('id', '=', ref.resource).executeTakeFirst();
      if (!r) throw notFound('resource', String(ref.resource));
      return r.project;
    }
  }
}

export async function parentKey(ctx: ArchiveContext, parent: ResourceParentRef, db: Db = ctx.db): Promise<string | undefined> {
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

export async function listProjects(ctx: ArchiveContext): Promise<ProjectRecord[]> {
  return (await ctx.db.selectFrom('projects').selectAll().orderBy('id').execute()).map((r) => projectRecord(r));
}

export async function listSubjects(ctx: ArchiveContext, project: string): Promise<SubjectRecord[]> {
  return (await ctx.db.selectFrom('subjects').selectAll().where('project', '=', project).orderBy('id').execute())
    .map((r) => subjectRecord(r));
}

export async function listSessions(ctx: ArchiveContext, filter: SessionFilter): Promise<SessionRecord[]> {
  let q = sessionQuery(ctx.db).where('experiments.session_id', 'is', null);
  if (filter.project !== undefined) q = q.where('experiments.project', '=', filter.project);
  if (filter.subject !== undefined) q = q.where('experiments.subject_id', '=', filter.subject);
  const rows = await q.orderBy('experiments.id').execute();
  return rows.map((r) => sessionRecord(r)).filter((s) => !filter.xsiType || isA(s.xsiType, filter.xsiType));
}

export async function listScans(ctx: ArchiveContext, session: string): Promise<ScanRecord[]> {
  const s = await ctx.db.selectFrom('experiments').select('project').where('id', '=', session).executeTakeFirst();
  if (!s) return [];
  const rows = await ctx.db.selectFrom('scans').selectAll().where('session_id', '=', session).orderBy('pk').execute();
  return rows.map((r) => scanRecord(r, s.project));
}

export async function listAssessors(ctx: ArchiveContext, session: string): Promise<AssessorRecord[]> {
  return (await ctx.db.selectFrom('experiments').selectAll().where('session_id', '=', session).orderBy('id').execute())
    .map((r) => assessorRecord(r));
}

export async function listResources(ctx: ArchiveContext, parent: ResourceParentRef): Promise<ResourceRecord[]> {
  const key = await parentKey(ctx, parent);
  if (key === undefined) return [];
  const rows = await ctx.db.selectFrom('resources').selectAll().where('parent_kind', '=', parent.kind)
    .where('parent_key', '=', key).orderBy('id').execute();
  return resourceRecords(ctx, rows);
}

export async function listFiles(ctx: ArchiveContext, resource: number): Promise<ArchiveFile[]> {
  const res = await ctx.db.selectFrom('resources').selectAll().where('id', '=', resource).executeTakeFirst();
  if (!res) throw notFound('resource', String(resource));
  const p = await parentUris(ctx, res.parent_kind, res.parent_key);
  const uri = `${p.uri}/resources/${res.id}`;
  // One row of JSON rather than one row object per file: the database builds it in C, and JSON.parse makes
  // arrays faster than the driver makes row objects (a listing of 10,000 files takes half the time). Both order
  // paths byte by byte (PostgreSQL's text columns are `COLLATE "C"`, see portable-sql.ts).
  const row = dialectOf(ctx.db) === 'postgres'
    ? await sql<{ j: string | null }>`SELECT json_agg(json_build_array(path, size, md5, format, content, tags, modified)
      ORDER BY path)::text AS j FROM files WHERE resource_id = ${resource}`.execute(ctx.db)
    : await sql<{ j: string }>`SELECT json_group_array(json_array(path, size, md5, format, content, tags, modified)
      ORDER BY path) AS j FROM files WHERE resource_id = ${resource}`.execute(ctx.db);
  const rows = JSON.parse(row.rows[0]?.j ?? '[]') as FileTuple[];
  const dir = `${ctx.root}${sep}${res.dir}${sep}`;
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
