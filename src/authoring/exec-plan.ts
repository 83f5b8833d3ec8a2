/**
 * The plan of a local run (`xcs exec`): which wrapper, which folders, which values, and the container
 * the service would create — resolved by the service's own resolution code (src/resolution) against
 * stand-in archive objects (stand-in.ts) whose directories are the author's folders.
 *
 * Everything the author must give is checked before anything runs, and every problem is reported at
 * once, each naming the mount or input it is about.
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve as absolute } from 'node:path';
import { XcsError } from '../core/errors.ts';
import { isDerivedInput, type Command, type CommandInput, type CommandWrapper } from '../command/model.ts';
import { MemoryObjectSource } from '../resolution/memory-source.ts';
import { parseImageCommandRef } from '../resolution/image-ref.ts';
import { ResolutionError, resolveCommand } from '../resolution/resolve/index.ts';
import type { ResolvedCommand } from '../resolution/types.ts';
import { isXnatType } from '../resolution/xnat-model.ts';
import { standInsFor, wrapperForUnwrapped } from './stand-in.ts';

export interface ExecRequest {
  command: Command;
  /** Wrapper name or id; default: the only one (or a made-up one when the command has none). */
  wrapper?: string;
  /** Mount name → host folder (relative to the working directory). */
  mounts: Record<string, string>;
  /** Input name (wrapper or command input) → value. */
  inputs: Record<string, string>;
  /** Where writable mounts not given with --mount are created, one folder per mount. */
  outputDir: string;
  /** Where setup commands write (a scratch folder the caller removes). */
  scratchDir: string;
  /** Other commands offering setup/wrapup commands, besides those of the command's own file. */
  otherCommands: Command[];
  /** Looks setup/wrapup commands up in a local image's label when no given command matches. */
  commandsOfImage?: (image: string) => Promise<Command[]>;
}

export interface ExecPlan {
  command: Command;
  wrapper: CommandWrapper;
  resolved: ResolvedCommand;
  /** Mount name → host folder, as bound. */
  mountDirs: Record<string, string>;
  /** Folders this run writes into (created by the runner). */
  writableDirs: string[];
  /** Labels of the stand-in objects outputs would be uploaded to, by wrapper input name. */
  targets: Map<string, string>;
  /** Things the author should know (not errors). */
  notes: string[];
}

export interface Problem {
  path: string;
  message: string;
}

function refuse(problems: Problem[], what: string): never {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
  throw new XcsError('exec.refused', `${what}:\n${lines}`, {
    details: problems.map((p) => ({ code: 'exec.refused', message: p.message, path: p.path })),
    hint: 'nothing was run; give each missing mount with --mount NAME=DIR and each input with --input NAME=VALUE',
  });
}

function pickWrapper(command: Command, wanted: string | undefined): CommandWrapper {
  if (wanted !== undefined) {
    const w = command.xnat.find((x) => x.name === wanted) ?? command.xnat.find((x) => String(x.id) === wanted);
    if (!w) {
      throw new XcsError('exec.wrapper.not-found', `command "${command.name}" has no wrapper "${wanted}" (wrappers: ${command.xnat.map((x) => x.name).join(', ') || 'none'})`, { path: wanted });
    }
    return w;
  }
  if (command.xnat.length === 0) return wrapperForUnwrapped(command);
  if (command.xnat.length > 1) {
    throw new XcsError('exec.wrapper.choose', `command "${command.name}" has ${command.xnat.length} wrappers; choose one with --wrapper (${command.xnat.map((x) => x.name).join(', ')})`);
  }
  return command.xnat[0];
}

async function kindOf(path: string): Promise<'dir' | 'file' | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** A value that the resolved command line could not carry as the author meant it. */
export function badValue(input: CommandInput, value: string): string | null {
  const v = value.trim();
  if (input.type === 'number' && (v === '' || !Number.isFinite(Number(v)))) return `"${value}" is not a number`;
  if (input.type === 'boolean' && !/^(true|false)$/i.test(v)) return `"${value}" is not true or false`;
  if (input.type === 'select-one' && input['select-values'].length > 0 && !input['select-values'].includes(value)) {
    return `"${value}" is not one of ${input['select-values'].map((s) => `"${s}"`).join(', ')}`;
  }
  return null;
}

