import type { Command } from 'commander';
import { XcsError } from '../../core/errors.ts';

export function register(program: Command): void {
  const db = program.command('db').description('the database a data directory keeps its state in');
  db.command('migrate')
    .description('move a data directory from its SQLite files into PostgreSQL (stop its server first; the SQLite files stay as a backup)')
    .option('--data <dir>', 'data directory (default: $XCS_HOME or ./xcs-data)')
    .option('--database <url>', 'the PostgreSQL database to move into: postgres://user:password@host:port/db[?schema=name] (or $XCS_DATABASE_URL)')
    .action(async (o: { data?: string; database?: string }) => {
      const url = o.database ?? process.env.XCS_DATABASE_URL;
      if (!url) {
        throw new XcsError('cli.db.no-database', 'give --database postgres://… or set XCS_DATABASE_URL', { path: '--database' });
      }
      const { defaultDataDir } = await import('../../archive/open.ts');
      const { migrateToPostgres } = await import('../../app/db-migrate.ts');
      const { redact } = await import('../../core/database/target.ts');
      const dataDir = o.data ?? defaultDataDir();
      const report = await migrateToPostgres(dataDir, url);
      for (const t of report.tables) process.stdout.write(`${t.table}: ${t.rows} rows\n`);
      process.stdout.write(`moved ${dataDir} into ${redact(url)} (schema ${report.schema}); serve it with --database or XCS_DATABASE_URL.\n`
        + 'The SQLite files (xcs.db, runs.sqlite) were left as they were: keep them as a backup, or remove them.\n');
    });
}
