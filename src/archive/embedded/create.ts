/** Creating projects, subjects, sessions, scans, assessors and resources, with their accession IDs. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExperimentsTable, ProjectsTable, ScansTable, SubjectsTable } from '../db.ts';
import { readAssessorDocument, readScanDocument, takenId } from '../item-documents.ts';
import { checkLabel } from '../names.ts';
import { checkAssessorType, checkScanType, checkSessionType, modalityOf } from '../xsi.ts';
import type {
  Actor, AssessorRecord, AssessorSpec, CreateOptions, ObjectRef, ProjectRecord, ProjectSpec, ResourceParentRef,
  ResourceRecord, ResourceSpec, ScanRecord, ScanSpec, SessionRecord, SessionSpec, SubjectRecord, SubjectSpec,
} from '../types.ts';
import { EXPERIMENT_FIELDS, PROJECT_FIELDS, SCAN_FIELDS, SUBJECT_FIELDS, splitFields, xnatDate } from './columns.ts';
import { conflict, conflictOnDuplicate, type ArchiveContext, type Db } from './context.ts';
import { parentKey } from './reads.ts';

/**
 * The next accession ID. The increment is one statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the first
 * use creating the counter): on PostgreSQL it locks the counter row until the caller's transaction ends, so
 * replicas allocating at once wait for each other and never get the same number.
 */
export async function nextAccession(ctx: ArchiveContext, trx: Db, counter: 'subject' | 'experiment'): Promise<string> {
  const r = await trx.insertInto('counters').values({ name: counter, value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('counters.value', '+', 1) })))
    .returning('value').executeTakeFirstOrThrow();
  const id = `${ctx.siteId}_${counter === 'subject' ? 'S' : 'E'}${String(r.value).padStart(5, '0')}`;
  // An assessor document may have brought this very ID (item-documents.ts): take the next number then.
  const clash = counter === 'experiment' && await trx.selectFrom('experiments').select('id').where('id', '=', id).executeTakeFirst();
  return clash ? nextAccession(ctx, trx, counter) : id;
}

export async function createProject(ctx: ArchiveContext, spec: ProjectSpec, actor: Actor): Promise<ProjectRecord> {
  checkLabel('project ID', spec.id);
  const { set, extra } = splitFields<ProjectsTable>(spec.fields ?? {}, PROJECT_FIELDS);
  if (await ctx.archive.get({ kind: 'project', project: spec.id })) throw conflict(`project "${spec.id}"`, spec.id);
  await conflictOnDuplicate(`project "${spec.id}"`, spec.id, () => ctx.db.insertInto('projects').values({
    id: spec.id, name: spec.name ?? set.name ?? spec.id, secondary_id: set.secondary_id ?? spec.id,
    description: set.description ?? '', pi_firstname: set.pi_firstname ?? '', pi_lastname: set.pi_lastname ?? '',
    keywords: set.keywords ?? '', accessibility: set.accessibility ?? 'private', fields: JSON.stringify(extra),
    insert_date: xnatDate(), insert_user: actor,
  }).execute());
  await mkdir(join(ctx.root, spec.id), { recursive: true });
  return ctx.archive.require({ kind: 'project', project: spec.id });
}

export async function createSubject(ctx: ArchiveContext, project: string, spec: SubjectSpec, actor: Actor): Promise<SubjectRecord> {
  checkLabel('subject label', spec.label);
  await ctx.archive.require({ kind: 'project', project });
  const { set, extra } = splitFields<SubjectsTable>(spec.fields ?? {}, SUBJECT_FIELDS);
  const id = await conflictOnDuplicate(`subject "${spec.label}" in project ${project}`, spec.label, () => ctx.db.transaction().execute(async (trx) => {
    const dup = await trx.selectFrom('subjects').select('id').where('project', '=', project).where('label', '=', spec.label).executeTakeFirst();
    if (dup) throw conflict(`subject "${spec.label}" in project ${project}`, spec.label);
    const newId = await nextAccession(ctx, trx, 'subject');
    await trx.insertInto('subjects').values({
      id: newId, project, label: spec.label, grp: set.grp ?? '', src: set.src ?? '', fields: JSON.stringify(extra),
      insert_date: xnatDate(), insert_user: actor,
    }).execute();
    return newId;
  }));
  return ctx.archive.require({ kind: 'subject', subject: id });
}

