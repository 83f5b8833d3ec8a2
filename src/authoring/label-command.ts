/**
 * `xcs label`: the commands of the given files, each checked first, as the image's LABEL line — printed,
 * or written into a Dockerfile in place.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { XcsError } from '../core/errors.ts';
import { parseCommandText } from '../command/index.ts';
import { parseLenientJson } from '../command/lenient-json.ts';
import { labelInstruction, rewriteDockerfile } from './label.ts';

/** The raw command objects of the files, in order; any invalid command is refused with its errors. */
export async function commandObjects(files: string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      problems.push(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      continue;
    }
    const checked = parseCommandText(text, { source: file });
    const errors = [...checked.errors, ...checked.commands.flatMap((c) => c.errors)];
    if (errors.length > 0 || checked.commands.length === 0) {
      problems.push(...(errors.length > 0 ? errors.map((e) => `${file} ${e.path || '/'}: ${e.message}`) : [`${file}: no command found`]));
      continue;
    }
    const raw = parseLenientJson(text);
    if (!raw.ok) continue;
    const list: unknown[] = Array.isArray(raw.value) ? raw.value : [raw.value];
    for (const c of list) out.push(c as Record<string, unknown>);
  }
  if (problems.length > 0) {
    throw new XcsError('label.invalid', `not labelling invalid commands:\n  ${problems.join('\n  ')}`, {
      hint: 'fix them (xcs validate shows each error with its JSON path), then label again',
    });
  }
  return out;
}

export async function labelCommand(files: string[], opts: { dockerfile?: string }): Promise<number> {
  const commands = await commandObjects(files);
  const instruction = labelInstruction(commands);
  if (!opts.dockerfile) {
    process.stdout.write(`${instruction}\n`);
    return 0;
  }
  let text: string;
  try {
    text = await readFile(opts.dockerfile, 'utf8');
  } catch (e) {
    throw new XcsError('label.dockerfile.unreadable', `cannot read ${opts.dockerfile}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path: opts.dockerfile });
  }
  const { text: next, replaced } = rewriteDockerfile(text, instruction, opts.dockerfile);
  await writeFile(opts.dockerfile, next);
  process.stderr.write(`${opts.dockerfile}: ${replaced ? 'replaced' : 'added'} the org.nrg.commands LABEL (${commands.length} command${commands.length === 1 ? '' : 's'}, ${instruction.length} characters)\n`);
  return 0;
}
