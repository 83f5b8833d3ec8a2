/**
 * How a run's containers get at archive files: a strategy of the archive, so that an archive that is not a local
 * disk can say how its files reach a container engine. Three kinds are foreseen —
 * - `local-bind`: the archive's directories are on this machine and the engine mounts them as they are;
 * - `path-translated`: the same directories, mounted by the engine under another prefix (its own view of a
 *   shared filesystem; resolution computes that path from the site's path translation);
 * - `copy`: the files are copied into build directories before the container starts and outputs copied back
 *   (an archive the engine cannot see) —
 * of which the embedded archive implements the first two (`localStaging`). Writable mounts are always fresh build
 * directories with the input files copied in (a tool never writes into the archive).
 */
import { mkdir, rm } from 'node:fs/promises';
import { copyMountSource, sourceKind, sourceMissing } from './mount-source.ts';

export type StagingKind = 'local-bind' | 'path-translated' | 'copy';

export interface ReadOnlyInput {
  /** The mount's name (for errors). */
  name: string;
  /** The object's directory or file as the archive knows it. */
  archivePath: string;
  /** The same, as the container engine sees it, when path translation applies. */
  enginePath: string | null;
}

export interface WritableInput {
  name: string;
  /** The archive directory or file whose contents the tool starts with; none for an empty output directory. */
  source: string | null;
  /** The fresh build directory the container gets (emptied first: a previous attempt may have stopped half-way). */
  buildPath: string;
}

export interface ArchiveStaging {
  readonly kind: StagingKind;
  /** Makes a read-only input available to the engine; the path the engine mounts. Refuses a source that is gone. */
  readOnly(input: ReadOnlyInput): Promise<string>;
  /** Fills a writable mount's build directory from its source (copy-in). */
  writable(input: WritableInput): Promise<void>;
}

/** The embedded archive's strategy: its directories are on this machine, bind-mounted (path-translated when set). */
export function localStaging(): ArchiveStaging {
  return {
    kind: 'local-bind',
    readOnly: async ({ name, archivePath, enginePath }) => {
      // A File input's source is the file itself (mount-source.ts).
      const kind = archivePath ? await sourceKind(archivePath) : 'missing';
      if (kind !== 'directory' && kind !== 'file') throw sourceMissing(name, archivePath, kind, false);
      return enginePath || archivePath;
    },
    writable: async ({ name, source, buildPath }) => {
      await rm(buildPath, { recursive: true, force: true });
      if (source) await copyMountSource(name, source, buildPath);
      else await mkdir(buildPath, { recursive: true });
    },
  };
}
