import type { Command } from 'commander';
import { XcsError } from '../../core/errors.ts';

export function register(program: Command): void {
  program
    .command('validate')
    .description('(not implemented yet)')
    .action(() => {
      throw new XcsError('cli.not-implemented', 'xcs validate is not implemented yet');
    });
}
