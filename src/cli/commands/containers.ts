import type { Command } from 'commander';

interface Options {
  all?: boolean;
  json?: boolean;
  url?: string;
  user?: string;
  password?: string;
}

/** Adds the options every client sub-command shares (server URL and credentials). */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'XCS server (default: $XCS_URL or http://127.0.0.1:8080)')
    .option('--user <login>', 'login (default: $XCS_USER)')
    .option('--password <password>', 'password (default: $XCS_PASSWORD)');
}

export function register(program: Command): void {
  withConnection(program
    .command('containers')
    .description('list the runs (containers) of a running XCS server: id, status, command, user, project')
    .option('-a, --all', 'include finished runs (default: only runs not yet finalized)')
    .option('--json', 'print XNAT\'s container records as JSON'))
    .action(async (o: Options) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      const list = await client.containers(o.all === true);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      const rows = list.map((c) => [String(c.id), c.status, c['docker-image'], c['user-id'], c.project ?? '', c['status-time'],
        c['exit-code'] ?? '']);
      const head = ['ID', 'STATUS', 'IMAGE', 'USER', 'PROJECT', 'SINCE', 'EXIT'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
      process.stdout.write(`${[line(head), ...rows.map(line)].join('\n')}\n`);
      if (rows.length === 0) process.stdout.write(o.all ? '(no runs)\n' : '(no active runs; --all shows finished ones)\n');
    });
}
