import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema (2020-12) of the command format, for editors and other tools')
    .action(async () => {
      const { commandJsonSchema } = await import('../../command/index.ts');
      process.stdout.write(`${JSON.stringify(commandJsonSchema(), null, 2)}\n`);
    });
}
