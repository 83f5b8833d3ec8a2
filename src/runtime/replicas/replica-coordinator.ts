/**
 * What each replica does so that several behave as one service (ARCHITECTURE.md, "Replicas"). Every
 * `leaseMs / 3` it renews its heartbeat, finds the replicas that died (`replicas.ts`) and gives their job leases
 * and named leases back at once, returns expired job leases, and takes or renews the engine's events lease: the
 * replica holding it is the one that follows the engine's event stream, reconciles and watches time limits
 * (`onLead`); a replica that loses it stops (`onFollow`); and it looks for jobs other replicas queued (`onBeat`).
 * A replica that dies is replaced within one lease (within one beat when it ran on the same machine).
 */
import type { RunDatabase } from '../store/db.ts';
import { describe } from '../store/failures.ts';
import { LeaseStore } from './leases.ts';
import { ReplicaRegistry, type ReplicaIdentity } from './replicas.ts';
import type { EngineResources } from '../resources.ts';

export interface LeadershipHooks {
  /** This replica now holds the events lease: follow the engine's events, catch up on what was missed. */
  onLead(): Promise<void>;
  /** It lost the lease (another replica took it, this one stalled past it): stop following. */
  onFollow(): Promise<void>;
  /**
   * Every beat: look for claimable jobs. Workers wake at once on what this process enqueues or ends; jobs another
   * replica enqueued (a run it launched, an exit the events holder saw) are found here, within a beat.
   */
  onBeat(): void;
  /**
   * Another replica was found dead while this one holds the events lease: reconcile now (what the dead one left
   * between a run's end and its clean-up would otherwise wait for the periodic pass).
   */
  onPeerLost(): void;
}

/** The lease whose holder follows the engine's events of the installation `instanceId`. */
export function eventsLeaseName(instanceId: string): string {
  return `events:${instanceId}`;
}

export class ReplicaCoordinator {
  readonly registry: ReplicaRegistry;
  readonly leases: LeaseStore;
  private readonly res: EngineResources;
  private readonly hooks: LeadershipHooks;
  private readonly leaseName: string;
  private timer: NodeJS.Timeout | null = null;
  private leadingNow = false;
  /** Lead/follow hooks run one after the other, in the order the lease changed. */
  private changes: Promise<void> = Promise.resolve();

  constructor(res: EngineResources, db: RunDatabase, self: ReplicaIdentity, hooks: LeadershipHooks) {
    this.res = res;
    this.hooks = hooks;
    this.registry = new ReplicaRegistry(db, self);
    this.leases = new LeaseStore(db);
    this.leaseName = eventsLeaseName(res.config.instanceId);
  }

  /** Whether this replica holds the events lease (as of its last renewal). */
  get leading(): boolean {
    return this.leadingNow;
  }

  /**
   * Joins: registers this replica, returns the leases of dead replicas and of owners no replica knows (a process
   * from before replicas were recorded), and takes the events lease if it is free, waiting for `onLead`.
   */
  async start(): Promise<void> {
    this.registry.heartbeat();
    this.sweepDead();
    this.res.queue.releaseOrphaned();
    this.renewLeadership();
    await this.changes;
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.floor(this.res.config.leaseMs / 3)));
    this.timer.unref();
  }

  /** One beat; each step is one short statement, safe from every replica at once. */
  tick(): void {
    try {
      this.registry.heartbeat();
      this.sweepDead();
      this.res.queue.reapExpired();
      this.renewLeadership();
      this.hooks.onBeat();
    } catch (e) {
      // The database is briefly unavailable: the next beat tries again (the leases last three beats).
      this.res.log.warn(`replica heartbeat failed: ${describe(e)}`);
    }
  }

  /** Leaves at a clean shutdown: the events lease and the job leases still held go back, then the row. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.leadingNow) {
      this.leadingNow = false;
      this.changes = this.changes.then(() => this.hooks.onFollow());
    }
    await this.changes;
    try {
      this.leases.release(this.leaseName, this.registry.self.id);
      this.res.queue.releaseLeasesOf(this.registry.self.id);
      this.registry.leave();
    } catch (e) {
      this.res.log.warn(`could not leave the replica set cleanly (the others take over after the lease): ${describe(e)}`);
    }
  }

  private sweepDead(): void {
    let lost = false;
    for (const id of this.registry.dead(this.res.config.leaseMs)) {
      // Leases first, the row last: a replica dying in between leaves the row for the next sweep to finish.
      const jobs = this.res.queue.releaseLeasesOf(id);
      const named = this.leases.releaseOwner(id);
      if (this.registry.forget([id]).length > 0) {
        lost = true;
        this.res.log.warn(`replica ${id} is gone: ${jobs} job(s) and ${named} lease(s) taken back`);
      }
    }
    // A dead holder's lease was just dropped: whoever takes it reconciles anyway (onLead).
    if (lost && this.leadingNow) this.hooks.onPeerLost();
  }

  private renewLeadership(): void {
    const held = this.leases.acquire(this.leaseName, this.registry.self.id, this.res.config.leaseMs);
    if (held === this.leadingNow) return;
    this.leadingNow = held;
    this.res.log.info(held ? `replica ${this.registry.self.id} follows the engine's events` :
      `replica ${this.registry.self.id} no longer follows the engine's events`);
    const hook = held ? this.hooks.onLead : this.hooks.onFollow;
    this.changes = this.changes.then(() => hook()).catch((e: unknown) => {
      this.res.log.warn(`taking over the engine's events failed: ${describe(e)}`);
    });
  }
}
