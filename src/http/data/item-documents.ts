/**
 * XNAT's single-object JSON (`GET …/{object}?format=json`): `{"items": [{meta, data_fields, children}]}`,
 * where `children` holds one `{field, items}` per child collection, named by the schema's element path
 * (`experiments/experiment`, `scans/scan`, `assessors/assessor`, `resources/resource`, `file` for a scan's
 * resources, `out/file` for an assessor's). Scripts walk the hierarchy with JSONPath over these, e.g.
 * NrgXnat's batch-launch: `$.items[0].children[?(@.field == "experiments/experiment")].items[*].data_fields.ID`.
 * A subject's document holds its experiments whole (with their scans and assessors), as XNAT's does;
 * a project's holds its resources only (XNAT does not nest subjects in it).
 */
import type {
  Archive, AssessorRecord, ProjectRecord, ResourceRecord, ScanRecord, SessionRecord, SubjectRecord,
} from '../../archive/types.ts';
import { toResultSet, type Listing } from '../format.ts';

interface Item {
  meta: Record<string, unknown>;
  data_fields: Record<string, unknown>;
  children: Array<{ field: string; items: Item[] }>;
}

export type ItemRecord = ProjectRecord | SubjectRecord | SessionRecord | ScanRecord | AssessorRecord | ResourceRecord;

function item(xsiType: string, data: Record<string, unknown>, children: Item['children'] = []): Item {
  return { meta: { isHistory: false, 'xsi:type': xsiType }, data_fields: data, children };
}

function resourceItems(rs: ResourceRecord[]): Item[] {
  return rs.map((r) => item('xnat:resourceCatalog', {
    xnat_abstractresource_id: r.id, label: r.label, format: r.format, content: r.content, tags: r.tags.join(','),
    file_count: r.fileCount, file_size: r.fileSize, description: r.description,
  }));
}

function scanData(s: ScanRecord): Record<string, unknown> {
  return {
    ...s.fields, ID: s.id, type: s.type, series_description: s.seriesDescription, quality: s.quality, frames: s.frames,
    note: s.note, modality: s.modality, UID: s.uid, image_session_ID: s.sessionId, xnat_imagescandata_id: s.internalId,
    project: s.project,
  };
}

async function scanItem(archive: Archive, s: ScanRecord): Promise<Item> {
  return item(s.xsiType, scanData(s), [{ field: 'file', items: resourceItems(
    await archive.listResources({ kind: 'scan', session: s.sessionId, scan: s.id })) }]);
}

async function assessorItem(archive: Archive, a: AssessorRecord): Promise<Item> {
  return item(a.xsiType, { ...a.fields, ID: a.id, id: a.id, label: a.label, project: a.project, imageSession_ID: a.sessionId,
    date: a.date, insert_date: a.insertDate },
  [{ field: 'out/file', items: resourceItems(await archive.listResources({ kind: 'assessor', assessor: a.id })) }]);
}

async function sessionItem(archive: Archive, rec: SessionRecord): Promise<Item> {
  const scans: Item[] = [];
  for (const s of await archive.listScans(rec.id)) scans.push(await scanItem(archive, s));
  const assessors: Item[] = [];
  for (const a of await archive.listAssessors(rec.id)) assessors.push(await assessorItem(archive, a));
  return item(rec.xsiType, { ...rec.fields, ID: rec.id, id: rec.id, label: rec.label, project: rec.project,
    subject_ID: rec.subjectId, date: rec.date, modality: rec.modality, UID: rec.uid, visit_id: rec.visitId,
    insert_date: rec.insertDate }, [
    { field: 'scans/scan', items: scans },
    { field: 'resources/resource', items: resourceItems(await archive.listResources({ kind: 'session', session: rec.id })) },
    { field: 'assessors/assessor', items: assessors },
  ]);
}

async function subjectItem(archive: Archive, rec: SubjectRecord): Promise<Item> {
  const experiments: Item[] = [];
  for (const e of await archive.listSessions({ subject: rec.id })) experiments.push(await sessionItem(archive, e));
  return item('xnat:subjectData', { ...rec.fields, ID: rec.id, label: rec.label, project: rec.project, group: rec.group,
    src: rec.src, insert_date: rec.insertDate, insert_user: rec.insertUser }, [
    { field: 'experiments/experiment', items: experiments },
    { field: 'resources/resource', items: resourceItems(await archive.listResources({ kind: 'subject', subject: rec.id })) },
  ]);
}

/** The `{"items": [...]}` document of one object. */
export async function itemsJson(archive: Archive, rec: ItemRecord): Promise<{ items: Item[] }> {
  switch (rec.kind) {
    case 'project':
      return { items: [item('xnat:projectData', { ...rec.fields, ID: rec.id, secondary_ID: rec.secondaryId, name: rec.name,
        description: rec.description, keywords: rec.keywords, 'PI/firstname': rec.piFirstname, 'PI/lastname': rec.piLastname },
      [{ field: 'resources/resource', items: resourceItems(await archive.listResources({ kind: 'project', project: rec.id })) }])] };
    case 'subject': return { items: [await subjectItem(archive, rec)] };
    case 'session': return { items: [await sessionItem(archive, rec)] };
    case 'scan': return { items: [await scanItem(archive, rec)] };
    case 'assessor': return { items: [await assessorItem(archive, rec)] };
    case 'resource': return { items: resourceItems([rec]) };
  }
}

/**
 * `GET /data/subjects/{S}/experiments?format=json`: the listing, and beside it the subject's `items`
 * document. NrgXnat's batch-launch reads this URL with the `items` JSONPath above (XNAT answers the
 * subject's document there); listing readers find their `ResultSet` as usual.
 */
export async function subjectExperimentsJson(archive: Archive, subject: SubjectRecord, listing: Listing): Promise<string> {
  return JSON.stringify({ ...(toResultSet(listing) as object), ...(await itemsJson(archive, subject)) });
}
