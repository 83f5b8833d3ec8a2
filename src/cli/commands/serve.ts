import type { Command } from 'commander';
import { XcsError } from '../../core/errors.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the XCS server (embedded archive, XNAT /data REST API) on a data directory')
    .option('--port <n>', 'TCP port', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'data directory (default: $XCS_HOME or ./xcs-data)')
    .option('--max-upload <bytes>', 'largest accepted upload in bytes')
    .option('--log-level <level>', 'structured JSON log on stderr at this level (fatal, error, warn, info, debug, trace) or "off"', 'info')
    .action(async (o: { port: string; host: string; data?: string; maxUpload?: string; logLevel: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new XcsError('cli.serve.port', `--port must be a TCP port number, not "${o.port}"`, { path: '--port' });
      }
      const { startServer, LOG_LEVELS } = await import('../../http/server.ts');
      const level = LOG_LEVELS.find((l) => l === o.logLevel);
      if (!level && o.logLevel !== 'off') {
        throw new XcsError('cli.serve.log-level', `--log-level must be one of ${LOG_LEVELS.join(', ')} or off, not "${o.logLevel}"`,
          { path: '--log-level' });
      }
      const { defaultDataDir } = await import('../../archive/open.ts');
      const s = await startServer({ port, host: o.host, dataDir: o.data ?? defaultDataDir(),
        maxUploadBytes: o.maxUpload ? Number(o.maxUpload) : undefined, logger: level ?? false });
      if (s.opened.generatedAdmin) {
        process.stdout.write(`Created site administrator "${s.opened.generatedAdmin.login}" with password: ` +
          `${s.opened.generatedAdmin.password}\n(shown once; change it with: xcs admin user passwd)\n`);
      }
      process.stdout.write(`XCS listening on ${s.url} (data: ${s.opened.dataDir})\n`);
      const stop = () => { void s.close().then(() => process.exit(0)); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise<never>(() => undefined);
    });
}
