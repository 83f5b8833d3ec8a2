/** Resolving one input: external (launch value or default), derived (from the parent object), command inputs. */
import type { CommandInput, WrapperDerivedInput, WrapperInput } from '../../command/model.ts';
import { checkIllegal, parseStringArray } from '../format.ts';
import { substituteJsonPath, resolveTemplate } from '../template.ts';
import { isXnatType, type ChildKind, type XnatObject, type XnatType } from '../xnat-model.ts';
import type { InputExplanation } from '../types.ts';
import { blank, MATCH_KEYS, neededKinds, type Candidate, type TreeNode } from './model.ts';
import type { Resolver } from './resolver.ts';

export async function resolveExternal(resolver: Resolver, node: TreeNode): Promise<Candidate[]> {
  const wi = node.wrapperInput as WrapperInput;
  const given = Object.hasOwn(resolver.inputs, node.name) ? resolver.inputs[node.name] : undefined;
  let value: string | null = given ?? wi['default-value'];
  const ex: InputExplanation = { name: node.name, kind: 'external', type: node.type, source: given !== undefined ? 'launch' : 'default', candidates: [], values: [] };
  resolver.explanation.inputs.push(ex);
  if (value !== null) value = substituteJsonPath(value, resolver.roots);
  const matcher = resolveTemplate(wi.matcher, resolver.values, resolver.roots);
  if (matcher) ex.matcher = matcher;
  let object: XnatObject | null = null;
  if (!blank(value) && isXnatType(node.type)) {
    object = await resolver.instantiate(node.type, value, node.name);
    if (object && !blank(matcher)) {
      await resolver.populate(object, neededKinds(matcher));
      const m = resolver.match(matcher, object, node.name);
      ex.candidates.push(resolver.candidateOf(object, m.matched, m.reasons));
      if (!m.matched) object = null;
    } else if (object) ex.candidates.push(resolver.candidateOf(object, true, []));
    if (object) value = object.uri ?? value;
    else {
      value = null;
      if (ex.candidates.length === 0) ex.note = `no ${node.type} found for the value`;
    }
  }
  checkIllegal(node.name, value);
  ex.values.push(value);
  return [{ value, object, children: [] }];
}

export async function resolveDerived(resolver: Resolver, node: TreeNode, parentNode: TreeNode, parent: Candidate): Promise<Candidate[]> {
  const di = node.derived as WrapperDerivedInput;
  const ex: InputExplanation = { name: node.name, kind: 'derived', type: node.type, parent: parent.value ?? 'null', source: 'parent', candidates: [], values: [] };
  resolver.explanation.inputs.push(ex);
  const matcher = resolveTemplate(di.matcher, resolver.values, resolver.roots);
  const parser = resolveTemplate(di.parser, resolver.values, resolver.roots);
  if (matcher) ex.matcher = matcher;
  const given = Object.hasOwn(resolver.inputs, node.name) ? resolver.inputs[node.name] : undefined;
  const idHint = given ?? di['default-value'];
  const po = parent.object;
  const pt = parentNode.type;
  const property = di['derived-from-xnat-object-property'];
  let objects: XnatObject[] = [];
  const done = (cands: Candidate[]): Candidate[] => {
    for (const c of cands) checkIllegal(node.name, c.value);
    ex.values = cands.map((c) => c.value);
    if (cands.length === 0 && !ex.note) ex.note = ex.candidates.length > 0 ? 'no candidate matched' : `the parent has no ${node.type} candidates`;
    return cands;
  };
  if (!po) {
    ex.note = `parent "${parentNode.name}" has no archive object`;
    return done([]);
  }
  const fromChildren = async (kind: ChildKind): Promise<void> => {
    const kids = await resolver.childrenOf(po, kind);
    objects = await matchChildren(resolver, kids, MATCH_KEYS[node.type] ?? ['uri'], idHint, matcher, di.multiple, ex);
  };
  const fromAncestor = async (type: XnatType): Promise<void> => {
    const a = await resolver.ancestorOf(po, type);
    if (!a) return;
    if (blank(matcher)) {
      ex.candidates.push(resolver.candidateOf(a, true, []));
      objects = [a];
      return;
    }
    await resolver.populate(a, neededKinds(matcher));
    const m = resolver.match(matcher, a, node.name);
    ex.candidates.push(resolver.candidateOf(a, m.matched, m.reasons));
    if (m.matched) objects = [a];
  };
  switch (node.type) {
    case 'string': {
      if (!isXnatType(pt) || blank(property)) return done([]);
      if (!blank(matcher)) {
        const m = resolver.match(matcher, po, node.name);
        ex.candidates.push(resolver.candidateOf(po, m.matched, m.reasons));
        if (!m.matched) return done([]);
      }
      const v = resolver.readProperty(po, property, parser);
      return done(v === null ? [] : [{ value: v, object: null, children: [] }]);
    }
    case 'Directory':
      return done(pt === 'Resource' && typeof po.directory === 'string' ? [{ value: po.directory, object: null, children: [] }] : []);
    case 'File':
    case 'File[]':
      if (pt === 'Resource') await fromChildren('files');
      break;
    case 'Project':
      if (pt !== 'Project' && isXnatType(pt) && pt !== 'Resource' && pt !== 'File') await fromAncestor('Project');
      break;
    case 'Subject':
      if (pt === 'Project') await fromChildren('subjects');
      else if (pt === 'Session' || pt === 'SubjectAssessor') await fromAncestor('Subject');
      break;
    case 'Session':
      if (pt === 'Subject') await fromChildren('sessions');
      else if (pt === 'Scan' || pt === 'Assessor') await fromAncestor('Session');
      break;
    case 'SubjectAssessor':
      if (pt === 'Subject') await fromChildren('subject-assessors');
      break;
    case 'ProjectAsset':
      if (pt === 'Project') await fromChildren('project-assets');
      break;
    case 'Scan':
      if (pt === 'Session') await fromChildren('scans');
      else if (pt === 'Resource') await fromAncestor('Scan');
      break;
    case 'Assessor':
      if (pt === 'Session') await fromChildren('assessors');
      break;
    case 'Resource':
      if (isXnatType(pt) && pt !== 'Resource' && pt !== 'File') await fromChildren('resources');
      break;
    default:
      ex.note = `a ${node.type} input never gets a value when derived`;
      return done([]);
  }
  return done(
    objects.map((o) => ({
      value: property ? resolver.readProperty(o, property, parser) : (o.uri ?? null),
      object: o,
      children: [],
    })),
  );
}

