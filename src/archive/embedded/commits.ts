/** Object directories, and committing a staged tree as a resource (idempotent, resumable after a crash). */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import type { ResourceRow } from '../db.ts';
import { checkFilePath } from '../names.ts';
import type { Actor, CommitOptions, CommitResult, ObjectRef, ResourceParentRef, ResourceSpec } from '../types.ts';
import { conflict, conflictOnDuplicate, notFound, type ArchiveContext } from './context.ts';
import { forEachLimited, hashFile, isEmptyDir, walkFiles, type HashedFile } from './disk.ts';
import { resourceRow } from './files.ts';
import { parentKey as lookupParentKey } from './reads.ts';
import { resourceRecords } from './records.ts';

/** Rows per multi-row INSERT: 8 parameters each stays far below SQLite's variable limit. */
const INSERT_CHUNK = 500;

type FileDigest = { path: string; size: number; md5: string };
export interface CommitPlan { files: FileDigest[]; replaced?: FileDigest[] }

export async function directoryOf(ctx: ArchiveContext, ref: ObjectRef): Promise<string> {
  switch (ref.kind) {
    case 'project': await ctx.archive.require(ref); return join(ctx.root, ref.project);
    case 'subject': { const s = await ctx.archive.require(ref); return join(ctx.root, s.project, 'subjects', s.label); }
    case 'session': { const s = await ctx.archive.require(ref); return join(ctx.root, s.project, 'arc001', s.label); }
    case 'scan': {
      await ctx.archive.require(ref);
      const s = await ctx.archive.require({ kind: 'session', session: ref.session });
      return join(ctx.root, s.project, 'arc001', s.label, 'SCANS', ref.scan);
    }
    case 'assessor': {
      const a = await ctx.archive.require(ref);
      const s = await ctx.archive.require({ kind: 'session', session: a.sessionId });
      return join(ctx.root, s.project, 'arc001', s.label, 'ASSESSORS', a.label);
    }
    case 'resource': return join(ctx.root, (await resourceRow(ctx, ref.resource)).dir);
    case 'file': return (await ctx.archive.require(ref)).absolutePath;
  }
}

export async function commitResource(ctx: ArchiveContext, parent: ResourceParentRef, spec: ResourceSpec, stagedDir: string, opts: CommitOptions,
  actor: Actor): Promise<CommitResult> {
  const done = await ctx.db.selectFrom('resource_commits').selectAll().where('key', '=', opts.idempotencyKey).executeTakeFirst();
  if (done?.state === 'done') return { uri: done.uri, resource: done.resource_id, created: false };
  let res: ResourceRow;
  let plan: CommitPlan;
  // Moving the staged tree with one rename is only exact when it holds nothing but the plan's files.
  let wholeTree = false;
  if (done) {
    res = await resourceRow(ctx, done.resource_id);
    plan = JSON.parse(done.plan) as CommitPlan;
  } else {
    const rel = relative(ctx.staging, stagedDir);
    if (rel.startsWith('..') || rel === '' || rel.startsWith(sep)) {
      throw new XcsError('archive.commit.not-staged', `staged directory must be inside ${ctx.staging}`, { path: stagedDir });
    }
    const walked = await walkFiles(stagedDir);
    const files = walked.files;
    for (const f of files) checkFilePath(f);
    const parentKey = await lookupParentKey(ctx, parent);
    if (parentKey === undefined) throw notFound('parent of the resource', JSON.stringify(parent));
    const findExisting = () => ctx.db.selectFrom('resources').selectAll().where('parent_kind', '=', parent.kind)
      .where('parent_key', '=', parentKey).where('label', '=', spec.label).executeTakeFirst();
    const existing = await findExisting();
    res = existing ?? await ctx.archive.createResource(parent, spec, actor).then((r) => resourceRow(ctx, r.id), async (e: unknown) => {
      // Another replica created it meanwhile: commit into theirs.
      const theirs = e instanceof XcsError && e.code === 'archive.conflict' ? await findExisting() : undefined;
      if (!theirs) throw e;
      return theirs;
    });
    // Same-named files are replaced (as XNAT copies over them) only with `overwrite`; otherwise a 409.
    const staged = new Set(files);
    const replaced = existing ? (await ctx.db.selectFrom('files').select(['path', 'size', 'md5']).where('resource_id', '=', res.id)
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
    const rec = (await resourceRecords(ctx, [res]))[0];
    // Record the intent before moving anything: a retry after a crash finishes from this plan.
    await conflictOnDuplicate(`commit "${opts.idempotencyKey}" (being committed by another process)`, opts.idempotencyKey,
      () => ctx.db.insertInto('resource_commits').values({
        key: opts.idempotencyKey, state: 'moving', resource_id: res.id, uri: rec.archiveUri, plan: JSON.stringify(plan),
      }).execute());
  }
  const resDir = join(ctx.root, res.dir);
  if (!(wholeTree && await moveTree(stagedDir, resDir))) await moveFiles(stagedDir, resDir, plan);
  const now = Date.now();
  const uri = (await resourceRecords(ctx, [res]))[0].archiveUri;
  const format = spec.format ?? '';
  const content = spec.content ?? '';
  const tags = (spec.tags ?? []).join(',');
  await ctx.db.transaction().execute(async (trx) => {
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
export async function moveTree(stagedDir: string, resDir: string): Promise<boolean> {
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
export async function moveFiles(stagedDir: string, resDir: string, plan: CommitPlan): Promise<void> {
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
          { path: src });
      }
    }
  });
}

