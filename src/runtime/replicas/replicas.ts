/**
 * Replicas: several `xcs serve` processes on one data directory and one database behave as one service. Each
 * process is a replica with its own id (the owner of its job leases and named leases) and a row in `replicas`
 * whose heartbeat it renews. A replica is dead when its heartbeat is older than the lease — or at once when it ran
 * in this process's PID namespace and its process is gone (a SIGKILLed or crashed neighbour on the same machine,
 * or this process's own previous incarnation). The containers' `org.xcs.instance` label stays the data
 * directory's: the replicas share it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RunDatabase } from '../store/db.ts';

export interface ReplicaIdentity {
  id: string;
  host: string;
  pid: number;
  /**
   * The kernel boot and PID namespace the process runs in: two rows with the same value have comparable process
   * ids. Null where it cannot be known (not Linux): only the heartbeat then tells a replica dead.
   */
  pidNamespace: string | null;
}

export interface ReplicaRow {
  id: string;
  host: string;
  pid: number;
  pidNamespace: string | null;
  startedAt: number;
  heartbeatAt: number;
}

interface Row { id: string; host: string; pid: number; pid_namespace: string | null; started_at: number; heartbeat_at: number }

function pidNamespace(): string | null {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return null;
  }
}

/** This process's identity: a fresh id per start (a restarted process is a new replica). */
export function thisReplica(): ReplicaIdentity {
  return { id: `${process.pid}-${randomBytes(6).toString('hex')}`, host: hostname(), pid: process.pid, pidNamespace: pidNamespace() };
}

/** Whether a process with this id exists in our PID namespace (EPERM: it exists, owned by someone else). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ReplicaRegistry {
  readonly self: ReplicaIdentity;
  private readonly db: RunDatabase;
  private readonly now: () => number;

  constructor(db: RunDatabase, self: ReplicaIdentity, now: () => number = Date.now) {
    this.db = db;
    this.self = self;
    this.now = now;
  }

  /**
   * Records (or renews) this replica's heartbeat. The row is inserted again when another replica removed it
   * (this process stalled longer than the lease and was taken for dead: its leases are gone, its workers notice).
   */
  heartbeat(): void {
    const t = this.now();
    this.db.prepare(`INSERT INTO replicas (id, host, pid, pid_namespace, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`)
      .run(this.self.id, this.self.host, this.self.pid, this.self.pidNamespace, t, t);
  }

  /** Removes this replica's row at a clean shutdown (its leases were given back by then). */
  leave(): void {
    this.db.prepare('DELETE FROM replicas WHERE id = ?').run(this.self.id);
  }

  list(): ReplicaRow[] {
    return (this.db.prepare('SELECT * FROM replicas ORDER BY started_at, id').all() as Row[]).map((r) => ({
      id: r.id, host: r.host, pid: r.pid, pidNamespace: r.pid_namespace, startedAt: r.started_at, heartbeatAt: r.heartbeat_at,
    }));
  }

  /** The other replicas that are dead: silent for longer than `leaseMs`, or gone from our PID namespace. */
  dead(leaseMs: number): string[] {
    const t = this.now();
    return this.list().filter((r) => r.id !== this.self.id && (r.heartbeatAt < t - leaseMs || this.goneHere(r))).map((r) => r.id);
  }

  /** Forgets dead replicas; returns those this call removed (another replica may have been quicker). */
  forget(ids: readonly string[]): string[] {
    const statement = this.db.prepare('DELETE FROM replicas WHERE id = ?');
    return ids.filter((id) => statement.run(id).changes === 1);
  }

  private goneHere(r: ReplicaRow): boolean {
    if (this.self.pidNamespace === null || r.pidNamespace !== this.self.pidNamespace) return false;
    // Our own process id under another replica id: our previous incarnation (a container's XCS is often pid 1).
    if (r.pid === this.self.pid) return true;
    return !processExists(r.pid);
  }
}
