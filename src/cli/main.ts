#!/usr/bin/env node
/**
 * The `xcs` command. Each sub-command lives in its own module under ./commands
 * and registers itself; heavy implementations are imported lazily inside the
 * actions so that `xcs --help` stays fast.
 */
import { commandModules } from './commands/index.ts';
import { runAsProcess, runCli } from './program.ts';

export async function main(argv: string[]): Promise<number> {
  return runCli(argv, commandModules);
}

runAsProcess(process.argv.slice(2), commandModules);
