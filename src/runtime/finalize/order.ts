/**
 * The order in which outputs are committed: a handler whose `handled-by` names another handler comes
 * after it (XNAT's `as-a-child-of` chains). Outputs keep the resolver's order otherwise.
 */
import type { ResolvedOutput } from './types.ts';

/** The handler a resolved output came from; chained handlers refer to each other by this name. */
export function handlerName(output: ResolvedOutput): string {
  const explicit = output['from-output-handler'];
  if (explicit) return explicit;
  const colon = output.name.indexOf(':');
  return colon >= 0 ? output.name.slice(colon + 1) : output.name;
}

export interface OutputOrder {
  /** Parents before children. */
  ordered: ResolvedOutput[];
  /** Outputs on (or below) a `handled-by` loop; they cannot be uploaded. */
  cyclic: ResolvedOutput[];
}

/**
 * Sorts outputs so that each parent handler precedes its children. `inputNames` are the wrapper inputs:
 * a `handled-by` naming one of them is an archive object, not a handler, as in XNAT's resolution.
 */
export function orderOutputs(outputs: readonly ResolvedOutput[], inputNames: ReadonlySet<string>): OutputOrder {
  const byHandler = new Map<string, ResolvedOutput>();
  for (const o of outputs) if (!byHandler.has(handlerName(o))) byHandler.set(handlerName(o), o);

  const parentOf = (o: ResolvedOutput): ResolvedOutput | undefined =>
    inputNames.has(o['handled-by']) ? undefined : byHandler.get(o['handled-by']);

  const ordered: ResolvedOutput[] = [];
  const cyclic = new Set<ResolvedOutput>();
  const done = new Set<ResolvedOutput>();

  for (const start of outputs) {
    if (done.has(start) || cyclic.has(start)) continue;
    // Walk up to the first placed ancestor (or a loop), then place the chain top-down.
    const chain: ResolvedOutput[] = [];
    let node: ResolvedOutput | undefined = start;
    let loops = false;
    while (node && !done.has(node)) {
      if (cyclic.has(node) || chain.includes(node)) {
        loops = true;
        break;
      }
      chain.push(node);
      node = parentOf(node);
    }
    if (loops) {
      for (const c of chain) cyclic.add(c);
      continue;
    }
    for (const c of chain.reverse()) {
      done.add(c);
      ordered.push(c);
    }
  }
  return { ordered, cyclic: outputs.filter((o) => cyclic.has(o)) };
}
