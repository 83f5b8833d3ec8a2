/** Updating fields (a new label moves the directory) and deleting objects with everything below them. */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import type { ExperimentsTable, FilesTable, ProjectsTable, ResourcesTable, ScansTable, SubjectsTable } from '../db.ts';
import { checkLabel } from '../names.ts';
import type { Actor, DeleteOptions, ExtraFields, ObjectRef } from '../types.ts';
import { EXPERIMENT_FIELDS, PROJECT_FIELDS, RESOURCE_FIELDS, SCAN_FIELDS, SUBJECT_FIELDS, splitFields } from './columns.ts';
import { conflict, notFound, type ArchiveContext } from './context.ts';
import { checkExperimentLabel } from './create.ts';
import { sessionQuery } from './records.ts';

export async function update(ctx: ArchiveContext, ref: ObjectRef, fields: ExtraFields, _actor: Actor): Promise<void> {
  if (Object.keys(fields).length === 0) return;
  switch (ref.kind) {
    case 'project': {
      const cur = await ctx.archive.require(ref);
      const { set, extra } = splitFields<ProjectsTable>(fields, PROJECT_FIELDS);
      await ctx.db.updateTable('projects').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
        .where('id', '=', ref.project).execute();
      return;
    }
    case 'subject': {
      const cur = await ctx.archive.require(ref);
      const { set, extra } = splitFields<SubjectsTable>(fields, SUBJECT_FIELDS);
      if (set.label !== undefined && set.label !== cur.label) {
        checkLabel('subject label', set.label);
        const dup = await ctx.archive.findChild({ kind: 'project', project: cur.project }, 'subjects', set.label);
        if (dup) throw conflict(`subject "${set.label}"`, set.label);
        await relocate(ctx, join(cur.project, 'subjects', cur.label), join(cur.project, 'subjects', set.label));
      }
      await ctx.db.updateTable('subjects').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
        .where('id', '=', ref.subject).execute();
      return;
    }
    case 'session':
    case 'assessor': {
      const id = ref.kind === 'session' ? ref.session : ref.assessor;
      const cur = ref.kind === 'session' ? await ctx.archive.require(ref) : await ctx.archive.require(ref);
      const { set, extra } = splitFields<ExperimentsTable>(fields, EXPERIMENT_FIELDS);
      if (set.label !== undefined && set.label !== cur.label) {
        checkLabel('experiment label', set.label);
        await checkExperimentLabel(ctx, ctx.db, cur.project, set.label);
        if (cur.kind === 'session') {
          await relocate(ctx, join(cur.project, 'arc001', cur.label), join(cur.project, 'arc001', set.label));
        } else {
          const s = await ctx.archive.require({ kind: 'session', session: cur.sessionId });
          const base = join(s.project, 'arc001', s.label, 'ASSESSORS');
          await relocate(ctx, join(base, cur.label), join(base, set.label));
        }
      }
      await ctx.db.updateTable('experiments').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
        .where('id', '=', id).execute();
      return;
    }
    case 'scan': {
      const cur = await ctx.archive.require(ref);
      const { set, extra } = splitFields<Omit<ScansTable, 'pk'>>(fields, SCAN_FIELDS);
      await ctx.db.updateTable('scans').set({ ...set, fields: JSON.stringify({ ...cur.fields, ...extra }) })
        .where('pk', '=', cur.internalId).execute();
      return;
    }
    case 'resource': {
      const cur = await ctx.archive.require(ref);
      const { set } = splitFields<Omit<ResourcesTable, 'id'>>(fields, RESOURCE_FIELDS);
      if (set.label !== undefined && set.label !== cur.label) {
        throw new XcsError('archive.resource.relabel', 'a resource label cannot be changed', { path: cur.uri });
      }
      await ctx.db.updateTable('resources').set(set).where('id', '=', ref.resource).execute();
      return;
    }
    case 'file': {
      await ctx.archive.require(ref);
      const set: Partial<FilesTable> = {};
      if (fields.format !== undefined) set.format = fields.format;
      if (fields.content !== undefined) set.content = fields.content;
      if (fields.tags !== undefined) set.tags = fields.tags;
      if (Object.keys(set).length) {
        await ctx.db.updateTable('files').set(set).where('resource_id', '=', ref.resource).where('path', '=', ref.path).execute();
      }
    }
  }
}

