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
    .option('--archive <file>', 'JSON tree of archive objects that URI and id inputs are looked up in')
    .option('--with-command <file>', 'command file offering setup/wrapup commands', collect, [])
    .option('--project <id>', 'project the launch happens in')
    .option('--explain', 'show, for every input, the candidates considered and why each was accepted or rejected')
    .option('--json', 'print the resolved command as JSON ({"error": ...} on failure)')
    .action(async (opts: ResolveCliArgs) => {
      const { runResolve } = await import('../../resolution/cli-run.ts');
      const code = await runResolve(opts);
      if (code !== 0) process.exitCode = code;
    });
}
