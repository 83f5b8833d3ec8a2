/**
 * Choosing each input's single value (or the rendered list of a `multiple` input), reporting the values,
 * and the checks on the chosen values (missing required inputs, secret destinations).
 */
import { formatMultiple, formatValue, renderMultiple } from '../format.ts';
import type { ResolvedInputValue } from '../types.ts';
import { blank, type NodeResult, type TreeNode, type WrapperValue } from './model.ts';
import type { Resolver } from './resolver.ts';

export function report(resolver: Resolver, node: TreeNode, value: string | null): void {
  const entry: ResolvedInputValue = { name: node.name, value: value ?? 'null', type: node.type, sensitive: node.sensitive };
  resolver.reported[node.kind].push(entry);
}

export function walkUnique(resolver: Resolver, r: NodeResult): void {
  const { node, candidates } = r;
  if (node.multiple && candidates.length !== 1) {
    const values: string[] = [];
    let ci: TreeNode | null = null;
    for (const cand of candidates) {
      if (cand.children.length !== 1) resolver.fail('resolution.input.multiple', `${node.name} must have precisely one command input child element`, node.name);
      const child = cand.children[0];
      if (child.node.kind !== 'command' || child.candidates.length !== 1) {
        resolver.fail('resolution.input.multiple', `Invalid child for ${node.name}; expecting a command input with no children named ${node.wrapperInput?.['provides-value-for-command-input'] ?? ''}`, node.name);
      }
      ci = child.node;
      const v = child.candidates[0].value;
      if (!blank(v)) values.push(v);
    }
    if (candidates.length === 0) {
      if (node.required && !resolver.pre) resolver.fail('resolution.input.multiple', `${node.name} must have precisely one command input child element`, node.name);
      ci = node.children.find((c) => c.kind === 'command') ?? null;
    }
    const mount = node.wrapperInput?.['provides-files-for-command-mount'];
    if (mount && candidates.length > 1) resolver.mountClaims.set(mount, { node, value: null, object: null, several: true });
    const rendered = renderMultiple(ci?.commandInput ?? null, values);
    resolver.values.set(node.key, rendered);
    report(resolver, node, candidates.map((c) => c.value ?? 'null').join(', '));
    if (ci?.commandInput) {
      resolver.values.set(ci.key, rendered);
      resolver.cmdline.set(ci.key, formatMultiple(ci.commandInput, values));
      report(resolver, ci, values.join(' '));
    }
    return;
  }
  if (candidates.length === 1) {
    const cand = candidates[0];
    resolver.values.set(node.key, cand.value ?? '');
    if (node.commandInput) resolver.cmdline.set(node.key, formatValue(node.commandInput, cand.value));
    if (node.wrapperInput) {
      const wv: WrapperValue = { node, value: cand.value, object: cand.object };
      resolver.wrapperValues.set(node.name, wv);
      const mount = node.wrapperInput['provides-files-for-command-mount'];
      if (mount) resolver.mountClaims.set(mount, wv);
    }
    report(resolver, node, cand.value);
    for (const child of cand.children) walkUnique(resolver, child);
    return;
  }
  if (resolver.pre || !node.required) return;
  if (candidates.length === 0) {
    resolver.fail(
      'resolution.input.unresolved',
      `Input "${node.name}" could not be resolved for this item. You might check the JSONPath matchers in command.json and confirm that this item has ${node.type} data.`,
      node.name,
    );
  }
  resolver.fail('resolution.input.ambiguous', `Input "${node.name}"  does not have a unique, resolved value and multiple = true is not set in command.json.`, node.name);
}

export function missingRequired(resolver: Resolver, r: NodeResult, out: string[]): void {
  for (const c of r.candidates) for (const child of c.children) missingRequired(resolver, child, out);
  if (r.node.required && r.candidates.length > 0 && r.candidates.every((c) => c.value === null)) out.push(r.node.name);
}

export function checkSecrets(resolver: Resolver): void {
  const ids = resolver.command.secrets.map((s) => s.destination.identifier).filter((x) => x !== '');
  const all = [...resolver.reported.external, ...resolver.reported.derived, ...resolver.reported.command];
  const problems: string[] = [];
  for (const v of all) for (const id of ids) if (v.value.includes(id)) problems.push(`Input "${v.name}" resolved value "${v.value}" refers to secret destination "${id}"`);
  if (problems.length > 0) resolver.fail('resolution.input.secret', problems.join(' | '));
}
