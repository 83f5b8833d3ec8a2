/**
 * What every part of the embedded archive shares: the database, where files live, the limits and the
 * archive itself (parts call its public methods, so the class stays the one entry point), plus the
 * error shapes they all throw.
 */
import type { Kysely, Transaction } from 'kysely';
import { XcsError } from '../../core/errors.ts';
import type { ArchiveDb } from '../db.ts';
import type { ArchiveEvents } from '../events.ts';
import type { Archive } from '../types.ts';
import type { UnpackLimits } from '../unpack-limits.ts';

export type Db = Kysely<ArchiveDb> | Transaction<ArchiveDb>;

export interface ArchiveContext {
  readonly archive: Archive;
  readonly events: ArchiveEvents;
  readonly db: Kysely<ArchiveDb>;
  /** `{dataDir}/archive`: the XNAT-layout tree. */
  readonly root: string;
  readonly staging: string;
  readonly uploads: string;
  readonly maxUpload: number;
  readonly siteId: string;
  readonly unpackLimits: UnpackLimits;
}

export function notFound(what: string, path: string): XcsError {
  return new XcsError('archive.not-found', `${what} not found`, { path });
}

export function conflict(what: string, path: string): XcsError {
  return new XcsError('archive.conflict', `${what} already exists`, { path });
}
