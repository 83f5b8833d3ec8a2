import type { Command } from 'commander';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('test')
    .description('run the test cases kept in a command ("xcs-tests") through xcs exec; print a summary table (exit 1 if any fails)')
    .argument('<command-file>', 'command JSON file')
    .option('--command-name <name>', 'which command of a file that lists several')
    .option('--case <name>', 'run only this test case (repeatable)', collect, [])
    .option('--keep <dir>', 'keep each case\'s outputs and logs (.xcs-stdout.log, .xcs-stderr.log) under this folder')
    .option('--user <uid:gid>', 'user the containers run as (default: yours, unless you are root)')
    .action(async (file: string, opts: { commandName?: string; case: string[]; keep?: string; user?: string }) => {
      const { testCommand } = await import('../../authoring/test-command.ts');
      process.exitCode = await testCommand(file, opts);
    });
}
