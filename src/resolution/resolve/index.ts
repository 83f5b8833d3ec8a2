/**
 * Command resolution (reference §2): command + wrapper + archive objects + the user's values give the
 * exact command line, environment, mounts and outputs of a container, and an explanation of every
 * choice. Resolution reads the archive only through `XnatObjectSource` and loads only the child
 * collections a wrapper needs; it writes no files (build directories are named, not created).
 *
 * Failures throw `ResolutionError` (an `XcsError` with a stable code and the input name as `path`)
 * carrying the explanation gathered so far in `explanation`.
 *
 * The steps live beside this file: model.ts (shapes), tree.ts (input tree), inputs.ts (each input's
 * candidates), unique.ts (single values, checks), mounts.ts, outputs.ts, auxiliary.ts (setup/wrapup
 * commands, swarm constraints), parser.ts (§2.5 parsers); resolver.ts holds one resolution's state.
 */
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandWrapper } from '../../command/model.ts';
import type { Explanation, ResolvedCommand } from '../types.ts';
import { ResolutionError, type NodeResult, type ResolveArgs } from './model.ts';
import { Resolver } from './resolver.ts';

export { ResolutionError, type ResolveArgs } from './model.ts';
export { parseValue } from './parser.ts';

function pickWrapper(command: Command, wrapper: string | number): CommandWrapper {
  const w =
    typeof wrapper === 'number'
      ? command.xnat.find((x) => x.id === wrapper)
      : (command.xnat.find((x) => x.name === wrapper) ?? (/^\d+$/.test(wrapper) ? command.xnat.find((x) => x.id === Number(wrapper)) : undefined));
  if (!w) {
    throw new XcsError('resolution.wrapper.not-found', `Command "${command.name}" has no wrapper ${JSON.stringify(wrapper)}. Known wrappers: ${command.xnat.map((x) => x.name).join(', ') || '(none)'}`, {
      path: String(wrapper),
    });
  }
  return w;
}

/** Full resolution (§2): everything a container needs. Throws `ResolutionError` on failure. */
export async function resolveCommand(args: ResolveArgs): Promise<ResolvedCommand> {
  const r = await resolveWithExplanation(args);
  return r.resolved;
}

/** Full resolution that also returns the explanation of every input's candidates. */
export async function resolveWithExplanation(args: ResolveArgs): Promise<{ resolved: ResolvedCommand; explanation: Explanation }> {
  const wrapper = pickWrapper(args.command, args.wrapper);
  const r = new Resolver(args.command, wrapper, args.inputs, args.source, args.user, args.project ?? null, args.options ?? {}, false);
  try {
    return { resolved: await r.resolve(), explanation: r.explanation };
  } catch (e) {
    if (e instanceof XcsError && !(e instanceof ResolutionError)) {
      throw new ResolutionError(e.code, e.message, r.explanation, e.path, e.hint);
    }
    throw e;
  }
}

/** A pre-resolved input, for launch forms. */
export interface PreResolvedInput {
  name: string;
  kind: 'external' | 'derived' | 'command';
  type: string;
  required: boolean;
  'user-settable': boolean;
  /** The candidate values (several for a select in the launch UI). */
  values: { value: string | null; label: string | null }[];
  parent: string | null;
}

/**
 * Pre-resolution (§2.1): the input trees only, for launch forms. Never fails for unresolved optional
 * inputs; fails with `resolution.pre.required` only when a required derived input has no candidate.
 */
export async function preResolve(args: ResolveArgs): Promise<{ inputs: PreResolvedInput[]; explanation: Explanation }> {
  const wrapper = pickWrapper(args.command, args.wrapper);
  const r = new Resolver(args.command, wrapper, args.inputs, args.source, args.user, args.project ?? null, args.options ?? {}, true);
  const results = await r.resolveTrees();
  const out: PreResolvedInput[] = [];
  const visit = (res: NodeResult, parent: string | null): void => {
    const n = res.node;
    if (n.kind === 'derived' && n.required && res.candidates.length === 0) {
      throw new ResolutionError('resolution.pre.required', `The following required fields cannot be resolved using the provided data: ${n.name}`, r.explanation, n.name);
    }
    out.push({
      name: n.name,
      kind: n.kind,
      type: n.type,
      required: n.required,
      'user-settable': n.wrapperInput?.['user-settable'] ?? true,
      values: res.candidates.map((c) => ({ value: c.value, label: c.object ? (c.object.label ?? null) : c.value })),
      parent,
    });
    for (const c of res.candidates.slice(0, 1)) for (const child of c.children) visit(child, n.name);
  };
  for (const res of results) visit(res, null);
  return { inputs: out, explanation: r.explanation };
}
