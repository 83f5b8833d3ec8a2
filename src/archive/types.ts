/**
 * The archive as the rest of XCS sees it: projects, subjects, image sessions, scans, assessors and
 * resources with files, addressed by typed references. Every method is async so that a remote XNAT
 * server can implement this interface later; the embedded implementation (SQLite + files in XNAT's
 * on-disk layout) lives in `embedded/` and is opened with `openEmbeddedArchive(dataDir)`.
 *
 * Semantics shared by every implementation:
 * - Identity. Projects are identified by their ID (which doubles as label). Subjects and experiments
 *   (sessions and assessors) by their site-wide accession ID (`XNAT_S00001`, `XNAT_E00001`); their labels
 *   are unique within the project. Scans by the caller's scan ID, unique within the session. Resources by
 *   a site-wide integer id; their label is unique within the parent. Files by their path inside the resource.
 * - Failures are `XcsError`s with stable codes (http maps them to statuses): missing objects, duplicate labels or
 *   existing files without `overwrite`, bad input (unknown xsi types, unsafe file names).
 * - Files are written to a temporary path inside the data directory, then renamed into place; a failed
 *   write leaves neither a file nor a row behind.
 * - `commitResource` is atomic and idempotent: files of a staged directory (which must be under
 *   `stagingDir()`, i.e. on the same filesystem) are renamed into the resource directory and the rows are
 *   written in one transaction; a second call with the same `idempotencyKey` (e.g. after a crash midway)
 *   finishes or returns the first call's result without duplicating anything.
 * - Events are emitted after the transaction that created the object committed.
 */
import type { Readable } from 'node:stream';
import type { ArchiveStaging, StagingMode } from './staging.ts';
import type { ArchiveEvents } from './events.ts';

/** A reference to one object of the archive. Accession IDs are site-unique, so they suffice. */
export type ObjectRef =
  | { kind: 'project'; project: string }
  | { kind: 'subject'; subject: string }
  | { kind: 'session'; session: string }
  | { kind: 'scan'; session: string; scan: string }
  | { kind: 'assessor'; assessor: string }
  | { kind: 'resource'; resource: number }
  | { kind: 'file'; resource: number; path: string };

export type ObjectKind = ObjectRef['kind'];
/** The collection names of XNAT URLs (`/projects/P/subjects/S/experiments/E/scans/1/resources/R/files/x`). */
export type ArchiveCollection = 'projects' | 'subjects' | 'experiments' | 'scans' | 'assessors' | 'resources' | 'files';
/** Objects that can own resources. */
export type ResourceParentRef = Exclude<ObjectRef, { kind: 'resource' } | { kind: 'file' }>;

/** Free-form fields set through `xsiType/field=value` that have no dedicated column. */
export type ExtraFields = Record<string, string>;

interface RecordBase {
  /** The `/data/...` URI in XNAT's short form (e.g. `/data/experiments/XNAT_E00001/scans/1`). */
  uri: string;
  /** The archive URI the Container Service uses (`/archive/experiments/XNAT_E00001/scans/1`). */
  archiveUri: string;
  /** ISO-like `YYYY-MM-DD HH:MM:SS.0`, as XNAT lists it. */
  insertDate: string;
  insertUser: string;
  fields: ExtraFields;
}

export interface ProjectRecord extends RecordBase {
  kind: 'project';
  id: string;
  name: string;
  secondaryId: string;
  description: string;
  piFirstname: string;
  piLastname: string;
  keywords: string;
  /** `private` (default), `protected` or `public`. */
  accessibility: string;
}

export interface SubjectRecord extends RecordBase {
  kind: 'subject';
  id: string;
  label: string;
  project: string;
  group: string;
  src: string;
}

export interface SessionRecord extends RecordBase {
  kind: 'session';
  id: string;
  label: string;
  project: string;
  subjectId: string;
  subjectLabel: string;
  xsiType: string;
  date: string;
  modality: string;
  uid: string;
  visitId: string;
}

export interface ScanRecord extends RecordBase {
  kind: 'scan';
  /** The caller's scan ID (usually the series number). */
  id: string;
  /** XNAT's internal `xnat_imagescandata_id`. */
  internalId: number;
  sessionId: string;
  project: string;
  xsiType: string;
  type: string;
  seriesDescription: string;
  quality: string;
  frames: string;
  note: string;
  modality: string;
  uid: string;
}

