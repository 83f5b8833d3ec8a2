/** The input tree: external inputs at the roots, derived inputs below their parents, command inputs below their providers. */
import { replacementKeyOf, type WrapperDerivedInput, type WrapperInput } from '../../command/model.ts';
import type { TreeNode } from './model.ts';
import type { Resolver } from './resolver.ts';

export function buildTrees(resolver: Resolver): TreeNode[] {
  const byName = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  const providers = new Map<string, TreeNode>();
  const wrapperNode = (wi: WrapperInput, derived: WrapperDerivedInput | null): TreeNode => ({
    name: wi.name,
    key: replacementKeyOf(wi),
    kind: derived ? 'derived' : 'external',
    type: wi.type,
    required: wi.required,
    multiple: derived?.multiple ?? false,
    sensitive: wi.sensitive === true,
    wrapperInput: wi,
    derived,
    commandInput: null,
    children: [],
  });
  for (const wi of resolver.wrapper['external-inputs']) {
    const n = wrapperNode(wi, null);
    byName.set(wi.name, n);
    roots.push(n);
  }
  for (const di of resolver.wrapper['derived-inputs']) {
    const parent = byName.get(di['derived-from-wrapper-input']);
    if (!parent) {
      const p = di['derived-from-wrapper-input'];
      resolver.fail('resolution.input.order', `Derived input "${di.name}" claims parent "${p}", but I couldn't find "${p}". Are the inputs out of order?`, di.name);
    }
    const n = wrapperNode(di, di);
    parent.children.push(n);
    byName.set(di.name, n);
  }
  for (const wi of [...resolver.wrapper['external-inputs'], ...resolver.wrapper['derived-inputs']]) {
    const target = wi['provides-value-for-command-input'];
    if (target) providers.set(target, byName.get(wi.name) as TreeNode);
  }
  // Deviation: every wrapper key starts blank, so an unresolved optional input leaves no #key#.
  for (const n of byName.values()) resolver.values.set(n.key, '');
  for (const ci of resolver.command.inputs) {
    const n: TreeNode = {
      name: ci.name,
      key: replacementKeyOf(ci),
      kind: 'command',
      type: ci.type,
      required: ci.required,
      multiple: false,
      sensitive: ci.sensitive === true,
      wrapperInput: null,
      derived: null,
      commandInput: ci,
      children: [],
    };
    resolver.values.set(n.key, '');
    resolver.cmdline.set(n.key, '');
    const provider = providers.get(ci.name);
    if (provider) provider.children.push(n);
    else roots.push(n);
  }
  return roots;
}
