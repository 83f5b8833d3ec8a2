/**
 * What the run engine needs from its neighbours, as small interfaces. Adapters in this folder implement
 * them over the archive (`archive-adapters/`), resolution (`resolution-adapter.ts`) and output finalization
 * (`output-finalizer.ts`), so the engine does not depend on their internals.
 */
import type { RunRecord } from './store/run-store.ts';

/** What a run's callback credentials are confined to. */
export interface RunTokenScope {
  run: string;
  /** Null for a run launched outside any project: its token then reaches no project. */
  project: string | null;
  /** URIs of the archive objects the run was launched on (its root inputs): where it may write. */
  roots: string[];
}

/** Short-lived credentials a container uses to call back (`XNAT_USER`/`XNAT_PASS`), confined to its run. */
export interface CredentialPort {
  issue(login: string, ttlSeconds: number, scope: RunTokenScope): Promise<{ alias: string; secret: string }>;
  invalidate(alias: string): Promise<void>;
}

export interface OutputFailure {
  output: string;
  code: 'output-missing' | 'upload-failed' | 'disk-full';
  message: string;
  required: boolean;
}

export interface FinalizeOutcome {
  status: 'complete' | 'failed';
  /** Output name → URI of the archive object created for it. */
  created: Record<string, string>;
  failures: OutputFailure[];
  /** Output name → earlier versions of the files it replaced (a re-run into an existing resource). */
  replaced?: Record<string, Array<{ path: string; size: number; md5: string }>>;
  /** Things finalization did that the run's history should show (`output: message`). */
  notes?: string[];
}

export interface FinalizeOptions {
  /** Output name → host directory of its wrapup's `/output` (outputs `via-wrapup-command` come from there). */
  wrapupOutputDirs?: Record<string, string>;
  /**
   * `link` (hard links: fast, safe only when the build directories are deleted after finalization and
   * nothing writes to them meanwhile) or `copy` (build directories are kept).
   */
  staging?: 'copy' | 'link';
}

/** Collects a finished run's outputs and commits them to the archive, idempotently per (run, output). */
export interface OutputFinalizerPort {
  finalize(run: RunRecord, options?: FinalizeOptions): Promise<FinalizeOutcome>;
}

/** An archive object as provenance identifies it. */
export interface ObjectIdentity {
  kind: 'project' | 'subject' | 'session' | 'scan' | 'assessor' | 'resource' | 'file';
  /** The Container Service's archive URI (`/archive/experiments/E/resources/NIFTI`). */
  uri: string;
  /** The `/data` URI of the same object (what clients download from). */
  dataUri: string;
  /**
   * The object's place in the archive tree, built from ids that do not change with labels
   * (`/projects/P/subjects/S/experiments/E/scans/1/resources/7/files/a.nii`): an object's key starts with
   * its ancestors' keys, so "inside" and "contains" are prefix tests.
   */
  key: string;
  project: string;
  /** Where its files are on this machine (what a container mounting it sees). */
  directory: string;
}

/** One file as the archive stores it: path relative to the object's directory, size, MD5 taken at upload. */
export interface InventoryFile {
  path: string;
  size: number;
  md5: string;
}

export interface Inventory {
  /** The first `limit` files by path. */
  files: InventoryFile[];
  /** Every file, listed or not. */
  count: number;
  bytes: number;
  /** SHA-256 of `path\0size\0md5\n` for every file in path order: one value that changes when any file does. */
  manifestSha256: string;
  /** False when the object held more files than are read at all (`manifestSha256` then covers only those). */
  complete: boolean;
  /** SHA-256 of an assessor's or scan's stored document, when it has one. */
  documentSha256?: string;
}

/** What provenance reads from the archive: identities and stored checksums, never file contents. */
export interface ObjectInventoryPort {
  /** The object at `uri`, or null when there is none (or the URI is not an archive URI). */
  identify(uri: string): Promise<ObjectIdentity | null>;
  /** The files under the object (all its resources, recursively), as the archive recorded them. */
  inventory(object: ObjectIdentity, limit: number): Promise<Inventory>;
}
