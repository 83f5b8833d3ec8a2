/**
 * How archive records appear in XNAT listings (the default columns per collection, with the names
 * pyxnat reads) and as XML documents; the single-object `items` JSON is in `item-documents.ts`.
 */
import type {
  ArchiveFile, AssessorRecord, ProjectRecord, ResourceRecord, ScanRecord, SessionRecord, SubjectRecord,
} from '../../archive/types.ts';
import type { Listing, Row } from '../format.ts';
import { isA } from '../../archive/xsi.ts';

export const DEFAULT_COLUMNS = {
  projects: ['ID', 'secondary_ID', 'name', 'description', 'pi_firstname', 'pi_lastname', 'URI'],
  subjects: ['ID', 'project', 'label', 'insert_date', 'insert_user', 'URI'],
  experiments: ['ID', 'project', 'subject_ID', 'subject_label', 'label', 'date', 'insert_date', 'xsiType', 'URI'],
  scans: ['xnat_imagescandata_id', 'ID', 'type', 'series_description', 'quality', 'frames', 'note', 'xsiType', 'URI'],
  assessors: ['ID', 'label', 'xsiType', 'project', 'session_ID', 'date', 'insert_date', 'URI'],
  resources: ['xnat_abstractresource_id', 'label', 'element_name', 'category', 'cat_id', 'cat_desc', 'format',
    'content', 'tags', 'file_count', 'file_size', 'URI'],
  files: ['Name', 'Size', 'URI', 'collection', 'file_tags', 'file_format', 'file_content', 'cat_ID', 'digest'],
} as const;

type Collection = keyof typeof DEFAULT_COLUMNS;

/** Values a listing can show, beyond the defaults: extra fields by name. */
function withFields(row: Row, fields: Record<string, string>): Row {
  for (const [k, v] of Object.entries(fields)) if (!(k in row)) row[k] = v;
  return row;
}

export function projectRow(p: ProjectRecord): Row {
  return withFields({
    ID: p.id, secondary_ID: p.secondaryId, name: p.name, description: p.description, pi_firstname: p.piFirstname,
    pi_lastname: p.piLastname, keywords: p.keywords, accessibility: p.accessibility, insert_date: p.insertDate,
    insert_user: p.insertUser, URI: p.uri,
  }, p.fields);
}

export function subjectRow(s: SubjectRecord): Row {
  return withFields({
    ID: s.id, project: s.project, label: s.label, group: s.group, src: s.src, insert_date: s.insertDate,
    insert_user: s.insertUser, URI: s.uri,
  }, s.fields);
}

export function sessionRow(s: SessionRecord): Row {
  return withFields({
    ID: s.id, project: s.project, subject_ID: s.subjectId, subject_label: s.subjectLabel, label: s.label, date: s.date,
    insert_date: s.insertDate, insert_user: s.insertUser, xsiType: s.xsiType, modality: s.modality, UID: s.uid,
    visit_id: s.visitId, URI: s.uri,
  }, s.fields);
}

export function scanRow(s: ScanRecord): Row {
  return withFields({
    xnat_imagescandata_id: String(s.internalId), ID: s.id, type: s.type, series_description: s.seriesDescription,
    quality: s.quality, frames: s.frames, note: s.note, modality: s.modality, UID: s.uid, xsiType: s.xsiType,
    image_session_ID: s.sessionId, project: s.project, URI: s.uri,
  }, s.fields);
}

export function assessorRow(a: AssessorRecord): Row {
  return withFields({
    ID: a.id, label: a.label, xsiType: a.xsiType, project: a.project, session_ID: a.sessionId, subject_ID: a.subjectId,
    date: a.date, insert_date: a.insertDate, insert_user: a.insertUser, URI: a.uri,
  }, a.fields);
}

export function resourceRow(r: ResourceRecord): Row {
  return {
    xnat_abstractresource_id: String(r.id), label: r.label, element_name: 'xnat:resourceCatalog', category: 'resources',
    cat_id: String(r.id), cat_desc: r.description, description: r.description, format: r.format, content: r.content,
    tags: r.tags.join(','), file_count: String(r.fileCount), file_size: String(r.fileSize), URI: r.uri,
  };
}

