import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';

export interface FileVerdict {
  file: string;
  valid: boolean;
  errors: { path: string; code: string; message: string }[];
  warnings: { path: string; code: string; message: string; fix?: string }[];
}

/** Reads and checks one command file; an unreadable file is an invalid verdict, not an exception. */
export async function verdictForFile(file: string, strict = false): Promise<FileVerdict> {
  const { parseCommandText } = await import('../../command/index.ts');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { file, valid: false, errors: [{ path: '', code: 'file.unreadable', message: `cannot read the file: ${reason}` }], warnings: [] };
  }
  const r = parseCommandText(text, { source: file });
  const strip = (d: { path: string; code: string; message: string }) => ({ path: d.path, code: d.code, message: d.message });
  const errors = [...r.errors, ...r.commands.flatMap((c) => c.errors)].map(strip);
  const warnings: FileVerdict['warnings'] = [...r.warnings, ...r.commands.flatMap((c) => c.warnings)].map(strip);
  // Best practice only means something for a command that is valid; errors come first. A context type XNAT does
  // not know (a typo: the wrapper is then never offered anywhere) is worth a word even without --strict.
  const { strictWarnings } = await import('../../authoring/strict.ts');
  for (const c of r.commands) {
    if (!c.command) continue;
    for (const w of strictWarnings(c.command)) {
      if (strict || w.code === 'strict.context.unknown') warnings.push({ ...w, path: `${c.pointerPrefix}${w.path}` });
    }
  }
  return { file, valid: errors.length === 0 && r.commands.length > 0, errors, warnings };
}

export function formatVerdict(v: FileVerdict): string {
  const lines = [`${v.file}: ${v.valid ? 'valid' : 'invalid'}`];
  for (const e of v.errors) lines.push(`  error ${e.path || '(document)'}: ${e.message} [${e.code}]`);
  for (const w of v.warnings) lines.push(`  warning ${w.path || '(document)'}: ${w.message} [${w.code}]${w.fix ? `\n    fix: ${w.fix}` : ''}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check command JSON files; print every error and warning with its JSON path (exit 1 if any is invalid)')
    .argument('<files...>', 'command files (a command object or a list of commands)')
    .option('--json', 'print [{file, valid, errors, warnings}] as JSON')
    .option('--strict', 'also warn about what XNAT accepts but an author should fix (memory, :latest, globs, unused inputs, contexts, matchers), each with a fix')
    .action(async (files: string[], opts: { json?: boolean; strict?: boolean }) => {
      const verdicts: FileVerdict[] = [];
      for (const f of files) verdicts.push(await verdictForFile(f, opts.strict === true));
      if (opts.json) process.stdout.write(`${JSON.stringify(verdicts, null, 2)}\n`);
      else process.stdout.write(`${verdicts.map(formatVerdict).join('\n')}\n`);
      process.exitCode = verdicts.every((v) => v.valid) ? 0 : 1;
    });
}
