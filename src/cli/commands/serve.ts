import type { Command } from 'commander';
import { announceGeneratedAdmin } from '../generated-admin.ts';
import { XcsError } from '../../core/errors.ts';
import {
  DEFAULT_UNPACK_LIMITS, parseLimit, UNPACK_ENV, unpackLimitsFromEnv, type UnpackLimits,
} from '../../archive/unpack-limits.ts';

interface ServeOptions {
  port: string;
  host: string;
  data?: string;
  database?: string;
  maxUpload?: string;
  maxUnpackRatio?: string;
  maxUnpackedBytes?: string;
  maxArchiveEntries?: string;
  secretsFile?: string;
  logLevel: string;
}

/** The unpack limits given as flags (they win over the environment). */
function unpackFlags(o: ServeOptions): Partial<UnpackLimits> {
  const out: Partial<UnpackLimits> = {};
  if (o.maxUnpackRatio !== undefined) out.maxRatio = parseLimit(o.maxUnpackRatio, '--max-unpack-ratio', 1);
  if (o.maxUnpackedBytes !== undefined) out.maxTotalBytes = parseLimit(o.maxUnpackedBytes, '--max-unpacked-bytes', 1);
  if (o.maxArchiveEntries !== undefined) out.maxEntries = parseLimit(o.maxArchiveEntries, '--max-archive-entries', 1);
  return out;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the XCS server (embedded archive, XNAT /data REST API) on a data directory')
    .option('--port <n>', 'TCP port', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'data directory (default: $XCS_HOME or ./xcs-data)')
    .option('--database <url>', 'keep the state in PostgreSQL, shared by every replica on the data directory: postgres://user:password@host:port/db[?schema=name] (or $XCS_DATABASE_URL; default: SQLite files in the data directory)')
    .option('--max-upload <bytes>', 'largest accepted upload in bytes')
    .option('--max-unpack-ratio <n>', `most times a zip/tar entry may inflate (default ${DEFAULT_UNPACK_LIMITS.maxRatio}; $${UNPACK_ENV.maxRatio})`)
    .option('--max-unpacked-bytes <bytes>', `most bytes one zip/tar may unpack to (default 256 GiB; $${UNPACK_ENV.maxTotalBytes})`)
    .option('--max-archive-entries <n>', `most files in one zip/tar (default ${DEFAULT_UNPACK_LIMITS.maxEntries}; $${UNPACK_ENV.maxEntries})`)
    .option('--secrets-file <file>', 'command secrets, one identifier=value a line (mode 0600; also $XCS_SECRETS_FILE)')
    .option('--log-level <level>', 'structured JSON log on stderr at this level (fatal, error, warn, info, debug, trace) or "off"', 'info')
    .action(async (o: ServeOptions) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new XcsError('cli.serve.port', `--port must be a TCP port number, not "${o.port}"`, { path: '--port' });
      }
      // Read by the container service when it opens (XCS_SECRET_* variables are read at each launch).
      if (o.secretsFile) process.env.XCS_SECRETS_FILE = o.secretsFile;
      if (o.database !== undefined) {
        const { parseDatabaseUrl, useDatabaseUrl } = await import('../../core/database/target.ts');
        parseDatabaseUrl(o.database);
        useDatabaseUrl(o.database);
      }
      const { LOG_LEVELS } = await import('../../http/server.ts');
      const { startServer } = await import('../../app/server.ts');
      const level = LOG_LEVELS.find((l) => l === o.logLevel);
      if (!level && o.logLevel !== 'off') {
        throw new XcsError('cli.serve.log-level', `--log-level must be one of ${LOG_LEVELS.join(', ')} or off, not "${o.logLevel}"`,
          { path: '--log-level' });
      }
      const { defaultDataDir } = await import('../../archive/open.ts');
      const unpackLimits = { ...unpackLimitsFromEnv(), ...unpackFlags(o) };
      const s = await startServer({ port, host: o.host, dataDir: o.data ?? defaultDataDir(),
        maxUploadBytes: o.maxUpload ? parseLimit(o.maxUpload, '--max-upload', 1) : undefined, unpackLimits, logger: level ?? false });
      announceGeneratedAdmin(s.opened);
      process.stdout.write(`XCS listening on ${s.url} (data: ${s.opened.dataDir})\n`);
      const stop = () => { void s.close().then(() => process.exit(0)); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise<never>(() => undefined);
    });
}
