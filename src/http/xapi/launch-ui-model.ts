/**
 * XNAT's launch-UI model (reference §5.3 "Launch UI JSON"), built from a pre-resolution: `meta`,
 * `container-server-config`, `input-config` (one node per input, nested as the input tree) and
 * `input-values` (the candidate values, each with the values of the inputs below it for that choice).
 *
 * Pre-resolution reports its flat `inputs` along the first candidate only, but its explanation holds one
 * entry per resolved node in depth-first order (a node, then for each of its candidates the subtrees of its
 * children). Rebuilding the tree from the wrapper's declarations and walking the explanation with it gives
 * every candidate its own children — a scan chosen in a select gets its own resources.
 *
 * Additions XNAT clients ignore: `meta.enabled`; `sensitive` on config nodes; `explanation` on a values node
 * with no value (why each candidate was rejected). Deviations, on purpose: values of sensitive inputs are
 * masked (the launch UI is readable by every project reader, and configured defaults may be secrets), and a
 * sensitive wrapper input renders as `password` as XNAT renders sensitive command inputs; `wrapper-label` is
 * the wrapper's label (XNAT loses it when applying the configuration and answers null).
 */
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandInput, CommandWrapper, WrapperDerivedInput, WrapperInput } from '../../command/model.ts';
import type { CandidateExplanation, Explanation, InputExplanation } from '../../resolution/index.ts';
import { isXnatType } from '../../resolution/index.ts';
import { SENSITIVE_MASK, sensitiveInputNames } from '../../command/sensitive.ts';
import { redactor } from '../../runtime/index.ts';
import type { CommandConfiguration } from './configuration.ts';
import type { CallbackNote } from './site-settings-keys.ts';

export const MASK = SENSITIVE_MASK;

export type LaunchUiInputType = 'text' | 'password' | 'boolean' | 'select-one' | 'select-many' | 'static' | 'derived' | 'file';

export interface LaunchUiMeta {
  /** XCS: present when the command calls XNAT back (README "Calling-back tools"). */
  'calls-back'?: CallbackNote;
  'command-id': number;
  'command-name': string;
  'command-label': string | null;
  'command-description': string | null;
  'command-metadata': unknown;
  'wrapper-id': number;
  'wrapper-name': string;
  'wrapper-label': string | null;
  'wrapper-description': string | null;
  'image-name': string;
  'image-type': string;
  /** XCS: whether the wrapper may be launched here (site-enabled, and project-enabled when there is a project). */
  enabled: boolean;
}

export interface LaunchUiSwarmConstraint {
  attribute: string;
  comparator: string;
  values: string[];
}

export interface LaunchUiInputConfig {
  name: string;
  label: string;
  description: string | null;
  advanced: boolean;
  required: boolean;
  'user-settable': boolean;
  multiple: boolean;
  'input-type': LaunchUiInputType;
  'derived-value-info': string | null;
  'derived-value-message': string | null;
  'select-values': string[];
  /** XCS: the values of this input are masked in `input-values`. */
  sensitive: boolean;
  children: LaunchUiInputConfig[];
  /** XCS: not an input of the command but where its run goes (`launch-ui-slurm.ts`); sent at launch like an input. */
  placement?: 'slurm';
}

export interface LaunchUiValue {
  value: string;
  label: string;
  children: LaunchUiValuesNode[];
}

/** XCS: why an input got no value here. */
export interface NoValueExplanation {
  matcher?: string;
  note?: string;
  candidates: CandidateExplanation[];
}

export interface LaunchUiValuesNode {
  name: string;
  values: LaunchUiValue[];
  explanation?: NoValueExplanation;
}

export interface LaunchUi {
  meta: LaunchUiMeta;
  'container-server-config': { 'swarm-constraints': LaunchUiSwarmConstraint[] | null };
  'input-config': LaunchUiInputConfig[];
  'input-values': LaunchUiValuesNode[];
}

export interface LaunchUiArgs {
  /** The command with the configuration applied (`applyConfiguration`), holding the wrapper. */
  command: Command;
  wrapperId: number;
  /** The effective configuration (command inputs take `advanced` and `user-settable` from it). */
  config: CommandConfiguration;
  /** The explanation returned by `preResolve` for this command, wrapper and launch values. */
  explanation: Explanation;
  /** The server's swarm constraints; null when the server has none set. */
  swarmConstraints: Array<LaunchUiSwarmConstraint & { 'user-settable': boolean }> | null;
  enabled: boolean;
  /** XCS: the command calls XNAT back; whether its container would get a network, and the setting that gives one. */
  callsBack?: CallbackNote | null;
  /**
   * Bulk launch UI: the root element (external input) that takes each target in turn. Its values and those
   * of inputs derived from it are the sample target's, so they render as `derived` with a hint.
   */
  bulkRoot?: { name: string; sampleTarget: string };
  /** XCS: placement choices offered as inputs after the command's (Slurm partition/account/QoS). */
  placementInputs?: { config: LaunchUiInputConfig[]; values: LaunchUiValuesNode[] };
}

