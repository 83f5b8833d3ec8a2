/**
 * The embedded archive: metadata in SQLite (see db.ts), files on disk in XNAT's layout under
 * `{dataDir}/archive` (`{project}/arc001/{session}/SCANS/{scan}/{resource}/...`). Semantics are those of
 * the `Archive` interface (types.ts). Each resource row stores its directory (relative to the archive
 * root) so that renaming a label moves the directory once and never loses files.
 *
 * The class is the entry point; each concern lives in its own module and receives an `ArchiveContext`:
 * records.ts (rows → records), reads.ts (lookups, listings), create.ts (creation, accession IDs),
 * modify.ts (update, delete), files.ts (putFile, putZip), commits.ts (directories, staged commits).
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ArchiveDb } from '../db.ts';
import { ArchiveEvents } from '../events.ts';
import { notFound, type ArchiveContext } from './context.ts';
import { removeStaleStaging } from '../staging-cleanup.ts';
import { stagingFor, type ArchiveStaging, type StagingMode } from '../staging.ts';
import { resolveUnpackLimits, type UnpackLimits } from '../unpack-limits.ts';
import type {
  Actor, Archive, ArchiveCollection, ArchiveFile, AssessorRecord, AssessorSpec, CommitOptions, CommitResult,
  CreateOptions, DeleteOptions, ExtraFields, ObjectKind, ObjectRef, ProjectRecord, ProjectSpec, PutFileOptions, RecordOf,
  ResourceParentRef, ResourceRecord, ResourceSpec, ScanRecord, ScanSpec, SessionFilter, SessionRecord, SessionSpec,
  SubjectRecord, SubjectSpec,
} from '../types.ts';
import * as commits from './commits.ts';
import * as create from './create.ts';
import * as files from './files.ts';
import * as modify from './modify.ts';
import * as reads from './reads.ts';

export { xnatDate } from './columns.ts';

export interface EmbeddedArchiveOptions {
  dataDir: string;
  /** Default upload limit in bytes (per file or zip). */
  maxUploadBytes?: number;
  siteId?: string;
  /** Staging entries untouched for this long are removed at start-up (`staging-cleanup.ts`). */
  stagingMaxAgeMs?: number;
  /** Archive-bomb limits for extracted zips (defaults in `unpack-limits.ts`). */
  unpackLimits?: Partial<UnpackLimits>;
}

export class EmbeddedArchive implements Archive {
  readonly events = new ArchiveEvents();
  readonly root: string;
  readonly #ctx: ArchiveContext;
  readonly #stagingMaxAge: number | undefined;

