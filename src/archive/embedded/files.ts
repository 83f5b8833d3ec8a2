/** Single files and zips into an existing resource: streamed to a temporary file, hashed, then renamed in. */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, rename } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { XcsError } from '../../core/errors.ts';
import type { ResourceRow } from '../db.ts';
import { checkFilePath } from '../names.ts';
import type { Actor, ArchiveFile, PutFileOptions } from '../types.ts';
import { openZip } from '../zip.ts';
import { conflict, notFound, type ArchiveContext } from './context.ts';
import { streamToFile } from './disk.ts';

export function tmpPath(ctx: ArchiveContext): string {
  return join(ctx.uploads, `${Date.now()}-${randomBytes(8).toString('hex')}`);
}

export async function resourceRow(ctx: ArchiveContext, resource: number): Promise<ResourceRow> {
  const r = await ctx.db.selectFrom('resources').selectAll().where('id', '=', resource).executeTakeFirst();
  if (!r) throw notFound('resource', String(resource));
  return r;
}

export async function putFile(ctx: ArchiveContext, resource: number, path: string, body: Readable, opts: PutFileOptions, _actor: Actor): Promise<ArchiveFile> {
  const name = checkFilePath(path);
  const res = await resourceRow(ctx, resource);
  const existsBefore = await fileExists(ctx, resource, name);
  if (existsBefore && !opts.overwrite) {
    body.resume();
    throw conflict(`file "${name}"`, name);
  }
  const tmp = tmpPath(ctx);
  const h = await streamToFile(body, tmp, opts.maxBytes ?? ctx.maxUpload);
  const dest = join(ctx.root, res.dir, ...name.split('/'));
  try {
    await place(ctx, [{ tmp, dest, name, ...h }], res, opts);
  } finally {
    await rm(tmp, { force: true });
  }
  return (await ctx.archive.get({ kind: 'file', resource, path: name }))!;
}

export async function fileExists(ctx: ArchiveContext, resource: number, path: string): Promise<boolean> {
  return (await ctx.db.selectFrom('files').select('path').where('resource_id', '=', resource).where('path', '=', path)
    .executeTakeFirst()) !== undefined;
}

/**
 * Renames temporary files into the resource and writes their rows in one transaction. A file whose
 * name is taken fails the whole batch (unless overwriting); a failed transaction removes new files.
 */
export async function place(ctx: ArchiveContext, items: Array<{ tmp: string; dest: string; name: string; size: number; md5: string }>, res: ResourceRow,
  opts: PutFileOptions): Promise<void> {
  if (!opts.overwrite) {
    for (const it of items) if (await fileExists(ctx, res.id, it.name)) throw conflict(`file "${it.name}"`, it.name);
  }
  const resDir = join(ctx.root, res.dir);
  const placed: string[] = [];
  try {
    for (const it of items) {
      const d = dirname(it.dest);
      await mkdir(d, { recursive: true });
      // A directory where a file should go (or the reverse) is a conflict, not a crash.
      const st = await stat(it.dest).catch(() => undefined);
      if (st?.isDirectory()) throw conflict(`directory "${it.name}"`, it.name);
      if (!it.dest.startsWith(resDir + sep)) throw new XcsError('archive.bad-file-name', `"${it.name}" leaves the resource`);
      await rename(it.tmp, it.dest);
      placed.push(it.dest);
    }
    const now = Date.now();
    await ctx.db.transaction().execute(async (trx) => {
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

export async function putZip(ctx: ArchiveContext, resource: number, zipPath: string, opts: PutFileOptions, _actor: Actor): Promise<ArchiveFile[]> {
  const res = await resourceRow(ctx, resource);
  const zip = await openZip(zipPath, opts.maxBytes ?? ctx.maxUpload, ctx.unpackLimits);
  const tmpDir = tmpPath(ctx);
  const names = zip.entries.map((e) => e.name);
  try {
    if (new Set(names).size !== names.length) {
      throw new XcsError('archive.zip.duplicate', 'the zip holds the same file name twice');
    }
    if (!opts.overwrite) {
      for (const n of names) if (await fileExists(ctx, resource, n)) throw conflict(`file "${n}"`, n);
    }
    await mkdir(tmpDir);
    const items: Array<{ tmp: string; dest: string; name: string; size: number; md5: string }> = [];
    let i = 0;
    for (const e of zip.entries) {
      const tmp = join(tmpDir, String(i++));
      const h = await streamToFile(await zip.open(e), tmp, e.uncompressedSize);
      items.push({ tmp, dest: join(ctx.root, res.dir, ...e.name.split('/')), name: e.name, ...h });
    }
    await place(ctx, items, res, opts);
  } finally {
    zip.close();
    await rm(tmpDir, { recursive: true, force: true });
  }
  const all = await ctx.archive.listFiles(resource);
  const set = new Set(names);
  return all.filter((f) => set.has(f.name));
}