/** XNAT's `matchChildFromParent`: try each key with the id hint, then the input's matcher. */
export async function matchChildren(
  resolver: Resolver,
  kids: XnatObject[],
  keys: string[],
  idHint: string | null,
  matcher: string | null,
  multiple: boolean,
  ex: InputExplanation,
): Promise<XnatObject[]> {
  const needs = neededKinds(matcher);
  if (needs.size > 0) for (const k of kids) await resolver.populate(k, needs);
  const attempts: (string | null)[] = [];
  if (blank(idHint)) attempts.push(blank(matcher) ? null : matcher);
  else {
    const list = multiple ? parseStringArray(idHint) : null;
    for (const key of keys) {
      const hint = list ? `@.${key} in ${JSON.stringify(list)}` : `@.${key} == '${idHint}'`;
      attempts.push(blank(matcher) ? hint : `${hint} && ${matcher}`);
    }
  }
  let kept: XnatObject[] = [];
  for (const full of attempts) {
    ex.candidates = [];
    kept = [];
    for (const k of kids) {
      if (full === null) {
        ex.candidates.push(resolver.candidateOf(k, true, []));
        kept.push(k);
        continue;
      }
      const m = resolver.match(full, k, ex.name);
      ex.candidates.push(resolver.candidateOf(k, m.matched, m.reasons));
      if (m.matched) kept.push(k);
    }
    if (full !== null && full !== matcher) ex.matcher = full;
    if (kept.length > 0) break;
  }
  return kept;
}

export function resolveCommandInput(resolver: Resolver, node: TreeNode, provider: Candidate | null): Candidate {
  const ci = node.commandInput as CommandInput;
  const given = Object.hasOwn(resolver.inputs, node.name) ? resolver.inputs[node.name] : undefined;
  let value: string | null = ci['default-value'];
  let source: InputExplanation['source'] = 'default';
  if (given !== undefined && given !== null) {
    value = given;
    source = 'launch';
  }
  if (provider && provider.value !== null) {
    value = provider.value;
    source = 'provider';
  }
  if (value !== null) value = substituteJsonPath(value, resolver.roots);
  if (ci.type === 'boolean') {
    const isTrue = value !== null && value.trim().toLowerCase() === 'true';
    if (isTrue) value = ci['true-value'] ?? value;
    else value = ci['false-value'] ?? value;
  }
  checkIllegal(node.name, value);
  resolver.explanation.inputs.push({ name: node.name, kind: 'command', type: node.type, source, candidates: [], values: [value] });
  return { value, object: null, children: [] };
}
