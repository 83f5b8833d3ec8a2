/**
 * What PostgreSQL needs beyond Kysely's dialect for XCS:
 * - `SchemaIntrospector`: what the migrator asks about tables, answered for the connection's own schema only.
 *   Kysely's introspector describes every column of every schema the role can see (and asks for each column's
 *   sequence): on a database shared by many data directories (one schema each, as the test suite runs) that made
 *   opening an archive take seconds. The migrator only asks whether its bookkeeping tables exist in our schema.
 * - `RefuseNulPlugin`: PostgreSQL text cannot hold a NUL character (SQLite's can), and a query carrying one fails
 *   inside the driver as an internal error; it is refused before, as the bad input it is.
 */
import {
  OperationNodeTransformer, PostgresDialect, sql, type DatabaseIntrospector, type KyselyPlugin, type Kysely,
  type PluginTransformQueryArgs, type PluginTransformResultArgs, type PrimitiveValueListNode, type QueryResult,
  type RootOperationNode, type TableMetadata, type UnknownRow, type ValueNode,
} from 'kysely';
import { XcsError } from '../core/errors.ts';

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

function refuseNul(value: unknown): void {
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw new XcsError('database.nul-character', 'a value holds a NUL character (\\0), which cannot be stored or looked up',
      { hint: 'remove the \\0 from the request' });
  }
}

class NulCheck extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    refuseNul(node.value);
    return node;
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    for (const v of node.values) refuseNul(v);
    return node;
  }
}

export class RefuseNulPlugin implements KyselyPlugin {
  readonly #check = new NulCheck();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#check.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
