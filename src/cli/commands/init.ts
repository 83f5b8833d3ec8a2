import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('init')
    .description('draft a command from a local image (name, version, command line, mounts, a session wrapper); notes on stderr say what to fill in')
    .argument('<image>', 'local image reference, e.g. my/tool:1.0')
    .option('-o, --output <file>', 'write the draft to this file instead of stdout')
    .option('--force', 'overwrite the file given with -o')
    .action(async (image: string, opts: { output?: string; force?: boolean }) => {
      const { initCommand } = await import('../../authoring/init-command.ts');
      process.exitCode = await initCommand(image, opts);
    });
}
