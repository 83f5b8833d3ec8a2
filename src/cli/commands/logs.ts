import type { Command } from 'commander';
import { withConnection } from './containers.ts';

export function register(program: Command): void {
  withConnection(program
    .command('logs')
    .description('print the stdout (or stderr) of a run of a running XCS server; -f follows it live')
    .argument('<run>', 'run id, container id or container name')
    .option('--stderr', 'the standard error stream instead of standard output')
    .option('-f, --follow', 'keep printing new output until the container exits'))
    .action(async (run: string, o: { stderr?: boolean; follow?: boolean; url?: string; user?: string; password?: string }) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      const res = await client.log(run, o.stderr ? 'stderr' : 'stdout', o.follow === true);
      if (!res.body) return;
      for await (const chunk of res.body) process.stdout.write(chunk);
    });
}