/** One input of the tree, as resolution builds it (§2.3). */
interface InputDef {
  name: string;
  kind: 'external' | 'derived' | 'command';
  type: string;
  required: boolean;
  sensitive: boolean;
  wrapperInput: WrapperInput | null;
  derived: WrapperDerivedInput | null;
  commandInput: CommandInput | null;
  children: InputDef[];
}

/** One resolved occurrence of an input (a derived input occurs once per value of its parent). */
interface Occurrence {
  def: InputDef;
  entry: InputExplanation;
  values: Array<{ value: string | null; label: string | null; children: Occurrence[] }>;
}

/** The input trees in resolution's order: external roots, derived under parents, fed command inputs last. */
export function inputTrees(command: Command, wrapper: CommandWrapper): InputDef[] {
  const sensitive = sensitiveInputNames(command, wrapper);
  const byName = new Map<string, InputDef>();
  const roots: InputDef[] = [];
  const wrapperDef = (wi: WrapperInput, derived: WrapperDerivedInput | null): InputDef => ({
    name: wi.name, kind: derived ? 'derived' : 'external', type: wi.type, required: wi.required, sensitive: sensitive.has(wi.name),
    wrapperInput: wi, derived, commandInput: null, children: [],
  });
  for (const wi of wrapper['external-inputs']) {
    const d = wrapperDef(wi, null);
    byName.set(wi.name, d);
    roots.push(d);
  }
  for (const di of wrapper['derived-inputs']) {
    const parent = byName.get(di['derived-from-wrapper-input']);
    // Resolution has already refused a wrapper whose derived input names no earlier input.
    if (!parent) throw new XcsError('launch-ui.input-order', `Derived input "${di.name}" has no parent "${di['derived-from-wrapper-input']}"`, { status: 400, path: di.name });
    const d = wrapperDef(di, di);
    parent.children.push(d);
    byName.set(di.name, d);
  }
  const providers = new Map<string, InputDef>();
  for (const wi of [...wrapper['external-inputs'], ...wrapper['derived-inputs']]) {
    const target = wi['provides-value-for-command-input'];
    if (target) providers.set(target, byName.get(wi.name) as InputDef);
  }
  for (const ci of command.inputs) {
    const d: InputDef = {
      name: ci.name, kind: 'command', type: ci.type, required: ci.required, sensitive: sensitive.has(ci.name),
      wrapperInput: null, derived: null, commandInput: ci, children: [],
    };
    (providers.get(ci.name)?.children ?? roots).push(d);
  }
  return roots;
}

function labelsOf(def: InputDef, entry: InputExplanation): Array<string | null> {
  const accepted = entry.candidates.filter((c) => c.accepted);
  // Object-valued inputs show the object's label; scalars (and properties read from objects) show the value.
  const objectValued = (isXnatType(def.type) || def.type === 'File[]') && !def.derived?.['derived-from-xnat-object-property'];
  const useObjects = objectValued && accepted.length === entry.values.length;
  return entry.values.map((v, i) => (useObjects ? accepted[i].label : v));
}

/** Walks the explanation with the input trees, giving each candidate value its own child occurrences. */
function occurrences(roots: InputDef[], explanation: Explanation): Occurrence[] {
  const entries = explanation.inputs;
  let next = 0;
  const consume = (def: InputDef): Occurrence => {
    const entry = entries[next++];
    if (!entry || entry.name !== def.name || entry.kind !== def.kind) {
      throw new XcsError('launch-ui.explanation-mismatch',
        `The pre-resolution of input "${def.name}" was not found where expected (got ${entry ? `"${entry.name}"` : 'nothing'})`, { status: 500, path: def.name });
    }
    const labels = labelsOf(def, entry);
    return {
      def, entry,
      values: entry.values.map((value, i) => ({ value, label: labels[i], children: def.children.map(consume) })),
    };
  };
  const out = roots.map(consume);
  if (next !== entries.length) {
    throw new XcsError('launch-ui.explanation-mismatch', `The pre-resolution has ${entries.length - next} unexpected entries`, { status: 500 });
  }
  return out;
}

/** Every occurrence of every input, by name, counting only values a user can see (non-null under non-null). */
function visibleOccurrences(occs: Occurrence[], into = new Map<string, Occurrence[]>()): Map<string, Occurrence[]> {
  for (const o of occs) {
    into.set(o.def.name, [...(into.get(o.def.name) ?? []), o]);
    for (const v of o.values) if (v.value !== null) visibleOccurrences(v.children, into);
  }
  return into;
}

function inputTypeOf(def: InputDef, occs: Occurrence[], userSettable: boolean): LaunchUiInputType {
  let t: LaunchUiInputType;
  if (def.type === 'boolean') t = 'boolean';
  else if (def.kind === 'command') {
    if (def.type === 'select-one' || def.type === 'select-many' || def.type === 'file') t = def.type;
    else t = def.sensitive ? 'password' : 'text';
  } else {
    const counts = occs.map((o) => o.values.filter((v) => v.value !== null).length);
    if (counts.some((n) => n > 1)) t = def.derived?.multiple ? 'select-many' : 'select-one';
    else if (counts.length > 0 && counts.every((n) => n === 1)) t = 'static';
    else t = def.sensitive ? 'password' : 'text';
  }
  return userSettable ? t : 'static';
}