export function fileRow(f: ArchiveFile, resourceLabel: string): Row {
  return {
    Name: f.name, Size: String(f.size), URI: f.uri, collection: resourceLabel, file_tags: f.tags.join(','),
    file_format: f.format, file_content: f.content, cat_ID: String(f.resourceId), digest: f.checksum,
  };
}

/** The header under which a requested column appears: `xnat:mrSessionData/label` → `label`. */
function shortName(column: string): string {
  const withoutType = /^[\w.-]+:[\w.-]+\//.test(column) ? column.slice(column.indexOf('/') + 1) : column;
  return withoutType;
}

/**
 * The default columns plus any requested ones (`columns=ID,xnat:mrSessionData/date,parameters/tr`),
 * requested xpaths shown under their last path segment, as pyxnat matches headers by name.
 */
export function buildListing(collection: Collection, title: string, rows: Row[], requested: string | undefined,
  extra?: Record<string, unknown>): Listing {
  const columns: string[] = [...DEFAULT_COLUMNS[collection]];
  for (const raw of (requested ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '')) {
    const path = shortName(raw);
    const header = path.split('/').pop() ?? path;
    if (!columns.includes(header)) columns.push(header);
    for (const r of rows) if (!(header in r)) r[header] = r[path] ?? r[header.toLowerCase()] ?? '';
  }
  return { title, columns, rows, ...(extra ? { extra } : {}) };
}

/** Field filters XNAT accepts on listings (`ID=`, `label=`, `project=` with `*` wildcards, `xsiType=`). */
export function applyFilters(rows: Row[], query: Record<string, string>): Row[] {
  const filters: Array<[string, RegExp | string]> = [];
  for (const key of ['ID', 'label', 'project', 'subject_ID', 'type', 'series_description']) {
    const v = query[key];
    if (v === undefined || v === '') continue;
    const alts = v.split(',').map((x) => `^${x.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    filters.push([key, new RegExp(alts.join('|'), 'i')]);
  }
  const xsi = query.xsiType;
  return rows.filter((r) => {
    for (const [k, re] of filters) if (!(re as RegExp).test(r[k] ?? '')) return false;
    if (xsi && r.xsiType !== undefined && !isA(r.xsiType, xsi)) return false;
    return true;
  });
}

const XML_ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const xmlEsc = (s: string) => s.replace(/[&<>"]/g, (c) => XML_ESC[c] ?? c);

/** A minimal XNAT XML document of an object (assessors return the document they were created from). */
export function objectXml(rec: ProjectRecord | SubjectRecord | SessionRecord | ScanRecord | AssessorRecord): string {
  if (rec.kind === 'assessor' && rec.document?.format === 'xml') return rec.document.text;
  const type = rec.kind === 'project' ? 'xnat:projectData' : rec.kind === 'subject' ? 'xnat:subjectData' : rec.xsiType;
  const attrs: Record<string, string> = { ID: rec.id };
  if ('label' in rec) attrs.label = rec.label;
  if ('project' in rec) attrs.project = rec.project;
  const leaves: Record<string, string> = { ...rec.fields };
  if (rec.kind === 'session') Object.assign(leaves, { date: rec.date, modality: rec.modality, subject_ID: rec.subjectId });
  if (rec.kind === 'scan') Object.assign(leaves, { type: rec.type, series_description: rec.seriesDescription, quality: rec.quality, frames: rec.frames, note: rec.note });
  const body = Object.entries(leaves).filter(([, v]) => v !== '').map(([k, v]) => `  <xnat:${k.replace(/[^\w.-]/g, '_')}>${xmlEsc(v)}</xnat:${k.replace(/[^\w.-]/g, '_')}>`).join('\n');
  const attrText = Object.entries(attrs).map(([k, v]) => ` ${k}="${xmlEsc(v)}"`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${type}${attrText} xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n${body}\n</${type}>\n`;
}
