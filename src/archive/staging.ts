/**
 * How a run's containers get at archive files: a strategy of the archive, so that an archive that is not a local
 * disk can say how its files reach a container engine. Three kinds —
 * - `local-bind`: the archive's directories are on this machine and the engine mounts them as they are;
 * - `path-translated`: the same directories, mounted by the engine under another prefix (its own view of a
 *   shared filesystem; resolution computes that path from the site's path translation);
 * - `copy`: the engine cannot see the archive (say, on a filesystem Swarm workers do not share) but sees the build
 *   directories: each read-only input is copied into a run-owned place of the run's build area before the container
 *   is created, and that copy is mounted (read-only). Outputs need no copying back: they are written to build
 *   directories, and finalization reads them there, on this machine, never through the engine —
 * chosen per site by the setting `archive-staging` (`bind`: the first two, path-translated when the site sets a path
 * translation; `copy`), kept in each run's settings. Writable mounts are always fresh build directories with the
 * input files copied in (a tool never writes into the archive). Every copy is made by `copyMountSource`: links
 * leading outside the source are refused, and the files must fit in the free space.
 */
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { copyMountSource, sourceKind, sourceMissing } from './mount-source.ts';

export type StagingKind = 'local-bind' | 'path-translated' | 'copy';

/** The values of the site setting `archive-staging`. */
export const STAGING_MODES = ['bind', 'copy'] as const;
export type StagingMode = (typeof STAGING_MODES)[number];

/** A place for a copy: on this machine, and the same place as the container engine sees it. */
export interface CopyTarget {
  hostPath: string;
  enginePath: string;
}

export interface ReadOnlyInput {
  /** The mount's name (for errors). */
  name: string;
  /** The object's directory or file as the archive knows it. */
  archivePath: string;
  /** The same, as the container engine sees it, when path translation applies. */
  enginePath: string | null;
  /**
   * A run-owned place in the run's build area (removed with it), for a strategy that copies: emptied first, since an
   * earlier attempt may have stopped half-way. A file is copied into it under its own name.
   */
  copyTo: CopyTarget;
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

/** The archive's strategy for a value of `archive-staging` (`Archive.staging`). */
export type StagingChooser = (mode: StagingMode) => ArchiveStaging;

async function freshBuildDirectory({ name, source, buildPath }: WritableInput): Promise<void> {
  await rm(buildPath, { recursive: true, force: true });
  if (source) await copyMountSource(name, source, buildPath);
  else await mkdir(buildPath, { recursive: true });
}

/** The embedded archive's bind strategy: its directories are on this machine, bind-mounted (path-translated when set). */
export function localStaging(): ArchiveStaging {
  return {
    kind: 'local-bind',
    readOnly: async ({ name, archivePath, enginePath }) => {
      // A File input's source is the file itself (mount-source.ts).
      const kind = archivePath ? await sourceKind(archivePath) : 'missing';
      if (kind !== 'directory' && kind !== 'file') throw sourceMissing(name, archivePath, kind, false);
      return enginePath || archivePath;
    },
    writable: freshBuildDirectory,
  };
}

/** The copy strategy, for any archive whose files this machine reads (copy-in before the container is created). */
export function copyStaging(): ArchiveStaging {
  return {
    kind: 'copy',
    readOnly: async ({ name, archivePath, copyTo }) => {
      const kind = archivePath ? await sourceKind(archivePath) : 'missing';
      if (kind !== 'directory' && kind !== 'file') throw sourceMissing(name, archivePath, kind, false);
      const file = kind === 'file' ? basename(archivePath) : null;
      await rm(copyTo.hostPath, { recursive: true, force: true });
      try {
        await copyMountSource(name, archivePath, file ? join(copyTo.hostPath, file) : copyTo.hostPath, false);
      } catch (e) {
        // Refused or failed (a link out, a full disk): nothing half-copied stays behind.
        await rm(copyTo.hostPath, { recursive: true, force: true });
        throw e;
      }
      return file ? posix.join(copyTo.enginePath, file) : copyTo.enginePath;
    },
    writable: freshBuildDirectory,
  };
}

/** The strategies of an archive on this machine's disks: bind (its directories as they are) or copy. */
export function stagingFor(mode: StagingMode): ArchiveStaging {
  return mode === 'copy' ? copyStaging() : localStaging();
}
