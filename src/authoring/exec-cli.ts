/**
 * What `xcs exec` and `xcs test` share between reading the command file and running: choosing the
 * command in a file, reading NAME=VALUE pairs, and the plan's dry-run form.
 */
import { readFile } from 'node:fs/promises';
import { XcsError } from '../core/errors.ts';
import type { ContainerSpec } from '../backends/types.ts';
import type { Command } from '../command/model.ts';
import { commandsFromText } from '../resolution/load-command.ts';
import { localContainerSpec } from './container-spec.ts';
import type { ExecPlan } from './exec-plan.ts';

export interface LoadedCommandFile {
  command: Command;
  /** The file's other commands (setup/wrapup commands kept beside the main one). */
  others: Command[];
}

/** The runnable (type docker) command of a file; `name` picks one when the file lists several. */
export async function loadCommandFile(file: string, name?: string): Promise<LoadedCommandFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new XcsError('exec.command.unreadable', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path: file });
  }
  const loaded = commandsFromText(text, file);
  const runnable = loaded.filter((l) => l.command.type === 'docker' && (name === undefined || l.command.name === name));
  if (runnable.length !== 1) {
    const names = loaded.filter((l) => l.command.type === 'docker').map((l) => l.command.name);
    throw new XcsError('exec.command.choose', runnable.length === 0
      ? `${file} has no runnable (type docker) command${name ? ` named "${name}"` : ''}${names.length ? ` (commands: ${names.join(', ')})` : ''}`
      : `${file} has ${runnable.length} runnable commands; choose one with --command-name (${names.join(', ')})`, { path: file });
  }
  const chosen = runnable[0];
  if (chosen.errors.length > 0) {
    throw new XcsError('exec.command.invalid', `${file}: the command is not valid:\n  ${chosen.errors.join('\n  ')}`, {
      path: file, hint: `xcs validate ${file} shows every error with its JSON path`,
    });
  }
  return { command: chosen.command, others: loaded.filter((l) => l !== chosen && l.errors.length === 0).map((l) => l.command) };
}

/** `["a=1", "b=x=y"]` → `{a: "1", b: "x=y"}`; a pair without `=` is refused, naming the option. */
export function pairs(list: string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new XcsError('exec.option.syntax', `${option} "${p}" is not NAME=VALUE`, { path: option });
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Commands of a local image's label (for setup/wrapup commands not in the given files). */
export async function commandsOfImage(image: string): Promise<Command[]> {
  const { readImageCommands } = await import('../command/image-labels.ts');
  const { createBackend } = await import('../backends/index.ts');
  try {
    const backend = await createBackend('docker');
    const report = await readImageCommands(image, backend).finally(() => backend.close());
    return report.result.commands.flatMap((c) => (c.command ? [c.command] : []));
  } catch {
    return [];
  }
}

/** The containers a plan would create, in order, as the backend would be asked to create them. */
export function dryRun(plan: ExecPlan, user?: string): { setups: ContainerSpec[]; container: ContainerSpec; wrapups: ContainerSpec[]; outputs: unknown[] } {
  const r = plan.resolved;
  return {
    setups: r['setup-commands'].map((s, i) => localContainerSpec(s, { name: `xcs-exec-setup-${i + 1}`, user })),
    container: localContainerSpec(r, { name: 'xcs-exec', command: plan.command, user }),
    wrapups: r['wrapup-commands'].map((s, i) => localContainerSpec(s, { name: `xcs-exec-wrapup-${i + 1}`, user })),
    outputs: r.outputs.map((o) => ({ name: o.name, type: o.type, label: o.label, mount: o.mount, path: o.path, glob: o.glob, required: o.required, 'handled-by': o['handled-by'] })),
  };
}

/** The caller's uid:gid, so files written into the author's folders are theirs (root keeps the image's user). */
export function defaultUser(): string | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  const uid = process.getuid();
  return uid === 0 ? undefined : `${uid}:${process.getgid()}`;
}
