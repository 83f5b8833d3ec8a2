/**
 * Finds the files of one output on disk: `path` under the source directory, narrowed by `glob`.
 *
 * Safety rules (the container wrote these files; nothing it wrote may pull a host file into the archive):
 * - `path` must be relative and free of `..`; after resolving links it must still be inside the source.
 * - A symbolic link to a regular file inside the source is uploaded as that file's content under the
 *   link's name. A link to a directory is not followed (no loops, no duplicated trees). A link that
 *   resolves outside the source, or nowhere, is skipped. Skips are reported as warnings.
 * - FIFOs, sockets and devices are skipped with a warning (reading a FIFO could block forever).
 *
 * Selection: without a glob, a file path is that file and a directory path is everything under it,
 * sub-directories kept (XNAT uploads the directory's children, recursively since XNAT-5785). With a
 * glob, files whose path relative to `path` matches it (picomatch, dot files included; `*` stays in
 * one directory, `**` crosses them); a matching directory brings its whole tree.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { XcsError } from '../../core/errors.ts';
import type { FinalizeWarning } from './types.ts';

export interface CollectedFile {
  /** Path inside the created resource, `/`-separated. */
  rel: string;
  /** The real file to read (links already resolved and checked). */
  source: string;
  size: number;
}

export interface Collected {
  files: CollectedFile[];
  bytes: number;
  warnings: FinalizeWarning[];
}

export interface CollectRequest {
  output: string;
  /** The mount's (or wrapup's) host directory. */
  sourceDir: string;
  path?: string | null;
  glob?: string | null;
}

/** Splits a relative output path into segments, refusing absolute paths and `..`. */
export function safeSegments(output: string, path: string | null | undefined): string[] {
  const p = (path ?? '').trim();
  if (p === '') return [];
  if (isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\')) {
    throw new XcsError('unsafe-path', `Output "${output}" has an absolute path "${p}"; it must be relative to its mount.`, {
      path: p,
      hint: 'Write the output path relative to the mount, e.g. "results" rather than "/output/results".',
    });
  }
  const segments = p.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new XcsError('unsafe-path', `Output "${output}" has a path "${p}" that climbs out of its mount with "..".`, {
      path: p,
      hint: 'Output paths must stay inside the mount.',
    });
  }
  return segments;
}

function inside(root: string, candidate: string): boolean {
  const r = relative(root, candidate);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

function describe(req: CollectRequest): string {
  const path = req.path?.trim() ? `path "${req.path.trim()}"` : 'the mount root';
  return req.glob?.trim() ? `${path} with glob "${req.glob.trim()}"` : path;
}

function missing(req: CollectRequest, why: string): XcsError {
  return new XcsError('output-missing', `Output "${req.output}" is missing: ${why} (${describe(req)}).`, {
    path: req.path ?? '',
    hint: 'Check that the command writes its result where the output\'s mount, path and glob say.',
  });
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

export async function collectOutput(req: CollectRequest): Promise<Collected> {
  const segments = safeSegments(req.output, req.path);
  const glob = req.glob?.trim() ? req.glob.trim() : undefined;
  const matches = glob ? picomatch(glob, { dot: true }) : () => true;

  let root: string;
  try {
    root = await realpath(req.sourceDir);
  } catch (e) {
    throw missing(req, `its directory ${req.sourceDir} does not exist (${errno(e) ?? 'unreadable'})`);
  }

  let target: string;
  try {
    target = await realpath(join(root, ...segments));
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw missing(req, 'nothing exists at its path');
    throw new XcsError('unsafe-path', `Output "${req.output}": its path cannot be resolved (${errno(e)}).`, {
      path: req.path ?? '',
      hint: 'The path may be a link loop.',
    });
  }
  if (!inside(root, target)) {
    throw new XcsError('unsafe-path', `Output "${req.output}": its path "${req.path}" leads outside its mount through a link.`, {
      path: req.path ?? '',
      hint: 'Outputs may not link to files outside the output directory; copy the files in instead.',
    });
  }

  const warnings: FinalizeWarning[] = [];
  const files: CollectedFile[] = [];
  const top = await stat(target);
  if (top.isFile()) {
    const name = segments.length > 0 ? segments[segments.length - 1] : basename(target);
    if (!matches(name)) throw missing(req, `the file does not match the glob`);
    files.push({ rel: name, source: target, size: top.size });
  } else if (top.isDirectory()) {
    await walk(target, '', !glob);
  } else {
    throw missing(req, 'its path is neither a file nor a directory');
  }

  if (files.length === 0 && glob) throw missing(req, 'the glob matched no file');
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, bytes: files.reduce((n, f) => n + f.size, 0), warnings };

  async function walk(dir: string, prefix: string, selectAll: boolean): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    // Sizes of a directory's files are read concurrently: one at a time, 5,000 files take a quarter second.
    const sizes = new Map<string, Promise<number>>();
    for (const entry of entries) {
      if (entry.isFile() && (selectAll || matches(prefix + entry.name))) {
        const size = lstat(join(dir, entry.name)).then((st) => st.size);
        size.catch(() => undefined); // awaited below, in order; this only keeps an early failure from going unhandled
        sizes.set(entry.name, size);
      }
    }
    for (const entry of entries) {
      const rel = prefix + entry.name;
      const abs = join(dir, entry.name);
      const selected = selectAll || matches(rel);
      if (entry.isFile()) {
        const size = sizes.get(entry.name);
        if (size) files.push({ rel, source: abs, size: await size });
      } else if (entry.isDirectory()) {
        await walk(abs, `${rel}/`, selected);
      } else if (entry.isSymbolicLink()) {
        if (selected) await link(abs, rel);
      } else if (selected) {
        warnings.push({
          output: req.output,
          code: 'special-file-skipped',
          path: rel,
          message: `Output "${req.output}": "${rel}" is not a regular file (FIFO, socket or device); it was not uploaded.`,
        });
      }
    }
  }

  async function link(abs: string, rel: string): Promise<void> {
    const skip = (why: string): void => {
      warnings.push({ output: req.output, code: 'link-skipped', path: rel, message: `Output "${req.output}": link "${rel}" ${why}; it was not uploaded.` });
    };
    let real: string;
    try {
      real = await realpath(abs);
    } catch {
      return skip('points nowhere');
    }
    if (!inside(root, real)) return skip('points outside the output directory');
    const s = await stat(real);
    if (s.isFile()) files.push({ rel, source: real, size: s.size });
    else skip(s.isDirectory() ? 'points to a directory (links to directories are not followed)' : 'points to a special file');
  }
}
