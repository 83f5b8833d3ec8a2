/**
 * Persistence of automation (reference §7.1–§7.3): command event mappings (launch a wrapper when a
 * session or scan is archived in a project), orchestrations (a chain of wrappers on the same object, one
 * selected per project, with each step's successor recorded so that chains survive a restart) and Event
 * Service subscriptions of container actions.
 */
import type { Generated, Kysely } from 'kysely';
import { XcsError } from '../core/errors.ts';
import { applyMigrations } from '../archive/db.ts';
import { runDdl } from '../archive/portable-sql.ts';
import type { NewSubscription, StoredSubscription } from './subscription-model.ts';

export const EVENT_TYPES = ['SessionArchived', 'ScanArchived', 'Merged'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface CommandEventMapping {
  id: number;
  'event-type': EventType;
  'command-id': number;
  'xnat-command-wrapper': string;
  project: string | null;
  'subscription-user-name': string;
  enabled: boolean;
  /** XCS: only objects whose xsi type derives from this one trigger the mapping (e.g. `xnat:mrScanData`). */
  'xsi-type': string | null;
  timestamp: string;
}

export interface Orchestration {
  id: number;
  name: string;
  wrapperIds: number[];
  enabled: boolean;
  haltOnCommandFailure: boolean;
}

interface AutomationDb {
  xapi_event_mappings: { id: Generated<number>; json: string };
  xapi_orchestrations: { id: Generated<number>; json: string };
  xapi_orchestration_projects: { project: string; orchestration_id: number };
  xapi_orchestration_runs: {
    run_id: number; orchestration_id: number; step: number;
    /** Whether the run's successor was launched: see `AdvanceState`. */
    next_state: AdvanceState; next_run_id: number | null; next_error: string | null;
    /** The dispatcher (one per process) that claimed the advance; another one's claim is a crash's leftover. */
    claimed_by: string | null;
  };
  xapi_event_subscriptions: { id: Generated<number>; json: string; converted_from_mapping: number | null };
}

/**
 * Where an orchestration step stands on launching its successor: `pending` (not yet; the run may still be
 * going), `claimed` (a dispatcher is launching it), `launched` (`next_run_id` is the successor), `ended` (no
 * successor: the chain stopped or ended, or the launch was refused — `next_error` says why) or `legacy` (a row
 * from before successors were recorded: only a live run end advances it, never the start-up scan, since its
 * successor may already have been launched).
 */
export type AdvanceState = 'pending' | 'claimed' | 'launched' | 'ended' | 'legacy';

export interface PendingAdvance {
  runId: number;
  orchestrationId: number;
  step: number;
  state: 'pending' | 'claimed';
  claimedBy: string | null;
}

export class AutomationStore {
  readonly #db: Kysely<AutomationDb>;

  private constructor(db: Kysely<AutomationDb>) {
    this.#db = db;
  }

  static async open<T>(db: Kysely<T>): Promise<AutomationStore> {
    const d = db as unknown as Kysely<AutomationDb>;
    await applyMigrations(d, 'xapi_automation', {
      '001_automation': {
        up: (x) => runDdl(x, [
          `CREATE TABLE xapi_event_mappings (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)`,
          `CREATE TABLE xapi_orchestrations (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)`,
          `CREATE TABLE xapi_orchestration_projects (project TEXT PRIMARY KEY, orchestration_id INTEGER NOT NULL)`,
          `CREATE TABLE xapi_orchestration_runs (run_id INTEGER PRIMARY KEY, orchestration_id INTEGER NOT NULL, step INTEGER NOT NULL)`,
        ]),
      },
      '002_orchestration_advance': {
        up: (x) => runDdl(x, [
          `ALTER TABLE xapi_orchestration_runs ADD COLUMN next_state TEXT NOT NULL DEFAULT 'pending'`,
          `ALTER TABLE xapi_orchestration_runs ADD COLUMN next_run_id INTEGER`,
          `ALTER TABLE xapi_orchestration_runs ADD COLUMN next_error TEXT`,
          `ALTER TABLE xapi_orchestration_runs ADD COLUMN claimed_by TEXT`,
          `UPDATE xapi_orchestration_runs SET next_state = 'legacy'`,
          `CREATE INDEX xapi_orchestration_runs_open ON xapi_orchestration_runs (run_id)
            WHERE next_state IN ('pending', 'claimed')`,
        ]),
      },
      '003_event_subscriptions': {
        up: (x) => runDdl(x, [
          `CREATE TABLE xapi_event_subscriptions (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL,
            converted_from_mapping INTEGER UNIQUE)`,
        ]),
      },
    });
    return new AutomationStore(d);
  }

  async mappings(): Promise<CommandEventMapping[]> {
    const rows = await this.#db.selectFrom('xapi_event_mappings').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.json) as CommandEventMapping), id: r.id }));
  }

  async mapping(id: number): Promise<CommandEventMapping> {
    const row = await this.#db.selectFrom('xapi_event_mappings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new XcsError('xapi.mapping.not-found', `No command event mapping ${id}`, { path: String(id) });
    return { ...(JSON.parse(row.json) as CommandEventMapping), id: row.id };
  }

  async addMapping(m: Omit<CommandEventMapping, 'id'>): Promise<CommandEventMapping> {
    const r = await this.#db.insertInto('xapi_event_mappings').values({ json: JSON.stringify(m) }).returning('id').executeTakeFirstOrThrow();
    return this.mapping(r.id);
  }

  async updateMapping(m: CommandEventMapping): Promise<void> {
    await this.#db.updateTable('xapi_event_mappings').set({ json: JSON.stringify(m) }).where('id', '=', m.id).execute();
  }

  async deleteMapping(id: number): Promise<void> {
    await this.#db.deleteFrom('xapi_event_mappings').where('id', '=', id).execute();
  }

  async orchestrations(): Promise<Orchestration[]> {
    const rows = await this.#db.selectFrom('xapi_orchestrations').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.json) as Orchestration), id: r.id }));
  }

  async orchestration(id: number): Promise<Orchestration> {
    const row = await this.#db.selectFrom('xapi_orchestrations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new XcsError('xapi.orchestration.not-found', `No orchestration ${id}`, { path: String(id) });
    return { ...(JSON.parse(row.json) as Orchestration), id: row.id };
  }

  async saveOrchestration(o: Omit<Orchestration, 'id'> & { id?: number }): Promise<Orchestration> {
    if (o.id) {
      await this.orchestration(o.id);
      await this.#db.updateTable('xapi_orchestrations').set({ json: JSON.stringify(o) }).where('id', '=', o.id).execute();
      return this.orchestration(o.id);
    }
    const r = await this.#db.insertInto('xapi_orchestrations').values({ json: JSON.stringify(o) }).returning('id').executeTakeFirstOrThrow();
    return this.orchestration(r.id);
  }

  async deleteOrchestration(id: number): Promise<void> {
    await this.#db.deleteFrom('xapi_orchestration_projects').where('orchestration_id', '=', id).execute();
    await this.#db.deleteFrom('xapi_orchestrations').where('id', '=', id).execute();
  }

  async selected(project: string): Promise<number | null> {
    const row = await this.#db.selectFrom('xapi_orchestration_projects').select('orchestration_id').where('project', '=', project).executeTakeFirst();
    return row?.orchestration_id ?? null;
  }

  async select(project: string, orchestrationId: number | null): Promise<void> {
    if (orchestrationId === null) {
      await this.#db.deleteFrom('xapi_orchestration_projects').where('project', '=', project).execute();
      return;
    }
    // One statement: two replicas selecting at once leave one selection, never a duplicate-key failure.
    await this.#db.insertInto('xapi_orchestration_projects').values({ project, orchestration_id: orchestrationId })
      .onConflict((oc) => oc.column('project').doUpdateSet({ orchestration_id: orchestrationId })).execute();
  }

  async clearSelections(orchestrationId: number): Promise<void> {
    await this.#db.deleteFrom('xapi_orchestration_projects').where('orchestration_id', '=', orchestrationId).execute();
  }

  /** Records which step a run is; an existing record is kept unless `replace` (a chained step overrides start detection). */
  async recordStep(runId: number, orchestrationId: number, step: number, opts: { replace?: boolean } = {}): Promise<void> {
    await this.#db.insertInto('xapi_orchestration_runs').values({ run_id: runId, orchestration_id: orchestrationId, step,
      next_state: 'pending', next_run_id: null, next_error: null, claimed_by: null })
      .onConflict((oc) => (opts.replace ? oc.column('run_id').doUpdateSet({ orchestration_id: orchestrationId, step }) : oc.column('run_id').doNothing()))
      .execute();
  }

  /**
   * Claims the launch of a run's successor: one UPDATE that succeeds for exactly one caller, so the live run
   * end, the start-up scan and a second process can never launch the same successor twice.
   */
  async claimAdvance(runId: number, by: string): Promise<boolean> {
    const r = await this.#db.updateTable('xapi_orchestration_runs').set({ next_state: 'claimed', claimed_by: by })
      .where('run_id', '=', runId).where('next_state', 'in', ['pending', 'legacy']).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Takes over a claim left by a dispatcher that is gone (a crash between claiming and recording). */
  async reclaimAdvance(runId: number, from: string | null, by: string): Promise<boolean> {
    let q = this.#db.updateTable('xapi_orchestration_runs').set({ claimed_by: by }).where('run_id', '=', runId).where('next_state', '=', 'claimed');
    q = from === null ? q.where('claimed_by', 'is', null) : q.where('claimed_by', '=', from);
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
  }

  /** Records the launched successor (and its own step) in one transaction. */
  async recordLaunched(runId: number, next: { runId: number; orchestrationId: number; step: number }): Promise<void> {
    await this.#db.transaction().execute(async (t) => {
      await t.updateTable('xapi_orchestration_runs').set({ next_state: 'launched', next_run_id: next.runId, next_error: null })
        .where('run_id', '=', runId).execute();
      await t.insertInto('xapi_orchestration_runs').values({ run_id: next.runId, orchestration_id: next.orchestrationId, step: next.step,
        next_state: 'pending', next_run_id: null, next_error: null, claimed_by: null })
        .onConflict((oc) => oc.column('run_id').doUpdateSet({ orchestration_id: next.orchestrationId, step: next.step }))
        .execute();
    });
  }

  /** Records that the run has no successor to launch, and why when it was refused. */
  async recordEnded(runId: number, error: string | null): Promise<void> {
    await this.#db.updateTable('xapi_orchestration_runs').set({ next_state: 'ended', next_error: error }).where('run_id', '=', runId).execute();
  }

  /** Steps whose successor is not settled yet (the start-up scan's work list; a partial index keeps it short). */
  async openAdvances(): Promise<PendingAdvance[]> {
    const rows = await this.#db.selectFrom('xapi_orchestration_runs').selectAll().where('next_state', 'in', ['pending', 'claimed'])
      .orderBy('run_id').execute();
    return rows.map((r) => ({ runId: r.run_id, orchestrationId: r.orchestration_id, step: r.step,
      state: r.next_state as 'pending' | 'claimed', claimedBy: r.claimed_by }));
  }

  /** Whether a run is already recorded as some step's successor. */
  async isSuccessor(runId: number): Promise<boolean> {
    const row = await this.#db.selectFrom('xapi_orchestration_runs').select('run_id').where('next_run_id', '=', runId).executeTakeFirst();
    return row !== undefined;
  }

  async advanceOf(runId: number): Promise<{ state: AdvanceState; nextRunId: number | null; error: string | null } | null> {
    const row = await this.#db.selectFrom('xapi_orchestration_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
    return row ? { state: row.next_state, nextRunId: row.next_run_id, error: row.next_error } : null;
  }

  async subscriptions(): Promise<StoredSubscription[]> {
    const rows = await this.#db.selectFrom('xapi_event_subscriptions').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.json) as StoredSubscription), id: r.id }));
  }

  async subscription(id: number): Promise<StoredSubscription | null> {
    const row = await this.#db.selectFrom('xapi_event_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { ...(JSON.parse(row.json) as StoredSubscription), id: row.id } : null;
  }

  async addSubscription(s: NewSubscription): Promise<StoredSubscription> {
    const r = await this.#db.insertInto('xapi_event_subscriptions').values({ json: JSON.stringify(s), converted_from_mapping: null })
      .returning('id').executeTakeFirstOrThrow();
    return (await this.subscription(r.id))!;
  }

  /**
   * Stores the subscription a mapping converts into, once: the UNIQUE column makes a second conversion (or two
   * at once) find the first one's subscription instead of adding another. Returns it and whether it is new.
   */
  async addConverted(mappingId: number, s: NewSubscription): Promise<{ subscription: StoredSubscription; created: boolean }> {
    const r = await this.#db.insertInto('xapi_event_subscriptions').values({ json: JSON.stringify(s), converted_from_mapping: mappingId })
      .onConflict((oc) => oc.column('converted_from_mapping').doNothing()).executeTakeFirst();
    const created = Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    const row = await this.#db.selectFrom('xapi_event_subscriptions').select('id').where('converted_from_mapping', '=', mappingId).executeTakeFirstOrThrow();
    return { subscription: (await this.subscription(row.id))!, created };
  }

  async updateSubscription(s: StoredSubscription): Promise<void> {
    const { id, ...rest } = s;
    await this.#db.updateTable('xapi_event_subscriptions').set({ json: JSON.stringify(rest) }).where('id', '=', id).execute();
  }

  async deleteSubscription(id: number): Promise<void> {
    await this.#db.deleteFrom('xapi_event_subscriptions').where('id', '=', id).execute();
  }

  async stepOf(runId: number): Promise<{ orchestrationId: number; step: number } | null> {
    const row = await this.#db.selectFrom('xapi_orchestration_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
    return row ? { orchestrationId: row.orchestration_id, step: row.step } : null;
  }
}