export async function createSession(ctx: ArchiveContext, subject: string, spec: SessionSpec, actor: Actor, opts: CreateOptions = {}): Promise<SessionRecord> {
  checkLabel('session label', spec.label);
  const xsiType = checkSessionType(spec.xsiType ?? 'xnat:mrSessionData', 'xsiType');
  const subj = await ctx.archive.require({ kind: 'subject', subject });
  const { set, extra } = splitFields<ExperimentsTable>(spec.fields ?? {}, EXPERIMENT_FIELDS);
  const id = await conflictOnDuplicate(`experiment "${spec.label}" in project ${subj.project}`, spec.label, () => ctx.db.transaction().execute(async (trx) => {
    await checkExperimentLabel(ctx, trx, subj.project, spec.label);
    const newId = await nextAccession(ctx, trx, 'experiment');
    await trx.insertInto('experiments').values({
      id: newId, project: subj.project, subject_id: subject, session_id: null, label: spec.label, xsi_type: xsiType,
      date: set.date ?? '', modality: set.modality ?? modalityOf(xsiType), uid: set.uid ?? '', visit_id: set.visit_id ?? '',
      fields: JSON.stringify(extra), document: null, document_format: null, insert_date: xnatDate(), insert_user: actor,
    }).execute();
    return newId;
  }));
  const rec = await ctx.archive.require({ kind: 'session', session: id });
  const e = { project: rec.project, subject: rec.subjectId, session: rec.id, uri: rec.archiveUri, xsiType, user: actor };
  ctx.events.emit('session.created', e);
  if (opts.archived !== false) ctx.events.emit('session.archived', e);
  return rec;
}

export async function checkExperimentLabel(ctx: ArchiveContext, trx: Db, project: string, label: string): Promise<void> {
  const dup = await trx.selectFrom('experiments').select('id').where('project', '=', project).where('label', '=', label).executeTakeFirst();
  if (dup) throw conflict(`experiment "${label}" in project ${project}`, label);
}

export async function createScan(ctx: ArchiveContext, session: string, spec: ScanSpec, actor: Actor, opts: CreateOptions = {}): Promise<ScanRecord> {
  checkLabel('scan ID', spec.id);
  const xsiType = checkScanType(spec.xsiType ?? 'xnat:mrScanData', 'xsiType');
  const sess = await ctx.archive.require({ kind: 'session', session });
  const { set, extra } = splitFields<Omit<ScansTable, 'pk'>>(spec.fields ?? {}, SCAN_FIELDS);
  await conflictOnDuplicate(`scan "${spec.id}" in session ${sess.label}`, spec.id, () => ctx.db.transaction().execute(async (trx) => {
    const dup = await trx.selectFrom('scans').select('pk').where('session_id', '=', session).where('scan_id', '=', spec.id).executeTakeFirst();
    if (dup) throw conflict(`scan "${spec.id}" in session ${sess.label}`, spec.id);
    await trx.insertInto('scans').values({
      session_id: session, scan_id: spec.id, xsi_type: xsiType, type: set.type ?? '',
      series_description: set.series_description ?? '', quality: set.quality ?? 'usable', frames: set.frames ?? '',
      note: set.note ?? '', modality: set.modality ?? modalityOf(xsiType), uid: set.uid ?? '', fields: JSON.stringify(extra),
      insert_date: xnatDate(), insert_user: actor,
    }).execute();
  }));
  const rec = await ctx.archive.require({ kind: 'scan', session, scan: spec.id });
  const e = { project: sess.project, subject: sess.subjectId, session, scan: spec.id, uri: rec.archiveUri, xsiType, user: actor };
  ctx.events.emit('scan.created', e);
  if (opts.archived !== false) ctx.events.emit('scan.archived', e);
  return rec;
}

export async function markArchived(ctx: ArchiveContext, ref: Extract<ObjectRef, { kind: 'session' | 'scan' }>, actor: Actor): Promise<void> {
  if (ref.kind === 'session') {
    const rec = await ctx.archive.require(ref);
    ctx.events.emit('session.archived', { project: rec.project, subject: rec.subjectId, session: rec.id, uri: rec.archiveUri,
      xsiType: rec.xsiType, user: actor });
    return;
  }
  const sess = await ctx.archive.require({ kind: 'session', session: ref.session });
  const rec = await ctx.archive.require(ref);
  ctx.events.emit('scan.archived', { project: sess.project, subject: sess.subjectId, session: sess.id, scan: rec.id,
    uri: rec.archiveUri, xsiType: rec.xsiType, user: actor });
}

export async function createAssessor(ctx: ArchiveContext, session: string, spec: AssessorSpec, actor: Actor): Promise<AssessorRecord> {
  checkLabel('assessor label', spec.label);
  const xsiType = checkAssessorType(spec.xsiType, 'xsiType');
  const sess = await ctx.archive.require({ kind: 'session', session });
  const { set, extra } = splitFields<ExperimentsTable>(spec.fields ?? {}, EXPERIMENT_FIELDS);
  const id = await conflictOnDuplicate(`experiment "${spec.label}"${spec.id ? ` or ID ${spec.id}` : ''} in project ${sess.project}`, spec.label,
    () => ctx.db.transaction().execute(async (trx) => {
    await checkExperimentLabel(ctx, trx, sess.project, spec.label);
    const newId = spec.id ?? await nextAccession(ctx, trx, 'experiment');
    await trx.insertInto('experiments').values({
      id: newId, project: sess.project, subject_id: sess.subjectId, session_id: session, label: spec.label,
      xsi_type: xsiType, date: set.date ?? '', modality: '', uid: '', visit_id: '', fields: JSON.stringify(extra),
      document: spec.document?.text ?? null, document_format: spec.document?.format ?? null,
      insert_date: xnatDate(), insert_user: actor,
    }).execute();
    return newId;
  }));
  return ctx.archive.require({ kind: 'assessor', assessor: id });
}

