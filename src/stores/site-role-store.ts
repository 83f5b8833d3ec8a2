/** Site roles granted to users beyond the archive's own flags (XCS manages one: `ContainerManager`). */
import type { Kysely } from 'kysely';
import { runDdl } from '../archive/portable-sql.ts';
import { defineStore } from './define-store.ts';

interface RolesTables {
  xapi_site_roles: { login: string; role: string };
}

const definition = defineStore<RolesTables>('xapi_access', {
  '001_site_roles': {
    up: (d) => runDdl(d, [`CREATE TABLE xapi_site_roles (login TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (login, role))`]),
  },
});

export class SiteRoleStore {
  readonly #db: Kysely<RolesTables>;

  private constructor(db: Kysely<RolesTables>) {
    this.#db = db;
  }

  /** Opens the role table in the shared database (created on first use). */
  static async open<T>(db: Kysely<T>): Promise<SiteRoleStore> {
    return new SiteRoleStore(await definition.open(db));
  }

  async has(login: string, role: string): Promise<boolean> {
    const row = await this.#db.selectFrom('xapi_site_roles').select('login')
      .where('login', '=', login).where('role', '=', role).executeTakeFirst();
    return row !== undefined;
  }

  async rolesOf(login: string): Promise<string[]> {
    return (await this.#db.selectFrom('xapi_site_roles').select('role').where('login', '=', login).execute()).map((r) => r.role);
  }

  async set(login: string, role: string, granted: boolean): Promise<void> {
    if (granted) {
      // Granting twice (two replicas at once) leaves one grant.
      await this.#db.insertInto('xapi_site_roles').values({ login, role }).onConflict((oc) => oc.columns(['login', 'role']).doNothing()).execute();
    } else {
      await this.#db.deleteFrom('xapi_site_roles').where('login', '=', login).where('role', '=', role).execute();
    }
  }
}
