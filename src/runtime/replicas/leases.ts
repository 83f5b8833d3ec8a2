/**
 * Named leases in the run database: work that exactly one replica may do at a time (following an engine's event
 * stream). A lease is held by one owner until it expires; the holder renews it, anyone takes it once it expired
 * (or at once when its owner is known dead). Acquire and renew are one portable upsert, so two replicas asking at
 * the same moment cannot both get it.
 */
import type { RunDatabase } from '../store/db.ts';

export interface LeaseHolder { owner: string; expiresAt: number }

export class LeaseStore {
  private readonly db: RunDatabase;
  private readonly now: () => number;

  constructor(db: RunDatabase, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  /** Takes or renews `name` for `owner` for `ttlMs`; true when `owner` holds it now. */
  acquire(name: string, owner: string, ttlMs: number): boolean {
    const t = this.now();
    const row = this.db.prepare(`INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE leases.owner = excluded.owner OR leases.expires_at < ?
        RETURNING owner`).get(name, owner, t + ttlMs, t) as { owner: string } | undefined;
    return row?.owner === owner;
  }

  /** Gives the lease back (a clean shutdown), so another replica takes it without waiting for the expiry. */
  release(name: string, owner: string): void {
    this.db.prepare('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
  }

  /** Drops every lease of a dead replica; returns how many. */
  releaseOwner(owner: string): number {
    return this.db.prepare('DELETE FROM leases WHERE owner = ?').run(owner).changes;
  }

  holder(name: string): LeaseHolder | undefined {
    const row = this.db.prepare('SELECT owner, expires_at FROM leases WHERE name = ?').get(name) as { owner: string; expires_at: number } | undefined;
    return row ? { owner: row.owner, expiresAt: row.expires_at } : undefined;
  }
}
