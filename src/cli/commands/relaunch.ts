import type { Command } from 'commander';
import { withConnection } from './containers.ts';

interface RelaunchReply { id: number; 'relaunch-of': number }

export function register(program: Command): void {
  withConnection(program
    .command('relaunch')
    .description('launch an ended run again, as you, with the same wrapper, inputs and project; prints the new run id')
    .argument('<run>', 'run id, container id or container name'))
    .action(async (run: string, o: { url?: string; user?: string; password?: string }) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      const reply = await client.json<RelaunchReply>('POST', `/xapi/containers/${encodeURIComponent(run)}/relaunch`);
      process.stdout.write(`run ${reply['relaunch-of']} relaunched as run ${reply.id}\n`);
    });
}
