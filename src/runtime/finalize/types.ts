/**
 * The shapes finalization reads and returns. Outputs and mounts are the structural subset of XNAT's
 * ResolvedCommand JSON (kebab-case) that finalization needs, so that the resolver's full types fit them.
 */

export type OutputKind = 'Resource' | 'Assessor' | 'Scan';

/** One entry of a resolved command's `outputs[]` (a command output paired with one handler). */
export interface ResolvedOutput {
  /** `<command output>:<handler>`. */
  name: string;
  'from-command-output'?: string | null;
  /** The handler's name; chained handlers refer to it in `handled-by`. */
  'from-output-handler'?: string | null;
  /** Anything but Assessor or Scan is a Resource, as in XNAT. */
  type?: string | null;
  'xsi-type'?: string | null;
  required?: boolean | null;
  /** Name of the command mount holding the files. */
  mount: string;
  /** Relative to the mount; blank = the mount itself. */
  path?: string | null;
  /** Selects files under `path` (picomatch, dot files included). XNAT ignores it; we honour it. */
  glob?: string | null;
  label?: string | null;
  format?: string | null;
  description?: string | null;
  content?: string | null;
  tags?: string[] | null;
  /** `as-a-child-of`: a wrapper input name or another handler's name. */
  'handled-by': string;
  'via-wrapup-command'?: string | null;
}

/** One entry of a resolved command's `mounts[]`. */
export interface ResolvedMount {
  name: string;
  writable?: boolean | null;
  'container-path'?: string | null;
  /** Where the files are on the machine running XCS. */
  'xnat-host-path': string;
  'container-host-path'?: string | null;
}

/** Resource metadata as the output handler gives it (label already defaulted). */
export interface ResourceMeta {
  label: string;
  format?: string;
  content?: string;
  description?: string;
  tags?: string[];
}

export interface CommitKey {
  /** `${runId}:${outputName}`: the same key never creates a second object. */
  idempotencyKey: string;
  /** Login of the user the run belongs to; recorded as the creator. */
  user: string;
}

/** A staged file as read back after staging: the archive takes these instead of reading it again. */
export interface StagedFile {
  /** Path inside the resource, `/`-separated. */
  path: string;
  size: number;
  /** Lower-case hex MD5 of the staged content. */
  md5: string;
}

export interface Committed {
  /** Archive URI of the created (or previously created) object. */
  uri: string;
  /** False when this key had already been committed (a retry after a crash). */
  created: boolean;
  /** Files of an earlier run this commit replaced in an existing resource, as they were stored. */
  replaced?: StagedFile[];
  /** What the sink did not take as written (e.g. a document type it stored under the element's name). */
  warnings?: string[];
}

/**
 * Where finalized outputs go. The embedded archive is one (see `archive-sink.ts`); a plain directory
 * tree is another (`directory-sink.ts`, for tests and offline runs). Every commit must be atomic (the
 * object appears whole or not at all) and idempotent by key.
 */
export interface OutputSink {
  /** A directory on the sink's filesystem where finalization may create per-run staging trees. */
  stagingRoot(): string;
  /** Whether `user` may add objects to the object at `parentUri` (XNAT's "edit" permission). */
  canEdit(user: string, parentUri: string): Promise<boolean>;
  /**
   * Whether `commitResource` uses per-file MD5s: if so, finalization computes them while staging (the
   * files are in the page cache then) and passes them as `staged`.
   */
  readonly digests?: boolean;
  /** Moves the staged tree into a new resource under `parentUri`. */
  commitResource(parentUri: string, meta: ResourceMeta, stagedDir: string, key: CommitKey,
    staged?: readonly StagedFile[]): Promise<Committed>;
  /** Creates an assessor or scan under the session at `parentUri` from its XNAT XML document. */
  createItem(parentUri: string, kind: 'Assessor' | 'Scan', xml: string, key: CommitKey): Promise<Committed>;
}

export type FailureCode =
  | 'output-missing' // path absent, or the glob matched nothing
  | 'unsafe-path' // absolute or `..` path, or a path leading outside the mount
  | 'mount-missing' // the output names a mount the resolved command does not have
  | 'wrapup-missing' // `via-wrapup-command` but no wrapup output directory was given
  | 'parent-missing' // `handled-by` names neither an input with a value nor a created output
  | 'handler-cycle' // `handled-by` chains loop
  | 'bad-document' // Assessor/Scan without exactly one XML file
  | 'bad-name' // a resource label or file name the archive cannot store
  | 'permission-denied'
  | 'disk-full'
  | 'upload-failed';

export interface FinalizeFailure {
  output: string;
  code: FailureCode;
  message: string;
  hint: string;
  /** A required output's failure fails the run; an optional one is only recorded. */
  required: boolean;
}

export interface FinalizeWarning {
  output: string;
  code: 'link-skipped' | 'special-file-skipped' | 'files-replaced' | 'document-type';
  message: string;
  /** Path relative to the output's directory. */
  path: string;
}

export interface CreatedOutput {
  output: string;
  uri: string;
  kind: OutputKind;
  files: number;
  bytes: number;
  /** False when a previous finalization of the same run had already committed it. */
  created: boolean;
  /** Earlier versions of files this output replaced (a re-run into the same resource). */
  replaced?: StagedFile[];
}

export interface FinalizeResult {
  status: 'complete' | 'failed';
  created: CreatedOutput[];
  failures: FinalizeFailure[];
  warnings: FinalizeWarning[];
  /** XNAT's history detail: blank when complete, else `Failed to upload required outputs.` + causes. */
  message: string;
}

export type CopyFn = (src: string, dest: string) => Promise<void>;

export interface FinalizeArgs {
  runId: string;
  outputs: ResolvedOutput[];
  mounts: ResolvedMount[];
  /** Wrapper input name → value (archive URIs for object inputs). */
  inputValues: Record<string, string>;
  user: string;
  sink: OutputSink;
  /** Output name → host directory of its wrapup container's `output` mount. */
  wrapupOutputDirs?: Record<string, string>;
  /**
   * How staged files are made: `copy` (default; a reflink where the filesystem can, else a copy — the
   * archive never shares an inode with the build directory) or `link` (hard links, copy across devices).
   */
  staging?: 'copy' | 'link';
  /** Replaces the file copy; for tests of faults the real filesystem cannot produce on demand. */
  copyFile?: CopyFn;
}
