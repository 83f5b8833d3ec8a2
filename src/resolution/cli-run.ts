/**
 * `xcs resolve`: reads a command file and input values, resolves, prints the result (text or the
 * `--json` shape of the issue), and with `--explain` every input's candidates. Exit code 1 on failure.
 */
import { readFile } from 'node:fs/promises';
import { isXcsError, messageOf } from '../core/errors.ts';
import type { Command } from '../command/model.ts';
import { explanationText } from './explain.ts';
import { commandsFromText } from './load-command.ts';
import { MemoryObjectSource } from './memory-source.ts';
import { parseImageCommandRef } from './image-ref.ts';
import { ResolutionError, resolveWithExplanation } from './resolve/index.ts';
import type { XnatObjectSource } from './source.ts';
import type { Explanation, ResolvedCommand } from './types.ts';

export interface ResolveCliArgs {
  command: string;
  wrapper?: string;
  input: string[];
  archive?: string;
  withCommand: string[];
  project?: string;
  explain?: boolean;
  json?: boolean;
  /** A running server whose archive URI and id inputs are looked up (instead of `--archive`). */
  url?: string;
}

/** The `--json` shape: the fields a user checks, mounts reduced to their five public fields. */
export function cliJson(r: ResolvedCommand): Record<string, unknown> {
  const valuesOf = (list: { name: string; value: string }[]): Record<string, string> => Object.fromEntries(list.map((v) => [v.name, v.value]));
  return {
    image: r.image,
    'command-line': r['command-line'],
    'environment-variables': r['environment-variables'],
    ports: r.ports,
    'working-directory': r['working-directory'],
    mounts: r.mounts.map((m) => ({ name: m.name, writable: m.writable, 'container-path': m['container-path'], 'xnat-host-path': m['xnat-host-path'], 'container-host-path': m['container-host-path'] })),
    outputs: r.outputs,
    'wrapper-input-values': valuesOf([...r['external-wrapper-input-values'], ...r['derived-input-values']]),
    'command-input-values': valuesOf(r['command-input-values']),
    'setup-commands': r['setup-commands'].map(cliJson),
    'wrapup-commands': r['wrapup-commands'].map(cliJson),
  };
}

async function readInputs(pairs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ResolutionError('cli.input.syntax', `--input "${p}" is not NAME=VALUE`, { inputs: [] }, p);
    const name = p.slice(0, eq);
    const value = p.slice(eq + 1);
    out[name] = value.startsWith('@') ? (await readFile(value.slice(1), 'utf8')).trim() : value;
  }
  return out;
}

function textReport(r: ResolvedCommand): string {
  const lines = [`image: ${r.image}`, `command-line: ${r['command-line']}`];
  for (const [k, v] of Object.entries(r['environment-variables'])) lines.push(`env: ${k}=${v}`);
  for (const m of r.mounts) lines.push(`mount: ${m.name} ${m['container-path']} <- ${m['container-host-path']}${m.writable ? ' (writable)' : ''}`);
  for (const o of r.outputs) lines.push(`output: ${o.name} -> ${o.type} "${o.label ?? ''}" under ${o['handled-by']}`);
  for (const s of r['setup-commands']) lines.push(`setup: ${s.image} ${s['command-line']}`);
  for (const s of r['wrapup-commands']) lines.push(`wrapup: ${s.image} ${s['command-line']}`);
  return lines.join('\n');
}

/** `remote` is the server's archive when `--url` is given (built by the CLI layer, which may use HTTP). */
export async function runResolve(opts: ResolveCliArgs, remote?: XnatObjectSource): Promise<number> {
  let explanation: Explanation | null = null;
  try {
    const loaded = commandsFromText(await readFile(opts.command, 'utf8'), opts.command);
    const withWrappers = loaded.filter((l) => l.command.xnat.length > 0);
    const command = (withWrappers.find((l) => opts.wrapper === undefined || l.command.xnat.some((w) => w.name === opts.wrapper)) ?? loaded[0]).command;
    let wrapper: string | number | undefined = opts.wrapper;
    if (wrapper === undefined) {
      if (command.xnat.length !== 1) {
        throw new ResolutionError('cli.wrapper.choose', `Command "${command.name}" has ${command.xnat.length} wrappers; choose one with --wrapper (${command.xnat.map((w) => w.name).join(', ')})`, { inputs: [] });
      }
      wrapper = command.xnat[0].name;
    }
    const extra: Command[] = [];
    for (const f of opts.withCommand) for (const l of commandsFromText(await readFile(f, 'utf8'), f)) extra.push(l.command);
    const findCommandByImage = (ref: string): Command | null => {
      const { image, commandName } = parseImageCommandRef(ref);
      const sameImage = extra.filter((c) => c.image === image || c.image === `${image}:latest`);
      if (commandName) return sameImage.find((c) => c.name === commandName) ?? null;
      return sameImage.length === 1 ? sameImage[0] : null;
    };
    if (remote && opts.archive) throw new ResolutionError('cli.source.both', 'give --archive or --url, not both', { inputs: [] });
    const source = remote ?? new MemoryObjectSource(opts.archive ? JSON.parse(await readFile(opts.archive, 'utf8')) as unknown : []);
    const result = await resolveWithExplanation({
      command,
      wrapper,
      inputs: await readInputs(opts.input),
      source,
      project: opts.project ?? null,
      options: { findCommandByImage },
    });
    explanation = result.explanation;
    if (opts.json) {
      const out = cliJson(result.resolved);
      if (opts.explain) out.explanation = explanation;
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`${textReport(result.resolved)}\n`);
      if (opts.explain) process.stdout.write(`\n${explanationText(explanation)}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ResolutionError) explanation = e.explanation;
    const error: Record<string, unknown> = isXcsError(e) ? e.toJSON() : { code: 'internal', message: messageOf(e) };
    if (error.code === 'resolution.input.invalid-uri' && !opts.archive && !remote) {
      error.hint = 'Nothing to look archive URIs up in: give --archive FILE (a JSON tree of objects; see the README) or --url of a running server.';
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ error, ...(opts.explain && explanation ? { explanation } : {}) }, null, 2)}\n`);
    } else {
      process.stderr.write(`xcs resolve: ${error.message as string}\n${error.hint ? `hint: ${error.hint as string}\n` : ''}`);
      if (opts.explain && explanation) process.stderr.write(`\n${explanationText(explanation)}\n`);
    }
    return 1;
  }
}
