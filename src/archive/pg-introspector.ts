/**
 * What the migrator asks PostgreSQL about tables, answered for the connection's own schema only. Kysely's
 * introspector describes every column of every schema the role can see (and asks for each column's sequence):
 * on a database shared by many data directories (one schema each, as the test suite runs) that made opening an
 * archive take seconds. The migrator only asks whether its bookkeeping tables exist in our schema.
 */
import { PostgresDialect, sql, type DatabaseIntrospector, type Kysely, type TableMetadata } from 'kysely';

interface ColumnRow {
  table: string; is_view: boolean; column: string; type: string; type_schema: string; not_null: boolean;
  has_default: boolean; identity: boolean;
}

export class SchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;
  readonly #schema: string;

  constructor(db: Kysely<unknown>, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }

  async getSchemas(): Promise<Array<{ name: string }>> {
    const r = await sql<{ name: string }>`SELECT nspname AS name FROM pg_catalog.pg_namespace`.execute(this.#db);
    return r.rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const r = await sql<ColumnRow>`
      SELECT c.relname AS table, c.relkind = 'v' AS is_view, a.attname AS column, t.typname AS type,
        tn.nspname AS type_schema, a.attnotnull AS not_null, a.atthasdef AS has_default, a.attidentity <> '' AS identity
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
      JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
      JOIN pg_catalog.pg_type t ON a.atttypid = t.oid
      JOIN pg_catalog.pg_namespace tn ON t.typnamespace = tn.oid
      WHERE n.nspname = ${this.#schema} AND c.relkind IN ('r', 'v', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`.execute(this.#db);
    const tables = new Map<string, TableMetadata>();
    for (const row of r.rows) {
      let t = tables.get(row.table);
      if (!t) tables.set(row.table, t = { name: row.table, isView: row.is_view, schema: this.#schema, columns: [] });
      t.columns.push({ name: row.column, dataType: row.type, dataTypeSchema: row.type_schema, isNullable: !row.not_null,
        hasDefaultValue: row.has_default, isAutoIncrementing: row.identity });
    }
    return [...tables.values()];
  }

  async getMetadata(): Promise<{ tables: TableMetadata[] }> {
    return { tables: await this.getTables() };
  }
}

/** Kysely's PostgreSQL dialect, introspecting `schema` only. */
export class SchemaPostgresDialect extends PostgresDialect {
  readonly #schema: string;

  constructor(config: ConstructorParameters<typeof PostgresDialect>[0], schema: string) {
    super(config);
    this.#schema = schema;
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaIntrospector(db, this.#schema);
  }
}
