import type { Command } from 'commander';
import { withConnection } from './containers.ts';

export function register(program: Command): void {
  withConnection(program
    .command('kill')
    .description('kill a run (container) of a running XCS server; it ends "Killed"')
    .argument('<run>', 'run id, container id or container name'))
    .action(async (run: string, o: { url?: string; user?: string; password?: string }) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      await client.kill(run);
      process.stdout.write(`kill sent to run ${run}\n`);
    });
}