/** The XML or JSON document an assessor was created from, kept verbatim. */
export interface AssessorDocument {
  format: 'xml' | 'json';
  text: string;
}

export interface AssessorRecord extends RecordBase {
  kind: 'assessor';
  id: string;
  label: string;
  project: string;
  sessionId: string;
  subjectId: string;
  xsiType: string;
  date: string;
  document?: AssessorDocument;
}

export interface ResourceRecord extends RecordBase {
  kind: 'resource';
  /** `xnat_abstractresource_id`. */
  id: number;
  label: string;
  parent: ResourceParentRef;
  project: string;
  format: string;
  content: string;
  description: string;
  tags: string[];
  fileCount: number;
  fileSize: number;
}

export interface ArchiveFile {
  kind: 'file';
  resourceId: number;
  /** Path relative to the resource directory; may contain `/`. */
  name: string;
  size: number;
  /** MD5 hex digest, as XNAT shows it. */
  checksum: string;
  format: string;
  content: string;
  tags: string[];
  uri: string;
  /** Absolute path on this machine. */
  absolutePath: string;
  modified: Date;
}

export type ArchiveRecord =
  | ProjectRecord | SubjectRecord | SessionRecord | ScanRecord | AssessorRecord | ResourceRecord | ArchiveFile;

/** Maps a reference kind to the record it resolves to. */
export interface RecordOf {
  project: ProjectRecord;
  subject: SubjectRecord;
  session: SessionRecord;
  scan: ScanRecord;
  assessor: AssessorRecord;
  resource: ResourceRecord;
  file: ArchiveFile;
}

export interface ProjectSpec {
  id: string;
  name?: string;
  fields?: ExtraFields;
}
export interface SubjectSpec {
  label: string;
  fields?: ExtraFields;
}
export interface SessionSpec {
  label: string;
  /** Defaults to `xnat:mrSessionData`; must be a known image-session (or subject-assessor) type. */
  xsiType?: string;
  fields?: ExtraFields;
}
export interface ScanSpec {
  id: string;
  /** Defaults to `xnat:mrScanData`; must be a known scan type. */
  xsiType?: string;
  fields?: ExtraFields;
}
export interface AssessorSpec {
  /** The ID to give it (a document's own, see `item-documents.ts`); a new accession number when absent. */
  id?: string;
  label: string;
  /** Any `ns:name`. */
  xsiType: string;
  fields?: ExtraFields;
  document?: AssessorDocument;
}
export interface ResourceSpec {
  label: string;
  format?: string;
  content?: string;
  description?: string;
  tags?: string[];
}

/** Metadata stored per file (catalog entry attributes). */
export interface FileMeta {
  format?: string;
  content?: string;
  tags?: string[];
}

export interface PutFileOptions extends FileMeta {
  overwrite?: boolean;
  /** Refuse bodies larger than this many bytes (413). */
  maxBytes?: number;
}

export interface CommitOptions {
  /** The same key always yields the same resource, whatever happened to earlier attempts. */
  idempotencyKey: string;
  /** Replace files that already exist in the resource (otherwise 409). */
  overwrite?: boolean;
  /**
   * Size and MD5 of staged files, computed by the caller while staging, so that the archive need not
   * read them again. Staged files missing here are read and hashed; entries without a staged file are
   * ignored.
   */
  files?: ReadonlyArray<{ path: string; size: number; md5: string }>;
}

export interface CommitResult {
  uri: string;
  resource: number;
  /** False when this key was already committed. */
  created: boolean;
  /** Earlier versions of the files this commit replaced (with `overwrite`), as they were stored. */
  replaced?: Array<{ path: string; size: number; md5: string }>;
}

export interface SessionFilter {
  project?: string;
  subject?: string;
  /** Matches this type and every type derived from it (`isA`). */
  xsiType?: string;
}

/** Who is acting; recorded as `insert_user` and passed along in events. */
export type Actor = string;

export interface CreateOptions {
  /**
   * Whether the object counts as archived once its row exists (default true: `*.archived` is emitted right
   * after `*.created`). Writers that add the data afterwards pass false and call `markArchived` when done,
   * so that automation never sees an empty session or scan.
   */
  archived?: boolean;
}

export interface DeleteOptions {
  /** Also delete the files on disk (XNAT's `removeFiles=true`); default true in the embedded archive. */
  removeFiles?: boolean;
}