/** Directory of a resource's parent, relative to the archive root. */
export async function parentDir(ctx: ArchiveContext, parent: ResourceParentRef): Promise<{ dir: string; project: string }> {
  switch (parent.kind) {
    case 'project':
      await ctx.archive.require(parent);
      return { dir: join(parent.project, 'resources'), project: parent.project };
    case 'subject': {
      const s = await ctx.archive.require(parent);
      return { dir: join(s.project, 'subjects', s.label), project: s.project };
    }
    case 'session': {
      const s = await ctx.archive.require(parent);
      return { dir: join(s.project, 'arc001', s.label, 'RESOURCES'), project: s.project };
    }
    case 'scan': {
      const s = await ctx.archive.require({ kind: 'session', session: parent.session });
      await ctx.archive.require(parent);
      return { dir: join(s.project, 'arc001', s.label, 'SCANS', parent.scan), project: s.project };
    }
    case 'assessor': {
      const a = await ctx.archive.require(parent);
      const s = await ctx.archive.require({ kind: 'session', session: a.sessionId });
      return { dir: join(s.project, 'arc001', s.label, 'ASSESSORS', a.label), project: s.project };
    }
  }
}

export async function createResource(ctx: ArchiveContext, parent: ResourceParentRef, spec: ResourceSpec, actor: Actor): Promise<ResourceRecord> {
  checkLabel('resource label', spec.label);
  const { dir, project } = await parentDir(ctx, parent);
  const key = (await parentKey(ctx, parent))!;
  const dup = await ctx.db.selectFrom('resources').select('id').where('parent_kind', '=', parent.kind)
    .where('parent_key', '=', key).where('label', '=', spec.label).executeTakeFirst();
  if (dup) throw conflict(`resource "${spec.label}"`, spec.label);
  const r = await conflictOnDuplicate(`resource "${spec.label}"`, spec.label, () => ctx.db.insertInto('resources').values({
    parent_kind: parent.kind, parent_key: key, project, label: spec.label, format: spec.format ?? '',
    content: spec.content ?? '', description: spec.description ?? '', tags: (spec.tags ?? []).join(','),
    dir: join(dir, spec.label), insert_date: xnatDate(), insert_user: actor,
  }).returning('id').executeTakeFirstOrThrow());
  await mkdir(join(ctx.root, dir, spec.label), { recursive: true });
  const rec = await ctx.archive.require({ kind: 'resource', resource: r.id });
  ctx.events.emit('resource.created', {
    project, resource: r.id, uri: rec.archiveUri, xsiType: 'xnat:resourceCatalog', user: actor,
    ...(parent.kind === 'session' ? { session: parent.session } : {}),
    ...(parent.kind === 'scan' ? { session: parent.session, scan: parent.scan } : {}),
    ...(parent.kind === 'subject' ? { subject: parent.subject } : {}),
  });
  return rec;
}

// ---- update and delete ----------------------------------------------------------------------------

/** A document whose own ID names an assessor of this session replaces it (XNAT updates the item it names). */
export async function createAssessorFromXml(ctx: ArchiveContext, session: string, xml: string, actor: Actor): Promise<AssessorRecord> {
  const doc = readAssessorDocument(xml);
  const taken = doc.id ? await ctx.db.selectFrom('experiments').selectAll().where('id', '=', doc.id).executeTakeFirst() : undefined;
  if (!taken) return ctx.archive.createAssessor(session, { ...doc, document: { format: 'xml', text: xml } }, actor);
  if (taken.session_id !== session) throw takenId(doc.id ?? '', taken.session_id ? 'an assessor of another session' : 'a session');
  await ctx.db.transaction().execute(async (trx) => {
    if (doc.label !== taken.label) await checkExperimentLabel(ctx, trx, taken.project, doc.label);
    await trx.updateTable('experiments').set({ label: checkLabel('assessor label', doc.label), xsi_type: checkAssessorType(doc.xsiType),
      date: doc.fields.date ?? taken.date, document: xml, document_format: 'xml' }).where('id', '=', taken.id).execute();
  });
  return ctx.archive.require({ kind: 'assessor', assessor: taken.id });
}

export async function createScanFromXml(ctx: ArchiveContext, session: string, xml: string, actor: Actor): Promise<ScanRecord> {
  return ctx.archive.createScan(session, readScanDocument(xml), actor);
}
