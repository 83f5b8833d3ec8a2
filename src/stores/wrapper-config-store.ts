/** Wrapper configurations (`command/configuration.ts`), one per wrapper for the site and per project. */
import type { Kysely } from 'kysely';
import { runDdl } from '../archive/portable-sql.ts';
import { overlayConfiguration, type CommandConfiguration } from '../command/configuration.ts';
import { defineStore } from './define-store.ts';

interface ConfigTables {
  xapi_wrapper_config: { wrapper_id: number; scope: string; json: string };
}

const definition = defineStore<ConfigTables>('xapi_config', {
  '001_wrapper_config': {
    up: (x) => runDdl(x, [`CREATE TABLE xapi_wrapper_config (wrapper_id INTEGER NOT NULL, scope TEXT NOT NULL, json TEXT NOT NULL,
        PRIMARY KEY (wrapper_id, scope))`]),
  },
});

/** The scope of the site's configuration (a project's is its id). */
const SITE = '';

export class ConfigStore {
  readonly #db: Kysely<ConfigTables>;

  private constructor(db: Kysely<ConfigTables>) {
    this.#db = db;
  }

  static async open<T>(db: Kysely<T>): Promise<ConfigStore> {
    return new ConfigStore(await definition.open(db));
  }

  async get(wrapperId: number, project: string | null): Promise<CommandConfiguration | undefined> {
    const row = await this.#db.selectFrom('xapi_wrapper_config').select('json')
      .where('wrapper_id', '=', wrapperId).where('scope', '=', project ?? SITE).executeTakeFirst();
    return row ? (JSON.parse(row.json) as CommandConfiguration) : undefined;
  }

  async set(wrapperId: number, project: string | null, config: CommandConfiguration): Promise<void> {
    const json = JSON.stringify(config);
    await this.#db.insertInto('xapi_wrapper_config').values({ wrapper_id: wrapperId, scope: project ?? SITE, json })
      .onConflict((oc) => oc.columns(['wrapper_id', 'scope']).doUpdateSet({ json })).execute();
  }

  async delete(wrapperId: number, project: string | null): Promise<void> {
    await this.#db.deleteFrom('xapi_wrapper_config').where('wrapper_id', '=', wrapperId).where('scope', '=', project ?? SITE).execute();
  }

  /** Site configuration overlaid by the project's (non-null project fields win). */
  async effective(wrapperId: number, project: string | null): Promise<CommandConfiguration> {
    const site = (await this.get(wrapperId, null)) ?? { inputs: {}, outputs: {} };
    if (!project) return site;
    const proj = await this.get(wrapperId, project);
    return proj ? overlayConfiguration(site, proj) : site;
  }
}
