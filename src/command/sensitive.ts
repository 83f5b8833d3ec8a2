/**
 * Which inputs of a command are sensitive, and the command as the API shows it: their default values masked.
 *
 * XNAT masks sensitive values in the container record only (reference §6.5); we also mask the defaults that a
 * command, a wrapper or a wrapper configuration holds, for everyone, container managers included: a manager may
 * replace such a default (post a new value) but not read it, and posting the mask back keeps the stored value.
 */
import type { Command, CommandWrapper } from './model.ts';

/** What the API shows in place of a sensitive value (XNAT's string for sensitive inputs, §6.5). */
export const SENSITIVE_MASK = '*****';

/**
 * Names of the sensitive inputs of a command's wrappers (or of one wrapper): command inputs marked sensitive,
 * wrapper inputs marked sensitive, and wrapper inputs that provide the value of a sensitive command input — their
 * value is the secret too.
 */
export function sensitiveInputNames(command: Command, wrapper?: CommandWrapper): Set<string> {
  const names = new Set(command.inputs.filter((i) => i.sensitive === true).map((i) => i.name));
  const commandNames = new Set(names);
  for (const w of wrapper ? [wrapper] : command.xnat) {
    for (const i of [...w['external-inputs'], ...w['derived-inputs']]) {
      const feeds = i['provides-value-for-command-input'];
      if (i.sensitive === true || (feeds && commandNames.has(feeds))) names.add(i.name);
    }
  }
  return names;
}

function maskDefault<T extends { 'default-value'?: string | null }>(input: T, sensitive: boolean): T {
  const d = input['default-value'];
  return sensitive && d !== null && d !== undefined && d !== '' ? { ...input, 'default-value': SENSITIVE_MASK } : input;
}

/** A wrapper as the API shows it: defaults of its sensitive inputs masked. */
export function maskWrapper(command: Command, wrapper: CommandWrapper): CommandWrapper {
  const names = sensitiveInputNames(command, wrapper);
  return {
    ...wrapper,
    'external-inputs': wrapper['external-inputs'].map((i) => maskDefault(i, names.has(i.name))),
    'derived-inputs': wrapper['derived-inputs'].map((i) => maskDefault(i, names.has(i.name))),
  };
}

/** A command as the API shows it: defaults of sensitive inputs (command and wrapper inputs) masked. */
export function maskCommand(command: Command): Command {
  const names = sensitiveInputNames(command);
  return {
    ...command,
    inputs: command.inputs.map((i) => maskDefault(i, names.has(i.name))),
    xnat: command.xnat.map((w) => maskWrapper(command, w)),
  };
}

function keepDefault<T extends { name: string; 'default-value'?: string | null }>(input: T, stored: T | undefined): T {
  return input['default-value'] === SENSITIVE_MASK && stored ? { ...input, 'default-value': stored['default-value'] } : input;
}

/**
 * The posted command with every sensitive default that reads as the mask replaced by the stored one (inputs
 * matched by name, wrappers by name), so that a command read from the API and posted back loses nothing. An
 * input that has no stored counterpart keeps the mask as its literal value.
 */
export function keepMaskedDefaults(posted: Command, stored: Command): Command {
  const names = new Set([...sensitiveInputNames(posted), ...sensitiveInputNames(stored)]);
  const byName = <T extends { name: string }>(list: readonly T[]): Map<string, T> => new Map(list.map((x) => [x.name, x]));
  const storedInputs = byName(stored.inputs);
  const storedWrappers = byName(stored.xnat);
  return {
    ...posted,
    inputs: posted.inputs.map((i) => (names.has(i.name) ? keepDefault(i, storedInputs.get(i.name)) : i)),
    xnat: posted.xnat.map((w) => {
      const old = storedWrappers.get(w.name);
      if (!old) return w;
      const ext = byName(old['external-inputs']);
      const der = byName(old['derived-inputs']);
      return {
        ...w,
        'external-inputs': w['external-inputs'].map((i) => (names.has(i.name) ? keepDefault(i, ext.get(i.name)) : i)),
        'derived-inputs': w['derived-inputs'].map((i) => (names.has(i.name) ? keepDefault(i, der.get(i.name)) : i)),
      };
    }),
  };
}

/**
 * The default values of the sensitive inputs of a command (as configured, when given the configured command) and
 * one wrapper: what a response built from resolving it must not show.
 */
export function sensitiveDefaults(command: Command, wrapper: CommandWrapper): string[] {
  const names = sensitiveInputNames(command, wrapper);
  return [...command.inputs, ...wrapper['external-inputs'], ...wrapper['derived-inputs']]
    .filter((i) => names.has(i.name)).map((i) => i['default-value'] ?? '').filter((d) => d !== '' && d !== SENSITIVE_MASK);
}

/** Launch values as a report echoes them: those of sensitive inputs masked. */
export function maskParams(names: ReadonlySet<string>, params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, names.has(k) ? SENSITIVE_MASK : v]));
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The same as {@link keepMaskedDefaults} on a command body before it is validated: validation checks a default
 * against its select values, which the mask is not one of. Anything that is not shaped like a command is left alone.
 */
export function unmaskCommandBody(body: unknown, stored: Command): unknown {
  if (!isObject(body)) return body;
  const names = sensitiveInputNames(stored);
  const restore = (list: unknown, old: ReadonlyArray<{ name: string; 'default-value'?: string | null }>): unknown =>
    Array.isArray(list) ? list.map((i: unknown) => {
      if (!isObject(i) || i['default-value'] !== SENSITIVE_MASK || typeof i.name !== 'string' || !names.has(i.name)) return i;
      const was = old.find((o) => o.name === i.name);
      return was ? { ...i, 'default-value': was['default-value'] ?? null } : i;
    }) : list;
  const out: Json = { ...body, inputs: restore(body.inputs, stored.inputs) };
  if (body.inputs === undefined) delete out.inputs;
  if (Array.isArray(body.xnat)) {
    out.xnat = body.xnat.map((w: unknown) => {
      if (!isObject(w)) return w;
      const old = stored.xnat.find((x) => x.name === w.name);
      if (!old) return w;
      const ext = restore(w['external-inputs'], old['external-inputs']);
      const der = restore(w['derived-inputs'], old['derived-inputs']);
      return { ...w, ...(w['external-inputs'] === undefined ? {} : { 'external-inputs': ext }), ...(w['derived-inputs'] === undefined ? {} : { 'derived-inputs': der }) };
    });
  }
  return out;
}
