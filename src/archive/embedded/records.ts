/** Rows → the records of `types.ts`, with their `/data` and `/archive` URIs. */
import { sep } from 'node:path';
import type { ExperimentsTable, FilesTable, ProjectsTable, ResourceRow, ScanRow, SubjectsTable } from '../db.ts';
import type {
  ArchiveFile, AssessorRecord, ProjectRecord, ResourceParentRef, ResourceRecord, ScanRecord, SessionRecord, SubjectRecord,
} from '../types.ts';
import { parseFields, splitTags } from './columns.ts';
import type { ArchiveContext, Db } from './context.ts';

export const enc = encodeURIComponent;
/** Characters `encodeURIComponent` leaves alone, plus the `/` between segments. */
const URI_SAFE = /^[A-Za-z0-9\-_.!~*'()/]*$/;
export function fileUri(resourceUri: string, path: string): string {
  // Most names need no escaping; testing first spares splitting every path of a big listing.
  return `${resourceUri}/files/${URI_SAFE.test(path) ? path : path.split('/').map(enc).join('/')}`;
}

/** A `files` row as listFiles reads it: path, size, md5, format, content, tags, modified. */
export type FileTuple = [string, number, string, string, string, string, number];

export function projectRecord(r: ProjectsTable): ProjectRecord {
  return {
    kind: 'project', id: r.id, name: r.name, secondaryId: r.secondary_id, description: r.description,
    piFirstname: r.pi_firstname, piLastname: r.pi_lastname, keywords: r.keywords, accessibility: r.accessibility,
    fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
    uri: `/data/projects/${enc(r.id)}`, archiveUri: `/archive/projects/${enc(r.id)}`,
  };
}

export function subjectRecord(r: SubjectsTable): SubjectRecord {
  return {
    kind: 'subject', id: r.id, label: r.label, project: r.project, group: r.grp, src: r.src,
    fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
    uri: `/data/subjects/${r.id}`, archiveUri: `/archive/projects/${enc(r.project)}/subjects/${r.id}`,
  };
}

export function sessionRecord(r: ExperimentsTable & { subject_label: string }): SessionRecord {
  return {
    kind: 'session', id: r.id, label: r.label, project: r.project, subjectId: r.subject_id,
    subjectLabel: r.subject_label, xsiType: r.xsi_type, date: r.date, modality: r.modality, uid: r.uid,
    visitId: r.visit_id, fields: parseFields(r.fields), insertDate: r.insert_date, insertUser: r.insert_user,
    uri: `/data/experiments/${r.id}`, archiveUri: `/archive/experiments/${r.id}`,
  };
}

export function assessorRecord(r: ExperimentsTable): AssessorRecord {
  return {
    kind: 'assessor', id: r.id, label: r.label, project: r.project, sessionId: r.session_id ?? '',
    subjectId: r.subject_id, xsiType: r.xsi_type, date: r.date, fields: parseFields(r.fields),
    ...(r.document !== null ? { document: { format: r.document_format === 'json' ? 'json' : 'xml', text: r.document } } : {}),
    insertDate: r.insert_date, insertUser: r.insert_user,
    uri: `/data/experiments/${r.session_id}/assessors/${r.id}`, archiveUri: `/archive/experiments/${r.id}`,
  };
}

export function scanRecord(r: ScanRow, project: string): ScanRecord {
  const base = `/experiments/${r.session_id}/scans/${enc(r.scan_id)}`;
  return {
    kind: 'scan', id: r.scan_id, internalId: r.pk, sessionId: r.session_id, project, xsiType: r.xsi_type,
    type: r.type, seriesDescription: r.series_description, quality: r.quality, frames: r.frames, note: r.note,
    modality: r.modality, uid: r.uid, fields: parseFields(r.fields), insertDate: r.insert_date,
    insertUser: r.insert_user, uri: `/data${base}`, archiveUri: `/archive${base}`,
  };
}

export async function parentUris(ctx: ArchiveContext, kind: string, key: string): Promise<{ parent: ResourceParentRef; uri: string; archiveUri: string }> {
  switch (kind) {
    case 'project':
      return { parent: { kind, project: key }, uri: `/data/projects/${enc(key)}`, archiveUri: `/archive/projects/${enc(key)}` };
    case 'subject': {
      const s = await ctx.db.selectFrom('subjects').select('project').where('id', '=', key).executeTakeFirst();
      return { parent: { kind, subject: key }, uri: `/data/subjects/${key}`,
        archiveUri: `/archive/projects/${enc(s?.project ?? '')}/subjects/${key}` };
    }
    case 'session':
      return { parent: { kind, session: key }, uri: `/data/experiments/${key}`, archiveUri: `/archive/experiments/${key}` };
    case 'assessor': {
      const a = await ctx.db.selectFrom('experiments').select('session_id').where('id', '=', key).executeTakeFirst();
      return { parent: { kind, assessor: key }, uri: `/data/experiments/${a?.session_id}/assessors/${key}`,
        archiveUri: `/archive/experiments/${key}` };
    }
    default: {
      const s = await ctx.db.selectFrom('scans').select(['session_id', 'scan_id']).where('pk', '=', Number(key)).executeTakeFirst();
      const base = `/experiments/${s?.session_id}/scans/${enc(s?.scan_id ?? '')}`;
      return { parent: { kind: 'scan', session: s?.session_id ?? '', scan: s?.scan_id ?? '' }, uri: `/data${base}`,
        archiveUri: `/archive${base}` };
    }
  }
}

export async function resourceRecords(ctx: ArchiveContext, rows: ResourceRow[]): Promise<ResourceRecord[]> {
  if (rows.length === 0) return [];
  const stats = await ctx.db.selectFrom('files')
    .select((eb) => ['resource_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('size').as('bytes')])
    .where('resource_id', 'in', rows.map((r) => r.id)).groupBy('resource_id').execute();
  const byId = new Map(stats.map((s) => [s.resource_id, s]));
  const out: ResourceRecord[] = [];
  for (const r of rows) {
    const p = await parentUris(ctx, r.parent_kind, r.parent_key);
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

export function fileRecord(ctx: ArchiveContext, r: FilesTable, resource: ResourceRow, resourceUri: string): ArchiveFile {
  return {
    kind: 'file', resourceId: r.resource_id, name: r.path, size: r.size, checksum: r.md5, format: r.format,
    content: r.content, tags: splitTags(r.tags), uri: fileUri(resourceUri, r.path),
    // Paths were normalised on the way in, so plain concatenation is safe (and fast for big listings).
    absolutePath: `${ctx.root}${sep}${resource.dir}${sep}${r.path}`, modified: new Date(r.modified),
  };
}

// ---- lookups ------------------------------------------------------------------------------------

/** Sessions with their subject's label (what a SessionRecord shows). */
export function sessionQuery(db: Db) {
  return db.selectFrom('experiments').innerJoin('subjects', 'subjects.id', 'experiments.subject_id')
    .selectAll('experiments').select('subjects.label as subject_label');
}
