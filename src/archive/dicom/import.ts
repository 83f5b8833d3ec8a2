/**
 * DICOM import into an archive, like XNAT's importer: a directory, zip or tar of DICOM files becomes
 * subjects, sessions and scans by patient, study and series, each scan with a `DICOM` resource
 * (format DICOM, content RAW) holding its files as `{SOPInstanceUID}.dcm`.
 *
 * - Everything is read and checked before the archive changes: an unsafe or damaged upload changes nothing.
 * - Files are staged inside the archive's staging directory and moved into place by `commitResource`.
 * - A session's objects are created together; when any step of a session fails, what this import created
 *   for it is deleted again, and the import stops with the error.
 * - Re-importing merges (XNAT's default "append"): a study already in the project (same StudyInstanceUID)
 *   gets its files into the existing session; a series already there (same SeriesInstanceUID, else same
 *   scan id) into the existing scan; an instance already there is replaced by the new copy, not duplicated.
 * - Events: the archive emits `session.created`/`scan.created` when the rows are made; the importer creates
 *   them with `{archived: false}` and asks for `scan.archived` (each new scan) then `session.archived` (a new
 *   session) once the session's files are committed, so automation launched on those events finds the files.
 * - Non-DICOM and unreadable files are reported in `skipped`, not imported.
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError, messageOf } from '../../core/errors.ts';
import type { Actor, Archive, ObjectRef, ScanRecord, SessionRecord } from '../types.ts';
import { groupInstances, type PlannedScan, type PlannedSession, type PlannedSubject, type ReadInstance } from './group.ts';
import { readDicomFile } from './read.ts';
import { collectSource, type SkippedFile, type SourceFile, type SourceFormat, type SourceLimits } from './source.ts';

export type ImportPhase = 'unpack' | 'read' | 'store';

export interface ImportProgress {
  phase: ImportPhase;
  /** Files handled in this phase so far, out of `total` (0 while unknown). */
  done: number;
  total: number;
}

export interface ImportOptions {
  project: string;
  /** A directory, or a zip, tar or tar.gz file, on this machine. */
  source: string;
  /** How messages name the source (default: its path; an upload's temporary path is no one's business). */
  sourceName?: string;
  user: Actor;
  onProgress?: (p: ImportProgress) => void;
  limits?: SourceLimits;
  /** Files read at the same time (default 8). */
  concurrency?: number;
}

export interface ImportedScan {
  id: string;
  type: string;
  xsiType: string;
  files: number;
  created: boolean;
}

export interface ImportedSession {
  id: string;
  label: string;
  subject: string;
  subjectLabel: string;
  xsiType: string;
  /** `/data/...` URI of the session, as XNAT's import service answers. */
  uri: string;
  archiveUri: string;
  created: boolean;
  scans: ImportedScan[];
}

export interface ImportReport {
  project: string;
  format: SourceFormat;
  /** Subjects, sessions and scans that received files (created or merged into). */
  subjects: number;
  sessions: number;
  scans: number;
  /** DICOM files stored. */
  files: number;
  created: { subjects: number; sessions: number; scans: number };
  imported: ImportedSession[];
  /** Files not imported, with why. */
  skipped: SkippedFile[];
}

const DICOM_RESOURCE = { label: 'DICOM', format: 'DICOM', content: 'RAW' } as const;

/** A user's file up to this size is read into memory once to copy and checksum it; larger ones are copied by the kernel. */
const READ_WHOLE_MAX = 8 * 1024 * 1024;

async function mapPool<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Undo list for one session: what this import created, deleted newest first on failure. */
class Created {
  readonly refs: ObjectRef[] = [];
  async undo(archive: Archive, user: Actor): Promise<void> {
    for (const ref of [...this.refs].reverse()) {
      await archive.delete(ref, { removeFiles: true }, user).catch(() => undefined);
    }
  }
}

