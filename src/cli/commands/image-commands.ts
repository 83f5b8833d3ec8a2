import type { Command } from 'commander';
import { XcsError } from '../../core/errors.ts';

export function register(program: Command): void {
  program
    .command('image-commands')
    .description('(not implemented yet)')
    .action(() => {
      throw new XcsError('cli.not-implemented', 'xcs image-commands is not implemented yet');
    });
}