/** Moves a labelled directory and every resource under it. */
export async function relocate(ctx: ArchiveContext, from: string, to: string): Promise<void> {
  const src = join(ctx.root, from);
  const dst = join(ctx.root, to);
  const exists = await stat(src).then(() => true, () => false);
  if (exists) {
    await mkdir(dirname(dst), { recursive: true });
    await rename(src, dst);
  }
  const rows = await ctx.db.selectFrom('resources').select(['id', 'dir']).where('dir', 'like', `${from}/%`).execute();
  try {
    await ctx.db.transaction().execute(async (trx) => {
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

export async function deleteObject(ctx: ArchiveContext, ref: ObjectRef, opts: DeleteOptions, _actor: Actor): Promise<void> {
  const removeFiles = opts.removeFiles !== false;
  if (ref.kind === 'file') {
    const f = await ctx.archive.require(ref);
    await ctx.db.deleteFrom('files').where('resource_id', '=', ref.resource).where('path', '=', ref.path).execute();
    if (removeFiles) await rm(f.absolutePath, { force: true });
    return;
  }
  const dirs: string[] = [];
  const resourceIds: number[] = [];
  const experimentIds: string[] = [];
  const scanPks: number[] = [];
  const collectResources = async (kind: string, keys: string[]) => {
    if (keys.length === 0) return;
    const rows = await ctx.db.selectFrom('resources').select(['id', 'dir']).where('parent_kind', '=', kind)
      .where('parent_key', 'in', keys).execute();
    for (const r of rows) { resourceIds.push(r.id); dirs.push(r.dir); }
  };
  const collectSessions = async (ids: string[]) => {
    if (ids.length === 0) return;
    const sessions = await sessionQuery(ctx.db).where('experiments.id', 'in', ids).execute();
    const assessors = await ctx.db.selectFrom('experiments').select('id').where('session_id', 'in', ids).execute();
    const scans = await ctx.db.selectFrom('scans').select('pk').where('session_id', 'in', ids).execute();
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
      const r = await ctx.db.selectFrom('resources').select(['id', 'dir']).where('id', '=', ref.resource).executeTakeFirst();
      if (!r) throw notFound('resource', String(ref.resource));
      resourceIds.push(r.id); dirs.push(r.dir);
      break;
    }
    case 'scan': {
      const s = await ctx.archive.require(ref);
      scanPks.push(s.internalId);
      await collectResources('scan', [String(s.internalId)]);
      break;
    }
    case 'assessor': {
      await ctx.archive.require(ref);
      experimentIds.push(ref.assessor);
      await collectResources('assessor', [ref.assessor]);
      break;
    }
    case 'session':
      await ctx.archive.require(ref);
      await collectSessions([ref.session]);
      break;
    case 'subject': {
      const s = await ctx.archive.require(ref);
      subjectIds = [s.id];
      const sess = await ctx.db.selectFrom('experiments').select('id').where('subject_id', '=', s.id).where('session_id', 'is', null).execute();
      await collectSessions(sess.map((x) => x.id));
      await collectResources('subject', [s.id]);
      dirs.push(join(s.project, 'subjects', s.label));
      break;
    }
    case 'project': {
      await ctx.archive.require(ref);
      project = ref.project;
      const subs = await ctx.db.selectFrom('subjects').select('id').where('project', '=', ref.project).execute();
      subjectIds = subs.map((s) => s.id);
      const sess = await ctx.db.selectFrom('experiments').select('id').where('project', '=', ref.project).where('session_id', 'is', null).execute();
      await collectSessions(sess.map((x) => x.id));
      await collectResources('subject', subjectIds);
      await collectResources('project', [ref.project]);
      dirs.push(ref.project);
      break;
    }
  }
  await ctx.db.transaction().execute(async (trx) => {
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
    const s = await ctx.archive.require({ kind: 'session', session: ref.session });
    dirs.push(join(s.project, 'arc001', s.label, 'SCANS', ref.scan));
  }
  if (removeFiles) for (const d of dirs) await rm(join(ctx.root, d), { recursive: true, force: true });
}
