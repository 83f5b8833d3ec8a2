import type { Command } from 'commander';
// Type-only, so the resolution code is still loaded only when the sub-command runs.
import type { ResolveCliArgs } from '../../resolution/cli-run.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('resolve')
    .description('resolve a command wrapper against archive objects given as URIs or JSON; print the container it would run')
    .requiredOption('--command <file>', 'command JSON file (a single command or a label list)')
    .option('--wrapper <name>', 'wrapper name or id (default: the only wrapper)')
    .option('--input <name=value>', 'input value; NAME=@file.json reads the value (an object\'s JSON) from a file', collect, [])
    .option('--archive <file>', 'JSON tree of archive objects that URI and id inputs are looked up in (format: README)')
    .option('--url <url>', 'look URI and id inputs up in a running server\'s archive instead ($XCS_USER/$XCS_PASSWORD or --user/--password)')
    .option('--user <login>', 'login for --url (default: $XCS_USER)')
    .option('--password <password>', 'password for --url (default: $XCS_PASSWORD)')
    .option('--with-command <file>', 'command file offering setup/wrapup commands', collect, [])
    .option('--project <id>', 'project the launch happens in')
    .option('--explain', 'show, for every input, the candidates considered and why each was accepted or rejected')
    .option('--json', 'print the resolved command as JSON ({"error": ...} on failure)')
    .action(async (opts: ResolveCliArgs & { user?: string; password?: string }) => {
      const { runResolve } = await import('../../resolution/cli-run.ts');
      let remote;
      if (opts.url !== undefined) {
        const { XapiClient } = await import('../../http/xapi/client.ts');
        const { RemoteObjectSource } = await import('../../http/xapi/remote-object-source.ts');
        remote = new RemoteObjectSource(new XapiClient({ url: opts.url, user: opts.user, password: opts.password }));
      }
      const code = await runResolve(opts, remote);
      if (code !== 0) process.exitCode = code;
    });
}
