/**
 * XNAT's import service for DICOM: `POST /data/services/import?import-handler=DICOM-zip&PROJECT_ID=P`
 * (also `POST /data/projects/{P}/import`), body a zip, tar or tar.gz of DICOM files — raw, or as the
 * first file of a multipart form. The body streams to a temporary file (memory stays flat), then
 * `importDicom` files it into the archive. Answers like XNAT: `text/plain`, one line per session with
 * its `/data/archive/projects/P/subjects/S/experiments/E` URI; `format=json` (or `Accept: application/json`)
 * gives the whole import report, skipped files included.
 *
 * Deviation: the embedded archive has no prearchive, so `dest=/prearchive…` and no `dest` both mean the archive.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { XcsError, isXcsError, messageOf } from '../../core/errors.ts';
import { importDicom, type ImportReport } from '../../archive/dicom/import.ts';
import type { Archive } from '../../archive/types.ts';
import type { UnpackLimits } from '../../archive/unpack-limits.ts';
import type { UserDirectory } from '../../archive/users.ts';

export interface ImportPluginOptions {
  archive: Archive;
  users: UserDirectory;
  /** Largest upload, and largest unpacked size, in bytes (413 beyond). */
  maxUploadBytes?: number;
  /** Archive-bomb limits (defaults in `archive/unpack-limits.ts`). */
  unpackLimits?: Partial<UnpackLimits>;
}

const DEFAULT_MAX_UPLOAD = 1024 ** 4;
/** XNAT's handler names that mean "a zip (or tar) of DICOM files". */
const HANDLERS = new Set(['dicom-zip', 'si', 'gradual-dicom']);

type Query = Record<string, string | undefined>;

/** Streams `body` to `path`, refusing more than `maxBytes`; a broken or cut-off body is a 400. */
async function saveBody(body: Readable, path: string, maxBytes: number): Promise<number> {
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) done(new XcsError('dicom.upload.too-large', `the upload is larger than ${maxBytes} bytes`, { status: 413 }));
      else done(null, chunk);
    },
  });
  // Opened before the body streams in: a write stream's own open can land after a failed body's clean-up.
  const file = await open(path, 'wx');
  try {
    await pipeline(body, meter, file.createWriteStream());
  } catch (e) {
    if (isXcsError(e)) throw e;
    const status = (e as { statusCode?: unknown }).statusCode;
    if (status === 413) throw new XcsError('dicom.upload.too-large', `the upload is larger than ${maxBytes} bytes`, { status: 413 });
    throw new XcsError('dicom.upload.truncated', `the upload was interrupted or truncated: ${messageOf(e)}`, { status: 400, cause: e });
  }
  return size;
}

async function uploadStream(request: FastifyRequest): Promise<Readable> {
  if (!request.isMultipart()) return request.body as Readable;
  const file = await request.file();
  if (file === undefined) throw new XcsError('dicom.upload.empty', 'the multipart request holds no file', { status: 400 });
  return file.file;
}

function sessionLines(report: ImportReport): string {
  return report.imported.map((s) => `/data/archive/projects/${encodeURIComponent(report.project)}/subjects/${
    encodeURIComponent(s.subjectLabel)}/experiments/${encodeURIComponent(s.label)}\n`).join('');
}

function projectFromDest(dest: string | undefined): string | undefined {
  return /^\/(?:pre)?archive\/projects\/([^/]+)/.exec(dest ?? '')?.[1];
}

export default async function importPlugin(app: FastifyInstance, opts: ImportPluginOptions): Promise<void> {
  const { archive, users } = opts;
  const maxBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  // Bodies are archives streamed to disk: nothing is parsed into memory here.
  app.removeAllContentTypeParsers();
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 100 } });
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  async function handle(request: FastifyRequest, reply: FastifyReply, project: string | undefined): Promise<FastifyReply> {
    const query = request.query as Query;
    const handler = query['import-handler'];
    if (handler !== undefined && !HANDLERS.has(handler.toLowerCase())) {
      throw new XcsError('dicom.import.bad-handler', `import-handler "${handler}" is not supported; use DICOM-zip`, {
        status: 400, path: 'import-handler',
      });
    }
    if (project === undefined || project === '') {
      throw new XcsError('dicom.import.no-project', 'say which project to import into: PROJECT_ID=P or dest=/archive/projects/P', {
        status: 400, path: 'PROJECT_ID',
      });
    }
    const user = request.user!;
    if (!(await users.can(user, 'read', { project })) || !(await archive.get({ kind: 'project', project }))) {
      throw new XcsError('archive.not-found', `project ${project} not found`, { status: 404, path: project });
    }
    if (!(await users.can(user, 'edit', { project }))) {
      throw new XcsError('auth.forbidden', `you may not import into project ${project}`, { status: 403, path: project });
    }
    const work = await mkdtemp(join(archive.stagingDir(), 'dicom-upload-'));
    let report: ImportReport;
    try {
      const upload = join(work, 'upload');
      const size = await saveBody(await uploadStream(request), upload, maxBytes);
      if (size === 0) throw new XcsError('dicom.upload.empty', 'the upload is empty', { status: 400 });
      report = await importDicom(archive, { project, source: upload, sourceName: 'the upload', user: user.login, limits: { maxBytes, unpack: opts.unpackLimits } });
    } finally {
      // Before answering: a client that sees the answer sees no temporary file either.
      await rm(work, { recursive: true, force: true });
    }
    const json = query.format === 'json' || (request.headers.accept ?? '').includes('application/json');
    if (json) return reply.type('application/json').send(report);
    return reply.type('text/plain; charset=utf-8').send(sessionLines(report));
  }

  app.post('/data/services/import', async (request, reply) => {
    const q = request.query as Query;
    return handle(request, reply, q.PROJECT_ID ?? q.project ?? projectFromDest(q.dest));
  });
  app.post('/data/projects/:project/import', async (request, reply) => {
    return handle(request, reply, (request.params as { project: string }).project);
  });
}
