/**
 * Parsing of XNAT archive paths: `/data/...`, `/REST/...`, `/data/archive/...`, `/archive/...` or bare
 * `/projects/P/...`, `/experiments/E/...`. Pure syntax; resolving names to objects is the archive's job.
 */
import { XcsError } from '../core/errors.ts';
import type { ArchiveCollection } from './types.ts';

export interface PathStep {
  collection: ArchiveCollection;
  /** ID or label as written in the URL (decoded). For `files`, the whole remaining path. */
  id: string;
}

export interface ParsedPath {
  steps: PathStep[];
  /** Set when the path ends with a collection name (a listing), e.g. `.../scans`. */
  collection?: ArchiveCollection;
}

const COLLECTIONS = new Set<string>(['projects', 'subjects', 'experiments', 'scans', 'assessors', 'resources', 'files']);
/** Which collections may follow which; the first step may be projects, subjects or experiments. */
const NEXT: Record<ArchiveCollection, ArchiveCollection[]> = {
  projects: ['subjects', 'experiments', 'resources'],
  subjects: ['experiments', 'resources'],
  experiments: ['scans', 'assessors', 'resources'],
  assessors: ['resources'],
  scans: ['resources'],
  resources: ['files'],
  files: [],
};
const FIRST: ArchiveCollection[] = ['projects', 'subjects', 'experiments'];

/** Removes `/data`, `/REST`, `/data/archive`, `/archive` prefixes and any query string. */
export function stripPrefix(uri: string): string {
  const p = uri.split('?')[0];
  for (const prefix of ['/data/archive/', '/REST/archive/', '/data/', '/REST/', '/archive/']) {
    if (p.startsWith(prefix)) return '/' + p.slice(prefix.length);
  }
  return p;
}

function decode(seg: string, uri: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new XcsError('archive.uri.bad-escape', `bad percent-escape in "${seg}"`, { path: uri });
  }
}

export function parseArchivePath(uri: string): ParsedPath {
  const raw = stripPrefix(uri).split('/').filter((s) => s !== '');
  const steps: PathStep[] = [];
  let allowed = FIRST;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (!COLLECTIONS.has(name) || !allowed.includes(name as ArchiveCollection)) {
      throw new XcsError('archive.uri.unknown', `"${name}" is not expected here in ${uri}`, {
        path: uri, hint: allowed.length ? `expected one of: ${allowed.join(', ')}` : undefined,
      });
    }
    const collection = name as ArchiveCollection;
    if (i + 1 >= raw.length) return { steps, collection };
    if (collection === 'files') {
      steps.push({ collection, id: raw.slice(i + 1).map((s) => decode(s, uri)).join('/') });
      return { steps };
    }
    steps.push({ collection, id: decode(raw[i + 1], uri) });
    allowed = NEXT[collection];
  }
  return { steps };
}
