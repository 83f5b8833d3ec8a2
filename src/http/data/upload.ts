/**
 * File uploads into a resource (`PUT|POST …/resources/R/files[/NAME]`): a raw body, or every file part of a
 * multipart form, each stored as a file or, with `extract=true`, a zip unpacked into the resource (checked
 * whole before anything is written, `archive/zip.ts`). A request is all or nothing for new files: when a
 * later part fails (too large, a bad name, an archive bomb, too many parts), the files this request already
 * added are removed again. Files it replaced with `overwrite=true` cannot be brought back.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { Archive, PutFileOptions } from '../../archive/types.ts';

export interface UploadRequest {
  resource: number;
  /** The name from the URL (a raw body's, or the first multipart file's). */
  name: string | undefined;
  extract: boolean;
  opts: PutFileOptions;
  login: string;
}

/** The request body as a stream, whether a content-type parser handed it over or not. */
export function bodyStream(request: FastifyRequest): Readable {
  return request.body instanceof Readable ? request.body : request.raw;
}

function tooLarge(): XcsError {
  return new XcsError('archive.upload.too-large', 'the upload exceeds the size limit', { status: 413 });
}

/** Stores the request's file(s); throws a 4xx `XcsError` for bad uploads after undoing what it added. */
export async function storeUpload(archive: Archive, request: FastifyRequest, u: UploadRequest): Promise<void> {
  const added: string[] = [];
  /** Stores one file or zip; `truncated` tells whether the size limit cut the body short. */
  async function store(body: Readable, name: string, truncated: () => boolean): Promise<void> {
    if (u.extract && /\.zip$/i.test(name)) {
      const dir = await mkdtemp(join(archive.stagingDir(), '.zip-'));
      try {
        const tmp = join(dir, 'upload.zip');
        await pipeline(body, (await open(tmp, 'wx')).createWriteStream());
        if (truncated()) throw tooLarge();
        const files = await archive.putZip(u.resource, tmp, u.opts, u.login);
        if (!u.opts.overwrite) added.push(...files.map((f) => f.name));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return;
    }
    const f = await archive.putFile(u.resource, name, body, u.opts, u.login);
    if (!u.opts.overwrite || truncated()) added.push(f.name);
    if (truncated()) throw tooLarge();
  }

  try {
    if (request.isMultipart()) {
      let count = 0;
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        count++;
        const fileName = u.name && count === 1 ? u.name : part.filename;
        if (!fileName) throw new XcsError('archive.upload.no-name', 'the multipart file part has no file name', { status: 400 });
        await store(part.file, fileName, () => part.file.truncated);
      }
      if (count === 0) throw new XcsError('archive.upload.empty', 'the multipart request holds no file', { status: 400 });
      return;
    }
    if (!u.name) {
      throw new XcsError('archive.upload.no-name', 'give the file name in the URL (…/files/NAME) or upload multipart/form-data',
        { status: 400 });
    }
    if (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined) {
      throw new XcsError('archive.upload.empty', 'no file content in the request body', { status: 400 });
    }
    await store(bodyStream(request), u.name, () => false);
  } catch (e) {
    for (const path of added) {
      await archive.delete({ kind: 'file', resource: u.resource, path }, { removeFiles: true }, u.login).catch(() => undefined);
    }
    throw e;
  }
}
