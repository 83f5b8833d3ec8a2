import type { Command } from 'commander';
import type { ExecCommandOptions } from '../../authoring/exec-command.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command on local folders with the local Docker engine (no server, no archive, no network)')
    .argument('<command-file>', 'command JSON file (a command or a label list)')
    .option('--wrapper <name>', 'wrapper name or id (default: the only one)')
    .option('--command-name <name>', 'which command of a file that lists several')
    .option('--mount <name=dir>', 'bind a command mount to a folder (read-only mounts stay read-only)', collect, [])
    .option('--input <name=value>', 'an input value (wrapper or command input)', collect, [])
    .option('--output-dir <dir>', 'where writable mounts not given with --mount are created, one folder each', 'xcs-output')
    .option('--with-command <file>', 'a command file offering setup/wrapup commands', collect, [])
    .option('--user <uid:gid>', 'user the containers run as (default: yours, unless you are root)')
    .option('--dry-run', 'print the containers it would create (JSON) and run nothing')
    .action(async (file: string, opts: ExecCommandOptions) => {
      const { execCommand } = await import('../../authoring/exec-command.ts');
      process.exitCode = await execCommand(file, opts);
    });
}
