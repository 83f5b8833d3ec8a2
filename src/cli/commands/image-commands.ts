import type { Command } from 'commander';
import { formatVerdict } from './validate.ts';

export function register(program: Command): void {
  program
    .command('image-commands')
    .description('read and check the commands in a local image\'s org.nrg.commands label (exit 1 if any is invalid)')
    .argument('<image>', 'image reference, e.g. xnat/dcm2niix:1.0')
    .option('--json', 'print {image, imageId, hasLabel, commands: [{name, valid, errors, warnings, command}]} as JSON')
    .action(async (image: string, opts: { json?: boolean }) => {
      const { readImageCommands } = await import('../../command/image-labels.ts');
      const { createBackend } = await import('../../backends/index.ts');
      const backend = await createBackend('docker');
      const report = await readImageCommands(image, backend).finally(() => backend.close());
      const r = report.result;
      const strip = (d: { path: string; code: string; message: string }) => ({ path: d.path, code: d.code, message: d.message });
      const valid = report.hasLabel && r.errors.length === 0 && r.commands.length > 0 && r.commands.every((c) => c.valid);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({
          image: report.image,
          imageId: report.imageId,
          hasLabel: report.hasLabel,
          valid,
          errors: r.errors.map(strip),
          warnings: r.warnings.map(strip),
          commands: r.commands.map((c) => ({
            name: c.command?.name ?? null,
            valid: c.valid,
            errors: c.errors.map(strip),
            warnings: c.warnings.map(strip),
            command: c.command,
          })),
        }, null, 2)}\n`);
      } else if (!report.hasLabel) {
        process.stdout.write(`${image}: no org.nrg.commands label (image ${report.imageId})\n`);
      } else {
        process.stdout.write(formatVerdict({
          file: `${image} (${r.commands.length} command${r.commands.length === 1 ? '' : 's'})`,
          valid,
          errors: [...r.errors, ...r.commands.flatMap((c) => c.errors)],
          warnings: [...r.warnings, ...r.commands.flatMap((c) => c.warnings)],
        }) + '\n');
        for (const c of r.commands) {
          if (c.command) {
            const wrappers = c.command.xnat.map((w) => w.name).join(', ');
            process.stdout.write(`  command ${c.pointerPrefix || '/'}: ${c.command.name} ${c.command.image}${wrappers ? ` — wrappers: ${wrappers}` : ''}\n`);
          }
        }
      }
      process.exitCode = valid ? 0 : 1;
    });
}
