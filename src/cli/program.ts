/**
 * The `xcs` program: the given sub-commands parsed by commander, and every failure turned into a message and
 * an exit code. `main.ts` runs it with every sub-command; `exec-snapshot.ts` with `exec` alone (the start-up
 * snapshot bin/xcs uses for `xcs exec`), so both answer the same way.
 */
import { Command, CommanderError } from 'commander';
import { isXcsError, messageOf } from '../core/errors.ts';
import type { CliModule } from './commands/index.ts';

export async function runCli(argv: string[], modules: readonly CliModule[]): Promise<number> {
  const program = new Command();
  program
    .name('xcs')
    .description('XCS: run containerised tools on imaging archives (XNAT Container Service compatible)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const mod of modules) mod.register(program);
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

/** Runs the program as the process: its exit code becomes the process's. */
export function runAsProcess(argv: string[], modules: readonly CliModule[]): void {
  runCli(argv, modules).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(`xcs: ${messageOf(e)}\n`); process.exitCode = 1; },
  );
}
