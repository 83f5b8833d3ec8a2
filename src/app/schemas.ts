/**
 * Every table a data directory's database holds, brought to this binary's schema: the archive's, the stores'
 * (settings, wrapper configuration, site roles, automation) and the run database's. What `xcs db migrate` opens on
 * both sides before it copies; the server opens the same stores one by one as it starts.
 */
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { applyMigrations, archiveMigrations, openDatabase, type ArchiveDb } from '../archive/db.ts';
import { AutomationStore } from '../automation/store.ts';
import { openRunDatabase, type RunDatabase } from '../runtime/index.ts';
import { SettingsTable } from '../stores/settings-table.ts';
import { SiteRoleStore } from '../stores/site-role-store.ts';
import { ConfigStore } from '../stores/wrapper-config-store.ts';

export interface OpenedSchemas {
  archive: Kysely<ArchiveDb>;
  runs: RunDatabase;
  close(): Promise<void>;
}

/** Opens the data directory's databases (wherever its target says) and applies every migration. */
export async function openAllSchemas(dataDir: string): Promise<OpenedSchemas> {
  const { db } = openDatabase(join(dataDir, 'xcs.db'));
  let runs: RunDatabase | null = null;
  try {
    await applyMigrations(db, 'archive', archiveMigrations);
    await SettingsTable.open(db);
    await ConfigStore.open(db);
    await SiteRoleStore.open(db);
    await AutomationStore.open(db);
    runs = openRunDatabase(join(dataDir, 'runs.sqlite'));
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const opened = runs;
  return { archive: db, runs: opened, close: async () => { opened.close(); await db.destroy(); } };
}