/** Replaces every sensitive value in the explanation's text (a matcher is templated with other inputs' values). */
function scrubber(secrets: string[]): (s: string) => string {
  const r = redactor(secrets);
  return (s) => r.text(s);
}

export function buildLaunchUi(args: LaunchUiArgs): LaunchUi {
  const { command, config } = args;
  const wrapper = command.xnat.find((w) => w.id === args.wrapperId);
  if (!wrapper) throw new XcsError('xapi.wrapper.not-found', `No wrapper with id ${args.wrapperId}`, { status: 404, path: String(args.wrapperId) });
  const roots = inputTrees(command, wrapper);
  const occs = occurrences(roots, args.explanation);
  const byName = visibleOccurrences(occs);

  const secrets: string[] = [];
  const collectSecrets = (list: Occurrence[]): void => {
    for (const o of list) {
      for (const v of o.values) {
        if (o.def.sensitive && v.value !== null) secrets.push(v.value);
        collectSecrets(v.children);
      }
    }
  };
  collectSecrets(occs);
  const scrub = scrubber(secrets);

  const userSettable = (d: InputDef): boolean =>
    d.wrapperInput ? d.wrapperInput['user-settable'] ?? true : config.inputs[d.name]?.['user-settable'] ?? true;
  // Command inputs fed by a wrapper input take its value: the UI never shows them.
  const shown = (d: InputDef): InputDef[] => d.children.filter((c) => c.kind !== 'command');

  const bulk = args.bulkRoot;
  const perTarget = new Set<string>();
  const markPerTarget = (d: InputDef): void => {
    if (d.kind === 'command') return;
    perTarget.add(d.name);
    d.children.forEach(markPerTarget);
  };
  if (bulk) roots.filter((r) => r.name === bulk.name).forEach(markPerTarget);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

  const configNode = (d: InputDef): LaunchUiInputConfig => {
    const settable = userSettable(d);
    const label = d.wrapperInput?.label ?? d.commandInput?.label ?? null;
    const derived = bulk !== undefined && perTarget.has(d.name);
    return {
      name: d.name,
      label: label ?? d.name,
      description: d.wrapperInput?.description ?? d.commandInput?.description ?? null,
      advanced: config.inputs[d.name]?.advanced ?? false,
      required: d.required,
      'user-settable': settable,
      multiple: d.derived?.multiple ?? false,
      'input-type': derived ? 'derived' : inputTypeOf(d, byName.get(d.name) ?? [], settable),
      'derived-value-info': derived && bulk
        ? (d.name === bulk.name ? '<i>Each selected target in turn</i>' : `<i>Derived from <b>${esc(bulk.name)}</b> for each target</i>`)
        : null,
      'derived-value-message': derived && bulk ? `Values shown are those of the sample target <b>${esc(bulk.sampleTarget)}</b>.` : null,
      'select-values': d.commandInput?.['select-values'] ?? [],
      sensitive: d.sensitive,
      children: shown(d).map(configNode),
    };
  };

  const valuesNode = (o: Occurrence): LaunchUiValuesNode => {
    const mask = (s: string): string => (o.def.sensitive && s !== '' ? MASK : s);
    const values: LaunchUiValue[] = [];
    for (const v of o.values) {
      if (v.value === null) continue;
      values.push({
        value: mask(v.value),
        label: mask(v.label ?? v.value),
        children: v.children.filter((c) => c.def.kind !== 'command').map(valuesNode),
      });
    }
    const node: LaunchUiValuesNode = { name: o.def.name, values };
    if (values.length === 0) {
      const e = o.entry;
      node.explanation = {
        ...(e.matcher !== undefined ? { matcher: scrub(e.matcher) } : {}),
        ...(e.note !== undefined ? { note: scrub(e.note) } : {}),
        candidates: e.candidates.map((c) => ({ ...c, label: scrub(c.label), reasons: c.reasons.map(scrub) })),
      };
    }
    return node;
  };

  const constraints = args.swarmConstraints;
  return {
    meta: {
      'command-id': command.id,
      'command-name': command.name,
      'command-label': command.label ?? null,
      'command-description': command.description ?? null,
      'command-metadata': command['command-metadata'] ?? null,
      'wrapper-id': wrapper.id,
      'wrapper-name': wrapper.name,
      'wrapper-label': wrapper.label ?? null,
      'wrapper-description': wrapper.description ?? null,
      'image-name': command.image,
      'image-type': command.type,
      enabled: args.enabled,
      ...(args.callsBack ? { 'calls-back': args.callsBack } : {}),
    },
    'container-server-config': {
      'swarm-constraints': constraints === null ? null
        : constraints.filter((c) => c['user-settable']).map((c) => ({ attribute: c.attribute, comparator: c.comparator, values: [...c.values] })),
    },
    'input-config': [...roots.map(configNode), ...(args.placementInputs?.config ?? [])],
    'input-values': [...occs.map(valuesNode), ...(args.placementInputs?.values ?? [])],
  };
}
