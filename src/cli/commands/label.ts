import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('label')
    .description('print the Dockerfile LABEL org.nrg.commands=… line of command files (checked first), or write it into a Dockerfile')
    .argument('<files...>', 'command JSON files (a command or a list each); the label lists them all, in order')
    .option('--dockerfile <file>', 'replace the org.nrg.commands LABEL of this Dockerfile in place (added at the end when it has none)')
    .action(async (files: string[], opts: { dockerfile?: string }) => {
      const { labelCommand } = await import('../../authoring/label-command.ts');
      process.exitCode = await labelCommand(files, opts);
    });
}
