/**
 * What every part of the embedded archive shares: the database, where files live, the limits and the
 * archive itself (parts call its public methods, so the class stays the one entry point), plus the
 * error shapes they all throw.
 */
import type { Kysely, Transaction } from 'kysely';
import { XcsError } from '../../core/errors.ts';
import type { ArchiveDb } from '../db.ts';
import { isUniqueViolation } from '../portable-sql.ts';
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

/**
 * Runs `write`, turning a UNIQUE violation into the conflict a check before it would have reported: on PostgreSQL
 * another replica can insert the same label between the check and the insert.
 */
export async function conflictOnDuplicate<R>(what: string, path: string, write: () => Promise<R>): Promise<R> {
  try {
    return await write();
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(what, path);
    throw e;
  }
}
