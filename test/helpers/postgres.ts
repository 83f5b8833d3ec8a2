/**
 * The PostgreSQL server of tests that need one whatever database the suite runs on: the one `XCS_DATABASE_URL`
 * names, else Debian's cluster started by `scripts/postgres-harness.sh`. Schemas made here are dropped by `dropSchema`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PgSyncDatabase } from '../../src/core/database/pg-sync.ts';
import { parseDatabaseUrl } from '../../src/core/database/target.ts';

let url: string | undefined;

/** The server's URL (without a schema parameter). */
export function postgresUrl(): string {
  url ??= parseDatabaseUrl(process.env.XCS_DATABASE_URL || harness()).url;
  return url;
}

/** The harness's URL; run again when it failed (other test processes may be running it at the same moment). */
function harness(): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync('bash', ['scripts/postgres-harness.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
}

/** A fresh schema name for one test. */
export function testSchema(prefix = 'xcs_t'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function dropSchema(schema: string): void {
  const db = new PgSyncDatabase({ url: postgresUrl(), schema: 'public' });
  try {
    db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    db.close();
  }
}
