/**
 * What the run engine needs from its neighbours, as small interfaces. Adapters in this folder implement
 * them over the archive (`archive-ports.ts`), resolution (`resolution-adapter.ts`) and output finalization
 * (`output-finalizer.ts`), so the engine does not depend on their internals.
 */
import type { RunRecord } from './run-store.ts';

/** Short-lived credentials a container uses to call back (`XNAT_USER`/`XNAT_PASS`). */
export interface CredentialPort {
  issue(login: string, ttlSeconds: number): Promise<{ alias: string; secret: string }>;
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
