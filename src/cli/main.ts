#!/usr/bin/env node
/**
 * The `xcs` command. Each sub-command lives in its own module under ./commands
 * and registers itself; heavy implementations are imported lazily inside the
 * actions so that `xcs --help` stays fast.
 */
import { Command, CommanderError } from 'commander';
import { isXcsError, messageOf } from '../core/errors.ts';
import { commandModules } from './commands/index.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('xcs')
    .description('XCS: run containerised tools on imaging archives (XNAT Container Service compatible)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const mod of commandModules) mod.register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isXcsError(e)) {
      process.stderr.write(`xcs: ${e.message}${e.path ? ` (${e.path})` : ''}\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
      return 1;
    }
    process.stderr.write(`xcs: ${messageOf(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.stderr.write(`xcs: ${messageOf(e)}\n`); process.exitCode = 1; },
);
