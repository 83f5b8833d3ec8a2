/**
 * What the engine runs: resolution's ResolvedCommand (XNAT's §2.17 shape), frozen at launch time and
 * stored with the run, so a restart runs exactly what was launched.
 */
import type { ResolvedCommand, ResolvedInputValue } from '../../resolution/index.ts';

export type RunSpec = ResolvedCommand;

/** Every input value of the run (external, derived and command inputs). */
export function allInputValues(spec: RunSpec): ResolvedInputValue[] {
  return [...spec['external-wrapper-input-values'], ...spec['derived-input-values'], ...spec['command-input-values']];
}

/** Wrapper input name → value (archive URIs for object inputs): what output handlers refer to. */
export function wrapperInputValues(spec: RunSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of [...spec['external-wrapper-input-values'], ...spec['derived-input-values']]) out[v.name] = v.value;
  return out;
}

/** Values that must never appear in saved logs or API responses. */
export function sensitiveValues(spec: RunSpec): string[] {
  return allInputValues(spec).filter((v) => v.sensitive && v.value).map((v) => v.value);
}
