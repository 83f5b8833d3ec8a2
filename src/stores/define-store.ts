/**
 * One way to define a store in the shared database: its tables (a Kysely schema type), a migration namespace and
 * its migrations, applied in order the first time the store is opened on a database (each namespace keeps its own
 * migration table, `xcs_migrations_{namespace}`). A store's module says what it keeps; this says how it is opened.
 */
import type { Kysely, Migration } from 'kysely';
import { applyMigrations } from '../archive/db.ts';

export interface StoreDefinition<Tables> {
  readonly namespace: string;
  /** Applies the store's migrations to `db` (the shared database, whatever else it holds) and types it as the store's tables. */
  open<T>(db: Kysely<T>): Promise<Kysely<Tables>>;
}

export function defineStore<Tables>(namespace: string, migrations: Record<string, Migration>): StoreDefinition<Tables> {
  return {
    namespace,
    open: async <T>(db: Kysely<T>): Promise<Kysely<Tables>> => {
      const typed = db as unknown as Kysely<Tables>;
      await applyMigrations(typed, namespace, migrations);
      return typed;
    },
  };
}
