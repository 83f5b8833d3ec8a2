/**
 * Persistence of automation (reference §7.1, §7.2): command event mappings (launch a wrapper when a
 * session or scan is archived in a project) and orchestrations (a chain of wrappers on the same object,
 * one selected per project).
 */
import { sql, type Kysely } from 'kysely';
import { XcsError } from '../core/errors.ts';
import { applyMigrations } from '../archive/db.ts';

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
  xapi_event_mappings: { id: number | null; json: string };
  xapi_orchestrations: { id: number | null; json: string };
  xapi_orchestration_projects: { project: string; orchestration_id: number };
  xapi_orchestration_runs: { run_id: number; orchestration_id: number; step: number };
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
        up: async (x) => {
          await sql`CREATE TABLE xapi_event_mappings (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)`.execute(x);
          await sql`CREATE TABLE xapi_orchestrations (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL)`.execute(x);
          await sql`CREATE TABLE xapi_orchestration_projects (project TEXT PRIMARY KEY, orchestration_id INTEGER NOT NULL)`.execute(x);
          await sql`CREATE TABLE xapi_orchestration_runs (run_id INTEGER PRIMARY KEY, orchestration_id INTEGER NOT NULL, step INTEGER NOT NULL)`.execute(x);
        },
      },
    });
    return new AutomationStore(d);
  }

  async mappings(): Promise<CommandEventMapping[]> {
    const rows = await this.#db.selectFrom('xapi_event_mappings').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.json) as CommandEventMapping), id: r.id! }));
  }

  async mapping(id: number): Promise<CommandEventMapping> {
    const row = await this.#db.selectFrom('xapi_event_mappings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new XcsError('xapi.mapping.not-found', `No command event mapping ${id}`, { status: 404, path: String(id) });
    return { ...(JSON.parse(row.json) as CommandEventMapping), id: row.id! };
  }

  async addMapping(m: Omit<CommandEventMapping, 'id'>): Promise<CommandEventMapping> {
    const r = await this.#db.insertInto('xapi_event_mappings').values({ id: null, json: JSON.stringify(m) }).executeTakeFirstOrThrow();
    return this.mapping(Number(r.insertId));
  }

  async updateMapping(m: CommandEventMapping): Promise<void> {
    await this.#db.updateTable('xapi_event_mappings').set({ json: JSON.stringify(m) }).where('id', '=', m.id).execute();
  }

  async deleteMapping(id: number): Promise<void> {
    await this.#db.deleteFrom('xapi_event_mappings').where('id', '=', id).execute();
  }

  async orchestrations(): Promise<Orchestration[]> {
    const rows = await this.#db.selectFrom('xapi_orchestrations').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...(JSON.parse(r.json) as Orchestration), id: r.id! }));
  }

  async orchestration(id: number): Promise<Orchestration> {
    const row = await this.#db.selectFrom('xapi_orchestrations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new XcsError('xapi.orchestration.not-found', `No orchestration ${id}`, { status: 404, path: String(id) });
    return { ...(JSON.parse(row.json) as Orchestration), id: row.id! };
  }

  async saveOrchestration(o: Omit<Orchestration, 'id'> & { id?: number }): Promise<Orchestration> {
    if (o.id) {
      await this.orchestration(o.id);
      await this.#db.updateTable('xapi_orchestrations').set({ json: JSON.stringify(o) }).where('id', '=', o.id).execute();
      return this.orchestration(o.id);
    }
    const r = await this.#db.insertInto('xapi_orchestrations').values({ id: null, json: JSON.stringify(o) }).executeTakeFirstOrThrow();
    return this.orchestration(Number(r.insertId));
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
    await this.#db.deleteFrom('xapi_orchestration_projects').where('project', '=', project).execute();
    if (orchestrationId !== null) await this.#db.insertInto('xapi_orchestration_projects').values({ project, orchestration_id: orchestrationId }).execute();
  }

  async clearSelections(orchestrationId: number): Promise<void> {
    await this.#db.deleteFrom('xapi_orchestration_projects').where('orchestration_id', '=', orchestrationId).execute();
  }

  /** Records which step a run is; an existing record is kept unless `replace` (a chained step overrides start detection). */
  async recordStep(runId: number, orchestrationId: number, step: number, opts: { replace?: boolean } = {}): Promise<void> {
    await this.#db.insertInto('xapi_orchestration_runs').values({ run_id: runId, orchestration_id: orchestrationId, step })
      .onConflict((oc) => (opts.replace ? oc.column('run_id').doUpdateSet({ orchestration_id: orchestrationId, step }) : oc.column('run_id').doNothing()))
      .execute();
  }

  async stepOf(runId: number): Promise<{ orchestrationId: number; step: number } | null> {
    const row = await this.#db.selectFrom('xapi_orchestration_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
    return row ? { orchestrationId: row.orchestration_id, step: row.step } : null;
  }
}