export interface Archive {
  readonly events: ArchiveEvents;

  /** The record a reference points to, or undefined when it does not exist. */
  get<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K] | undefined>;
  /** Like `get`, but a missing object is an `XcsError` with status 404. */
  require<K extends ObjectKind>(ref: Extract<ObjectRef, { kind: K }>): Promise<RecordOf[K]>;
  /**
   * Finds a child of `parent` by ID or label, as XNAT URLs allow (`null` parent = site level:
   * projects by ID, subjects and experiments by accession ID).
   */
  findChild(parent: ObjectRef | null, collection: ArchiveCollection, idOrLabel: string): Promise<ObjectRef | undefined>;
  /** Resolves an XNAT URI (`/archive/...`, `/data/...`, `/REST/...` or bare `/experiments/E...`). */
  resolveUri(uri: string): Promise<ObjectRef>;
  /** The project an object belongs to (for permission checks). */
  projectOf(ref: ObjectRef): Promise<string>;

  listProjects(): Promise<ProjectRecord[]>;
  listSubjects(project: string): Promise<SubjectRecord[]>;
  listSessions(filter: SessionFilter): Promise<SessionRecord[]>;
  listScans(session: string): Promise<ScanRecord[]>;
  listAssessors(session: string): Promise<AssessorRecord[]>;
  listResources(parent: ResourceParentRef): Promise<ResourceRecord[]>;
  listFiles(resource: number): Promise<ArchiveFile[]>;

  createProject(spec: ProjectSpec, actor: Actor): Promise<ProjectRecord>;
  createSubject(project: string, spec: SubjectSpec, actor: Actor): Promise<SubjectRecord>;
  createSession(subject: string, spec: SessionSpec, actor: Actor, opts?: CreateOptions): Promise<SessionRecord>;
  createScan(session: string, spec: ScanSpec, actor: Actor, opts?: CreateOptions): Promise<ScanRecord>;
  /**
   * Emits `session.archived` / `scan.archived` for an object created with `{archived: false}`, once its data
   * is in place (the DICOM importer calls it after committing a session's files).
   */
  markArchived(ref: Extract<ObjectRef, { kind: 'session' | 'scan' }>, actor: Actor): Promise<void>;
  createAssessor(session: string, spec: AssessorSpec, actor: Actor): Promise<AssessorRecord>;
  createResource(parent: ResourceParentRef, spec: ResourceSpec, actor: Actor): Promise<ResourceRecord>;
  /** Sets fields (`label`, `date`, `type`, … or any extra field); unknown columns go to `fields`. */
  update(ref: ObjectRef, fields: ExtraFields, actor: Actor): Promise<void>;
  delete(ref: ObjectRef, opts: DeleteOptions, actor: Actor): Promise<void>;

  /** Streams `body` into the resource as `path` (temporary file, MD5 while streaming, rename). */
  putFile(resource: number, path: string, body: Readable, opts: PutFileOptions, actor: Actor): Promise<ArchiveFile>;
  /** Extracts a zip file (a path on this machine) into the resource; all entries or none. */
  putZip(resource: number, zipPath: string, opts: PutFileOptions, actor: Actor): Promise<ArchiveFile[]>;

  /** A file's contents as a stream (no local path needed; 404 when the resource has no such file). */
  openFile(resource: number, path: string): Promise<Readable>;
  /** How this archive's files reach containers under the site's `archive-staging` (bind mounts of its directories, or copies). */
  staging(mode?: StagingMode): ArchiveStaging;
  /** The directory on disk of an object (what containers get mounted). */
  directoryOf(ref: ObjectRef): Promise<string>;
  /** Where callers stage files for `commitResource` (same filesystem as the archive). */
  stagingDir(): string;
  commitResource(parent: ResourceParentRef, spec: ResourceSpec, stagedDir: string, opts: CommitOptions,
    actor: Actor): Promise<CommitResult>;
  /** Creates an assessor from an XNAT XML document (root element: xsi type, ID, label). */
  createAssessorFromXml(session: string, xml: string, actor: Actor): Promise<AssessorRecord>;
  /** Creates a scan from an XNAT XML document (root element: xsi type, ID, type, …). */
  createScanFromXml(session: string, xml: string, actor: Actor): Promise<ScanRecord>;

  close(): Promise<void>;
}
