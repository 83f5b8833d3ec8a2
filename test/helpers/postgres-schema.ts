/**
 * The PostgreSQL server of the tests (`scripts/postgres-harness.sh`: Debian's cluster, a role and a database), started
 * once per test process, or the one `XCS_DATABASE_URL` names. When PostgreSQL is not installed the tests that need it
 * are skipped with that reason; when it is installed, a server that does not come up is a failure.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Read once: a test may clear the variable to run its SQLite half. */
const givenUrl = process.env.XCS_DATABASE_URL || undefined;

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresAbsent(): string | null {
  if (givenUrl) return null;
  if (!existsSync('/usr/lib/postgresql')) return 'PostgreSQL is not installed: apt-get install postgresql, or run scripts/setup.sh';
  return null;
}

let url: Promise<string> | undefined;

/** The test database's URL (without a schema). */
export function postgresUrl(): Promise<string> {
  url ??= givenUrl
    ? Promise.resolve(givenUrl)
    : promisify(execFile)('bash', ['scripts/postgres-harness.sh'], { cwd: repoRoot }).then(
      (r) => r.stdout.trim(),
      (e: Error & { stderr?: string }) => { throw new Error(`scripts/postgres-harness.sh failed: ${e.stderr ?? e.message}`); },
    );
  return url;
}

/** A schema of its own for one test: its URL (`?schema=`), and `drop` to remove the schema afterwards. */
export async function freshSchema(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const base = new URL(await postgresUrl());
  base.searchParams.delete('schema');
  const schema = `xcs_t_${randomBytes(6).toString('hex')}`;
  const withSchema = new URL(base);
  withSchema.searchParams.set('schema', schema);
  return {
    url: withSchema.toString(), schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: base.toString() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