export async function importDicom(archive: Archive, opts: ImportOptions): Promise<ImportReport> {
  const project = await archive.get({ kind: 'project', project: opts.project });
  if (project === undefined) {
    throw new XcsError('dicom.import.no-project', `project "${opts.project}" does not exist`, { path: opts.project });
  }
  const progress = opts.onProgress ?? (() => undefined);
  const work = await mkdtemp(join(archive.stagingDir(), 'dicom-import-'));
  try {
    progress({ phase: 'unpack', done: 0, total: 0 });
    const collected = await collectSource(opts.source, join(work, 'incoming'), opts.limits, opts.sourceName);
    const skipped: SkippedFile[] = [...collected.skipped];
    const files = collected.files;
    progress({ phase: 'unpack', done: files.length, total: files.length });

    let read = 0;
    const results = await mapPool(files, opts.concurrency ?? 8, async (file) => {
      const r = await readDicomFile(file.path, file.size >= 0 ? file.size : undefined).catch((e: unknown) => ({
        ok: false as const, reason: `cannot read: ${messageOf(e)}`,
      }));
      progress({ phase: 'read', done: ++read, total: files.length });
      return r;
    });
    const instances: Array<ReadInstance<SourceFile>> = [];
    results.forEach((r, i) => {
      if (r.ok) instances.push({ header: r.header, source: files[i] });
      else skipped.push({ name: files[i].name, reason: r.reason });
    });

    const existing = await archive.listSessions({ project: opts.project });
    const knownSessions = new Map(existing.filter((s) => s.uid !== '').map((s) => [s.uid, s.label] as const));
    const plan = groupInstances(instances, { takenSessionLabels: existing.map((s) => s.label), knownSessions });
    for (const d of plan.duplicates) skipped.push({ name: d.source.name, reason: d.reason });

    const report: ImportReport = {
      project: opts.project, format: collected.format, subjects: 0, sessions: 0, scans: 0, files: 0,
      created: { subjects: 0, sessions: 0, scans: 0 }, imported: [], skipped,
    };
    const total = instances.length - plan.duplicates.length;
    const importId = randomUUID();
    const store: StoreContext = { archive, opts, work, importId, report, stored: 0, total, progress, existing };
    for (const subject of plan.subjects) {
      for (const session of subject.sessions) await storeSession(store, subject, session);
    }
    report.subjects = new Set(report.imported.map((s) => s.subject)).size;
    report.sessions = report.imported.length;
    report.scans = report.imported.reduce((n, s) => n + s.scans.length, 0);
    skipped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return report;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface StoreContext {
  archive: Archive;
  opts: ImportOptions;
  work: string;
  importId: string;
  report: ImportReport;
  stored: number;
  total: number;
  progress: (p: ImportProgress) => void;
  existing: SessionRecord[];
}

async function storeSession(c: StoreContext, subject: PlannedSubject<SourceFile>, planned: PlannedSession<SourceFile>): Promise<void> {
  const { archive, opts } = c;
  const created = new Created();
  try {
    let session = c.existing.find((s) => s.uid === planned.studyInstanceUid && s.uid !== '');
    let subjectId = session?.subjectId;
    if (subjectId === undefined) {
      const found = await archive.findChild({ kind: 'project', project: opts.project }, 'subjects', subject.label);
      if (found?.kind === 'subject') subjectId = found.subject;
      else {
        const rec = await archive.createSubject(opts.project, { label: subject.label }, opts.user);
        created.refs.push({ kind: 'subject', subject: rec.id });
        subjectId = rec.id;
        c.report.created.subjects++;
      }
    }
    const sessionCreated = session === undefined;
    if (session === undefined) {
      session = await archive.createSession(subjectId, {
        label: planned.label, xsiType: planned.xsiType,
        fields: { date: planned.date, time: planned.time, modality: planned.modality, UID: planned.studyInstanceUid },
      }, opts.user, { archived: false });
      created.refs.push({ kind: 'session', session: session.id });
      c.existing.push(session);
      c.report.created.sessions++;
    }
    const scans = await archive.listScans(session.id);
    const imported: ImportedSession = {
      id: session.id, label: session.label, subject: session.subjectId, subjectLabel: session.subjectLabel,
      xsiType: session.xsiType, uri: session.uri, archiveUri: session.archiveUri, created: sessionCreated, scans: [],
    };
    for (const scan of planned.scans) imported.scans.push(await storeScan(c, session, scans, scan, created));
    c.report.imported.push(imported);
    // Only now is the data in place: the session is archived (after everything that could undo it).
    for (const scan of imported.scans) {
      if (scan.created) await archive.markArchived({ kind: 'scan', session: session.id, scan: scan.id }, opts.user);
    }
    if (sessionCreated) await archive.markArchived({ kind: 'session', session: session.id }, opts.user);
  } catch (e) {
    await created.undo(archive, opts.user);
    if (e instanceof XcsError) throw e;
    throw new XcsError('dicom.import.store-failed', `importing session "${planned.label}" failed: ${messageOf(e)}`, {
      path: planned.label, cause: e,
    });
  }
}

async function storeScan(c: StoreContext, session: SessionRecord, existing: ScanRecord[], planned: PlannedScan<SourceFile>,
  created: Created): Promise<ImportedScan> {
  const { archive, opts } = c;
  let scan = existing.find((s) => s.uid !== '' && s.uid === planned.seriesInstanceUid)
    ?? existing.find((s) => s.id === planned.id && (s.uid === '' || s.uid === planned.seriesInstanceUid));
  let id = planned.id;
  // The planned id may belong to another series already in the session: take the next free `{n}-k`.
  for (let k = 2; scan === undefined && existing.some((s) => s.id === id); k++) id = `${planned.id}-${k}`;
  const scanCreated = scan === undefined;
  if (scan === undefined) {
    const fields: Record<string, string> = {
      type: planned.type, series_description: planned.seriesDescription, modality: planned.modality,
      UID: planned.seriesInstanceUid, frames: String(planned.files.length),
    };
    if (planned.manufacturer) fields['scanner/manufacturer'] = planned.manufacturer;
    if (planned.model) fields['scanner/model'] = planned.model;
    scan = await archive.createScan(session.id, { id, xsiType: planned.xsiType, fields }, opts.user, { archived: false });
    created.refs.push({ kind: 'scan', session: session.id, scan: scan.id });
    existing.push(scan);
    c.report.created.scans++;
  }
  const staged = join(c.work, 'commit', session.id, scan.id);
  await mkdir(staged, { recursive: true });
  // Files are stored several at a time (each open is a slow path walk on some file systems, and the threads
  // of the pool sit idle otherwise); a small file of the user's is read once, for both its copy and its
  // checksum, so the commit need not open it again.
  const hashed = await mapPool(planned.files, opts.concurrency ?? 8, async (f) => {
    const dest = join(staged, f.name);
    let known: { path: string; size: number; md5: string } | null = null;
    // Our own unpacked copies are moved; the user's files are copied (the source stays as it was).
    if (f.source.staged) await rename(f.source.path, dest);
    else if (f.source.size <= READ_WHOLE_MAX) {
      const bytes = await readFile(f.source.path);
      await writeFile(dest, bytes, { flag: 'wx' });
      known = { path: f.name, size: bytes.length, md5: createHash('md5').update(bytes).digest('hex') };
    } else await copyFile(f.source.path, dest);
    c.progress({ phase: 'store', done: ++c.stored, total: c.total });
    return known;
  });
  const ref = { kind: 'scan', session: session.id, scan: scan.id } as const;
  const result = await archive.commitResource(ref, DICOM_RESOURCE, staged,
    { idempotencyKey: `dicom-import/${c.importId}/${session.id}/${scan.id}`, overwrite: true,
      files: hashed.filter((h): h is NonNullable<typeof h> => h !== null) }, opts.user);
  const resource = await archive.require({ kind: 'resource', resource: result.resource });
  if (!scanCreated || scan.frames !== String(resource.fileCount)) {
    await archive.update(ref, { frames: String(resource.fileCount) }, opts.user);
  }
  c.report.files += planned.files.length;
  return { id: scan.id, type: scan.type, xsiType: scan.xsiType, files: planned.files.length, created: scanCreated };
}

