/**
 * A local run has no archive: the author picks the folders. To still resolve the command with the
 * service's own code (src/resolution), the chosen wrapper is run against *stand-in* archive objects:
 * one per wrapper input of an archive type (Session, Scan, Resource…), children of the objects they are
 * derived from, each object that provides a mount's files carrying the folder given for that mount as
 * its `directory`. Matchers choose objects among an archive's; here the author has chosen, so the
 * local wrapper drops them, and the stand-ins take field values from a matcher's simple equalities
 * (`@.label == 'DICOM'`) so that derived values look like the real ones.
 *
 * A command without wrappers gets one: a Session stand-in receiving every output as a Resource.
 */
import { basename } from 'node:path';
import { isDerivedInput, type Command, type CommandWrapper, type WrapperInput } from '../command/model.ts';
import { CHILDREN_OF, isXnatType, type ChildKind, type XnatType } from '../resolution/xnat-model.ts';

/** Name of the session input of the wrapper made for a command that has none. */
export const LOCAL_SESSION_INPUT = 'session';

interface StandInNode {
  input: WrapperInput;
  type: XnatType;
  object: Record<string, unknown>;
}

export interface StandIns {
  /** The wrapper as resolution sees it in a local run (matchers of archive inputs dropped). */
  wrapper: CommandWrapper;
  /** The stand-in archive: a JSON tree for `MemoryObjectSource`. */
  tree: Record<string, unknown>[];
  /** External input name → its stand-in's root in `tree`, and the collection holding it there (if nested in a session). */
  roots: Map<string, { index: number; kind: ChildKind | null }>;
  /** Mount name → the wrapper input whose object provides its files. */
  providedMounts: Map<string, string>;
  /** Stand-in labels by wrapper input name, for the upload summary. */
  labels: Map<string, string>;
}

/** Field values a matcher pins with `@.field == 'value'` (or `"value"`), e.g. a resource label. */
export function pinnedFields(matcher: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!matcher) return out;
  const re = /@\.([A-Za-z][\w-]*)\s*==\s*(?:'([^']*)'|"([^"]*)")/g;
  for (const m of matcher.matchAll(re)) out[m[1]] = m[2] ?? m[3] ?? '';
  return out;
}

/** The wrapper a command without wrappers runs with: every output a Resource on a stand-in session. */
export function wrapperForUnwrapped(command: Command): CommandWrapper {
  return {
    id: 0,
    name: 'local',
    label: null,
    description: 'made by xcs exec for a command without wrappers',
    contexts: ['xnat:imageSessionData'],
    'external-inputs': [{
      name: LOCAL_SESSION_INPUT, label: null, description: null, type: 'Session', matcher: null, 'default-value': null,
      required: true, 'replacement-key': null, sensitive: null, 'provides-value-for-command-input': null,
      'provides-files-for-command-mount': null, 'via-setup-command': null, 'user-settable': null, 'load-children': true,
    }],
    'derived-inputs': [],
    'output-handlers': command.outputs.map((o) => ({
      name: `${o.name}-resource`, 'accepts-command-output': o.name, 'as-a-child-of': LOCAL_SESSION_INPUT,
      'via-wrapup-command': null, type: 'Resource', 'xsi-type': null, label: o.name, format: null, description: null,
      content: null, tags: [],
    })),
  };
}

function childKind(parent: XnatType, child: XnatType): ChildKind | null {
  for (const [kind, type] of Object.entries(CHILDREN_OF[parent])) if (type === child) return kind as ChildKind;
  return null;
}

/**
 * Stand-ins for `wrapper`, with `mountDirs` (mount name → host folder) as the directories of the objects
 * that provide mounts. Inputs the author gave (`given`) keep their values: no stand-in is made for them.
 */
export function standInsFor(wrapper: CommandWrapper, mountDirs: Record<string, string>, given: Record<string, string>): StandIns {
  const local: CommandWrapper = structuredClone(wrapper);
  const nodes = new Map<string, StandInNode>();
  const tree: Record<string, unknown>[] = [];
  const providedMounts = new Map<string, string>();
  const labels = new Map<string, string>();
  const all: WrapperInput[] = [...local['external-inputs'], ...local['derived-inputs']];
  const roots = new Map<string, { index: number; kind: ChildKind | null }>();
  let counter = 0;
  for (const input of all) {
    const mount = input['provides-files-for-command-mount'];
    if (mount) providedMounts.set(mount, input.name);
    if (!isXnatType(input.type) || Object.hasOwn(given, input.name)) continue;
    const type = input.type;
    const parentName = isDerivedInput(input) ? input['derived-from-wrapper-input'] : null;
    const parent = parentName ? nodes.get(parentName) : undefined;
    const kind = parent ? childKind(parent.type, type) : null;
    input.matcher = null;
    // Derived upwards (the Session of a Scan): resolution asks the source for the ancestor, which exists.
    if (parentName && !kind) continue;
    const pinned = pinnedFields(wrapperMatcher(wrapper, input.name));
    counter += 1;
    const dir = mount ? mountDirs[mount] : undefined;
    const label = pinned.label ?? (dir ? basename(dir) : `local-${input.name}`);
    const object: Record<string, unknown> = { type, id: type === 'Scan' ? String(counter) : `LOCAL_${counter}`, label, ...pinned };
    if (type === 'Scan') object['scan-type'] ??= 'local';
    if (type === 'File') {
      object.name = dir ? basename(dir) : label;
      if (dir) object.path = dir;
    } else if (dir) object.directory = dir;
    labels.set(input.name, label);
    nodes.set(input.name, { input, type, object });
    if (parent && kind) {
      const list = (parent.object[kind] ??= []) as Record<string, unknown>[];
      list.push(object);
      continue;
    }
    // External: a Scan, Assessor or Resource lives in a session, so "the session of this scan" resolves.
    const nestedIn: ChildKind | null = type === 'Scan' ? 'scans' : type === 'Assessor' ? 'assessors' : type === 'Resource' ? 'resources' : null;
    const container = nestedIn ? { type: 'Session', id: `LOCAL_SESSION_${counter}`, label: 'local-session', 'project-id': 'LOCAL', [nestedIn]: [object] } : null;
    if (type === 'Project') object.id = pinned.id ?? 'LOCAL';
    else object['project-id'] = 'LOCAL';
    roots.set(input.name, { index: tree.length, kind: nestedIn });
    tree.push(container ?? object);
  }
  return { wrapper: local, tree, roots, providedMounts, labels };
}

function wrapperMatcher(wrapper: CommandWrapper, name: string): string | null {
  return [...wrapper['external-inputs'], ...wrapper['derived-inputs']].find((i) => i.name === name)?.matcher ?? null;
}
