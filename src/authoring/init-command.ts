/** `xcs init IMAGE [-o FILE]`: inspect the local image, print (or write) the draft, notes on stderr. */
import { writeFile } from 'node:fs/promises';
import { XcsError } from '../core/errors.ts';
import { draftCommand } from './init.ts';

export async function initCommand(image: string, opts: { output?: string; force?: boolean }): Promise<number> {
  const { createDockerBackend } = await import('../backends/docker/docker-backend.ts');
  const backend = await createDockerBackend();
  let info;
  try {
    info = await backend.inspectImage(image);
  } finally {
    await backend.close();
  }
  if (!info) {
    throw new XcsError('init.image-missing', `image ${image} is not in the local Docker engine`, {
      path: image, hint: `build it first (docker build -t ${image} .); xcs never pulls`,
    });
  }
  const { command, notes } = draftCommand(image, info);
  const text = `${JSON.stringify(command, null, 2)}\n`;
  if (opts.output) {
    try {
      await writeFile(opts.output, text, { flag: opts.force ? 'w' : 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new XcsError('init.exists', `${opts.output} exists; not overwriting it`, { path: opts.output, hint: 'choose another file, or add --force' });
      }
      throw e;
    }
  } else {
    process.stdout.write(text);
  }
  process.stderr.write(`draft command for ${image}${opts.output ? ` written to ${opts.output}` : ''}; to fill in:\n`);
  for (const n of notes) process.stderr.write(`  ${n.path}: ${n.message}\n`);
  return 0;
}