/** Checks the request against the command and wrapper; resolves; refuses with every problem found. */
export async function planExec(req: ExecRequest): Promise<ExecPlan> {
  const { command } = req;
  const wrapper = pickWrapper(command, req.wrapper);
  const problems: Problem[] = [];
  const notes: string[] = [];
  const wrapperInputs = [...wrapper['external-inputs'], ...wrapper['derived-inputs']];
  const mountNames = command.mounts.map((m) => m.name);

  for (const name of Object.keys(req.mounts)) {
    if (!mountNames.includes(name)) problems.push({ path: `--mount ${name}`, message: `the command has no mount "${name}" (mounts: ${mountNames.join(', ') || 'none'})` });
  }
  // The wrapper made up for a command without one is not the author's: its stand-in input is not theirs to give.
  const authored = command.xnat.length > 0 ? wrapperInputs : [];
  const known = new Set([...authored.map((i) => i.name), ...command.inputs.map((i) => i.name)]);
  for (const name of Object.keys(req.inputs)) {
    if (!known.has(name)) problems.push({ path: `--input ${name}`, message: `the command has no input "${name}" (inputs: ${[...known].join(', ') || 'none'})` });
  }

  const providers = new Map<string, string>();
  for (const i of wrapperInputs) if (i['provides-files-for-command-mount']) providers.set(i['provides-files-for-command-mount'], i.name);
  const mountDirs: Record<string, string> = {};
  const writableDirs: string[] = [];
  for (const m of command.mounts) {
    const given = req.mounts[m.name];
    const provider = providers.get(m.name);
    const needsFiles = provider !== undefined || !m.writable;
    if (given === undefined) {
      if (needsFiles) {
        const why = provider ? `the files of input "${provider}"` : 'a read-only mount';
        problems.push({ path: `--mount ${m.name}`, message: `missing: give --mount ${m.name}=DIR (${why}, seen at ${m.path} in the container)` });
      } else {
        mountDirs[m.name] = absolute(req.outputDir, m.name);
        writableDirs.push(mountDirs[m.name]);
      }
      continue;
    }
    const dir = absolute(given);
    mountDirs[m.name] = dir;
    const providerType = provider ? wrapperInputs.find((i) => i.name === provider)?.type : undefined;
    const kind = await kindOf(dir);
    if (needsFiles && kind === null) problems.push({ path: `--mount ${m.name}`, message: `${given} does not exist` });
    else if (needsFiles && providerType !== 'File' && kind !== 'dir') problems.push({ path: `--mount ${m.name}`, message: `${given} is not a directory` });
    else if (!needsFiles && kind === 'file') problems.push({ path: `--mount ${m.name}`, message: `${given} is a file; a writable mount needs a directory` });
    else if (!needsFiles) writableDirs.push(dir);
    if (m.writable && needsFiles) notes.push(`mount ${m.name} is writable and bound to ${given} itself (the service would copy it first): the tool may change it`);
  }

  const provided = new Set(wrapperInputs.flatMap((i) => (i['provides-value-for-command-input'] ? [i['provides-value-for-command-input']] : [])));
  for (const ci of command.inputs) {
    const value = req.inputs[ci.name];
    if (value === undefined) {
      if (ci.required && ci['default-value'] === null && !provided.has(ci.name)) problems.push({ path: `--input ${ci.name}`, message: `missing: the input is required and has no default (${ci.type})` });
      continue;
    }
    const bad = badValue(ci, value);
    if (bad) problems.push({ path: `--input ${ci.name}`, message: bad });
  }
  for (const wi of wrapper['external-inputs']) {
    if (isXnatType(wi.type) || !wi.required || wi['default-value'] !== null || req.inputs[wi.name] !== undefined) continue;
    problems.push({ path: `--input ${wi.name}`, message: `missing: the wrapper input is required and has no default (${wi.type})` });
  }
  if (problems.length > 0) refuse(problems, `cannot run ${command.name}`);

  const standIns = standInsFor(wrapper, mountDirs, req.inputs);
  const source = new MemoryObjectSource(standIns.tree);
  const inputs: Record<string, string> = { ...req.inputs };
  for (const [name, where] of standIns.roots) {
    let object = source.roots[where.index];
    if (where.kind) object = (await source.children(object, where.kind))[0];
    inputs[name] = object.uri as string;
  }
  const findCommandByImage = async (ref: string): Promise<Command | null> => {
    const { image, commandName } = parseImageCommandRef(ref);
    const sameImage = (list: Command[]) => list.filter((c) => c.image === image || c.image === `${image}:latest`);
    let candidates = sameImage([...req.otherCommands]);
    if (candidates.length === 0 && req.commandsOfImage) candidates = await req.commandsOfImage(image.includes(':') ? image : `${image}:latest`);
    if (commandName) return candidates.find((c) => c.name === commandName) ?? null;
    return candidates.length === 1 ? candidates[0] : null;
  };
  let auxCount = 0;
  const buildDir = (purpose: string): string => {
    const [kind, ...rest] = purpose.split(' ');
    const name = rest.join(' ');
    if (kind === 'mount') return mountDirs[name] ?? absolute(req.outputDir, name);
    auxCount += 1;
    // Wrapup results are what would be uploaded: keep them with the outputs. Setup results are scratch.
    const safe = basename(name).replace(/[^\w.-]+/g, '-');
    return kind === 'wrapup' ? absolute(req.outputDir, `wrapup-${safe}`) : join(req.scratchDir, `setup-${auxCount}-${safe}`);
  };
  let resolved: ResolvedCommand;
  try {
    resolved = await resolveCommand({
      command: { ...command, xnat: [standIns.wrapper] },
      wrapper: standIns.wrapper.name,
      inputs,
      source,
      project: 'LOCAL',
      options: { buildDir, findCommandByImage },
    });
  } catch (e) {
    if (e instanceof ResolutionError) refuse([{ path: e.path ? `input ${e.path}` : command.name, message: e.message }], `cannot resolve ${command.name}`);
    throw e;
  }
  for (const s of resolved['wrapup-commands']) writableDirs.push(...s.mounts.filter((m) => m.writable).map((m) => m['xnat-host-path']));
  for (const s of resolved['setup-commands']) writableDirs.push(...s.mounts.filter((m) => m.writable).map((m) => m['xnat-host-path']));
  const targets = new Map<string, string>(standIns.labels);
  for (const wi of wrapperInputs) if (!isXnatType(wi.type) && !isDerivedInput(wi)) targets.delete(wi.name);
  return { command, wrapper, resolved, mountDirs, writableDirs, targets, notes };
}