  constructor(db: Kysely<ArchiveDb>, opts: EmbeddedArchiveOptions) {
    this.root = join(opts.dataDir, 'archive');
    const staging = join(opts.dataDir, 'staging');
    this.#ctx = {
      archive: this, events: this.events, db, root: this.root, staging, uploads: join(staging, '.uploads'),
      maxUpload: opts.maxUploadBytes ?? 1024 ** 4, siteId: opts.siteId ?? 'XNAT',
      unpackLimits: resolveUnpackLimits(opts.unpackLimits),
    };
    this.#stagingMaxAge = opts.stagingMaxAgeMs;
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await mkdir(this.#ctx.uploads, { recursive: true });
    // Another process may be working in the same staging dir: only entries untouched for long are removed.
    await removeStaleStaging(this.#ctx.staging, { maxAgeMs: this.#stagingMaxAge });
  }

  stagingDir(): string {
    return this.#ctx.staging;
  }

  async close(): Promise<void> {
    await this.#ctx.db.destroy();
  }

  // ---- lookups and listings (reads.ts) -------------------------------------------------------------

  async get<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K] | undefined> {
    return (await reads.getRecord(this.#ctx, ref as ObjectRef)) as RecordOf[K] | undefined;
  }

  async require<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K]> {
    const r = await this.get(ref);
    if (!r) throw notFound(ref.kind, JSON.stringify(ref));
    return r;
  }

  findChild(parent: ObjectRef | null, collection: ArchiveCollection, idOrLabel: string): Promise<ObjectRef | undefined> {
    return reads.findChild(this.#ctx, parent, collection, idOrLabel);
  }

  resolveUri(uri: string): Promise<ObjectRef> { return reads.resolveUri(this.#ctx, uri); }
  projectOf(ref: ObjectRef): Promise<string> { return reads.projectOf(this.#ctx, ref); }
  listProjects(): Promise<ProjectRecord[]> { return reads.listProjects(this.#ctx); }
  listSubjects(project: string): Promise<SubjectRecord[]> { return reads.listSubjects(this.#ctx, project); }
  listSessions(filter: SessionFilter): Promise<SessionRecord[]> { return reads.listSessions(this.#ctx, filter); }
  listScans(session: string): Promise<ScanRecord[]> { return reads.listScans(this.#ctx, session); }
  listAssessors(session: string): Promise<AssessorRecord[]> { return reads.listAssessors(this.#ctx, session); }
  listResources(parent: ResourceParentRef): Promise<ResourceRecord[]> { return reads.listResources(this.#ctx, parent); }
  listFiles(resource: number): Promise<ArchiveFile[]> { return reads.listFiles(this.#ctx, resource); }

  async openFile(resource: number, path: string): Promise<Readable> {
    const file = await this.get({ kind: 'file', resource, path });
    if (!file) throw notFound(`file ${path}`, path);
    return createReadStream(file.absolutePath);
  }

  /** Its directories are on this machine: bind mounts (path-translated when the site says so), or copies of them. */
  staging(mode: StagingMode = 'bind'): ArchiveStaging {
    return stagingFor(mode);
  }

  // ---- creation (create.ts) --------------------------------------------------------------------------

  createProject(spec: ProjectSpec, actor: Actor): Promise<ProjectRecord> {
    return create.createProject(this.#ctx, spec, actor);
  }

  createSubject(project: string, spec: SubjectSpec, actor: Actor): Promise<SubjectRecord> {
    return create.createSubject(this.#ctx, project, spec, actor);
  }

  createSession(subject: string, spec: SessionSpec, actor: Actor, opts: CreateOptions = {}): Promise<SessionRecord> {
    return create.createSession(this.#ctx, subject, spec, actor, opts);
  }

  createScan(session: string, spec: ScanSpec, actor: Actor, opts: CreateOptions = {}): Promise<ScanRecord> {
    return create.createScan(this.#ctx, session, spec, actor, opts);
  }

  markArchived(ref: Extract<ObjectRef, { kind: 'session' | 'scan' }>, actor: Actor): Promise<void> {
    return create.markArchived(this.#ctx, ref, actor);
  }

  createAssessor(session: string, spec: AssessorSpec, actor: Actor): Promise<AssessorRecord> {
    return create.createAssessor(this.#ctx, session, spec, actor);
  }

  createResource(parent: ResourceParentRef, spec: ResourceSpec, actor: Actor): Promise<ResourceRecord> {
    return create.createResource(this.#ctx, parent, spec, actor);
  }

  createAssessorFromXml(session: string, xml: string, actor: Actor): Promise<AssessorRecord> {
    return create.createAssessorFromXml(this.#ctx, session, xml, actor);
  }

  createScanFromXml(session: string, xml: string, actor: Actor): Promise<ScanRecord> {
    return create.createScanFromXml(this.#ctx, session, xml, actor);
  }

  // ---- update and delete (modify.ts) -----------------------------------------------------------------

  update(ref: ObjectRef, fields: ExtraFields, actor: Actor): Promise<void> {
    return modify.update(this.#ctx, ref, fields, actor);
  }

  delete(ref: ObjectRef, opts: DeleteOptions, actor: Actor): Promise<void> {
    return modify.deleteObject(this.#ctx, ref, opts, actor);
  }

  // ---- files (files.ts), directories and commits (commits.ts) ----------------------------------------

  putFile(resource: number, path: string, body: Readable, opts: PutFileOptions, actor: Actor): Promise<ArchiveFile> {
    return files.putFile(this.#ctx, resource, path, body, opts, actor);
  }

  putZip(resource: number, zipPath: string, opts: PutFileOptions, actor: Actor): Promise<ArchiveFile[]> {
    return files.putZip(this.#ctx, resource, zipPath, opts, actor);
  }

  directoryOf(ref: ObjectRef): Promise<string> {
    return commits.directoryOf(this.#ctx, ref);
  }

  commitResource(parent: ResourceParentRef, spec: ResourceSpec, stagedDir: string, opts: CommitOptions,
    actor: Actor): Promise<CommitResult> {
    return commits.commitResource(this.#ctx, parent, spec, stagedDir, opts, actor);
  }
}
