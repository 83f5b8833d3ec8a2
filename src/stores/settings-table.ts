/** The server settings as stored: one JSON document per key (`server`, `queues`, `hubs`). What they mean: `http/xapi/settings.ts`. */
import type { Kysely } from 'kysely';
import { runDdl } from '../archive/portable-sql.ts';
import { defineStore } from './define-store.ts';

interface SettingsTables {
  xapi_settings: { key: string; json: string };
}

const definition = defineStore<SettingsTables>('xapi_settings', {
  '001_settings': {
    up: (d) => runDdl(d, [`CREATE TABLE xapi_settings (key TEXT PRIMARY KEY, json TEXT NOT NULL)`]),
  },
});

export class SettingsTable {
  readonly #db: Kysely<SettingsTables>;

  private constructor(db: Kysely<SettingsTables>) {
    this.#db = db;
  }

  static async open<T>(db: Kysely<T>): Promise<SettingsTable> {
    return new SettingsTable(await definition.open(db));
  }

  /** Every stored document by key. */
  async load(): Promise<Map<string, unknown>> {
    const rows = await this.#db.selectFrom('xapi_settings').selectAll().execute();
    return new Map(rows.map((r) => [r.key, JSON.parse(r.json) as unknown]));
  }

  async save(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    await this.#db.insertInto('xapi_settings').values({ key, json })
      .onConflict((oc) => oc.column('key').doUpdateSet({ json })).execute();
  }
}
