/**
 * Command resolution (reference §2): command + wrapper + archive objects + the user's values give the
 * exact command line, environment, mounts and outputs of a container, and an explanation of every
 * choice. Resolution reads the archive only through `XnatObjectSource` and loads only the child
 * collections a wrapper needs; it writes no files (build directories are named, not created).
 *
 * Failures throw `ResolutionError` (an `XcsError` with a stable code and the input name as `path`)
 * carrying the explanation gathered so far in `explanation`.
 */
import { XcsError } from '../core/errors.ts';
import {
  replacementKeyOf,
  type Command,
  type CommandInput,
  type CommandWrapper,
  type OutputHandler,
  type WrapperDerivedInput,
  type WrapperInput,
} from '../command/model.ts';
import { explainMatch, matches, query, type JsonValue } from '../matcher/index.ts';
import { checkIllegal, formatMultiple, formatValue, parseStringArray, renderMultiple } from './format.ts';
import { MemoryObjectSource } from './memory-source.ts';
import { substituteJsonPath, resolveTemplate, type ReplacementMap, type TemplateRoots } from './template.ts';
import type { XnatObjectSource } from './source.ts';
import { archiveUri, CHILD_KINDS, CHILDREN_OF, isXnatType, MOUNTABLE_TYPES, type ChildKind, type XnatObject, type XnatType } from './xnat-model.ts';
import { parseImageCommandRef } from './image-ref.ts';
import { evaluateXPath, XPathUnsupported } from './xpath.ts';
import { compileJavaRegex } from '../matcher/regex.ts';
import type {
  CandidateExplanation,
  Explanation,
  InputExplanation,
  ResolvedCommand,
  ResolvedInputValue,
  ResolvedMount,
  ResolvedOutput,
  ResolveOptions,
} from './types.ts';

export class ResolutionError extends XcsError {
  constructor(
    code: string,
    message: string,
    readonly explanation: Explanation,
    path?: string,
    hint?: string,
  ) {
    super(code, message, { path, hint, status: 400 });
  }
}

export interface ResolveArgs {
  command: Command;
  /** Wrapper name or id. */
  wrapper: string | number;
  /** The launch values, by input name (wrapper or command inputs). */
  inputs: Record<string, string>;
  source: XnatObjectSource;
  user?: string | null;
  project?: string | null;
  options?: ResolveOptions;
}

interface TreeNode {
  name: string;
  key: string;
  kind: 'external' | 'derived' | 'command';
  type: string;
  required: boolean;
  multiple: boolean;
  sensitive: boolean;
  wrapperInput: WrapperInput | null;
  derived: WrapperDerivedInput | null;
  commandInput: CommandInput | null;
  children: TreeNode[];
}

interface Candidate {
  value: string | null;
  object: XnatObject | null;
  children: NodeResult[];
}

interface NodeResult {
  node: TreeNode;
  candidates: Candidate[];
}

interface WrapperValue {
  node: TreeNode;
  value: string | null;
  object: XnatObject | null;
  /** A `multiple` input that resolved to several values: it cannot provide a mount's files (§2.13). */
  several?: boolean;
}

const MATCH_KEYS: Record<string, string[]> = {
  Subject: ['uri', 'id', 'label', 'directory'],
  Session: ['uri', 'id', 'label', 'directory'],
  SubjectAssessor: ['uri', 'id', 'label', 'directory'],
  ProjectAsset: ['uri', 'id', 'label', 'directory'],
  Scan: ['uri', 'id', 'directory'],
  Assessor: ['uri', 'id', 'label'],
  Resource: ['uri', 'id', 'label'],
  File: ['uri'],
  'File[]': ['uri'],
};

function blank(s: string | null | undefined): s is null | undefined | '' {
  return s === null || s === undefined || s.trim() === '';
}

function text(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The collections a matcher or property mentions: what must be loaded for it to see them. */
function neededKinds(...texts: (string | null | undefined)[]): Set<ChildKind> {
  const out = new Set<ChildKind>();
  for (const t of texts) if (t) for (const k of CHILD_KINDS) if (t.includes(k)) out.add(k);
  return out;
}

class Resolver {
  readonly values: ReplacementMap = new Map();
  readonly cmdline: ReplacementMap = new Map();
  readonly explanation: Explanation = { inputs: [] };
  readonly roots: TemplateRoots;
  readonly wrapperValues = new Map<string, WrapperValue>();
  readonly mountClaims = new Map<string, WrapperValue>();
  readonly reported = { external: [] as ResolvedInputValue[], derived: [] as ResolvedInputValue[], command: [] as ResolvedInputValue[] };
  /** Objects given as JSON live in their own little source; children must be read from it. */
  readonly sourceOf = new WeakMap<XnatObject, XnatObjectSource>();
  readonly user: string | null;

  constructor(
    readonly command: Command,
    readonly wrapper: CommandWrapper,
    readonly inputs: Record<string, string>,
    readonly source: XnatObjectSource,
    user: string | null | undefined,
    readonly project: string | null,
    readonly options: ResolveOptions,
    readonly pre: boolean,
  ) {
    this.user = user ?? null;
    this.roots = { command: command as unknown as JsonValue, wrapper: wrapper as unknown as JsonValue };
  }

  fail(code: string, message: string, path?: string): never {
    throw new ResolutionError(code, message, this.explanation, path);
  }

  // ---- tree ------------------------------------------------------------------------------------

  buildTrees(): TreeNode[] {
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
    for (const wi of this.wrapper['external-inputs']) {
      const n = wrapperNode(wi, null);
      byName.set(wi.name, n);
      roots.push(n);
    }
    for (const di of this.wrapper['derived-inputs']) {
      const parent = byName.get(di['derived-from-wrapper-input']);
      if (!parent) {
        const p = di['derived-from-wrapper-input'];
        this.fail('resolution.input.order', `Derived input "${di.name}" claims parent "${p}", but I couldn't find "${p}". Are the inputs out of order?`, di.name);
      }
      const n = wrapperNode(di, di);
      parent.children.push(n);
      byName.set(di.name, n);
    }
    for (const wi of [...this.wrapper['external-inputs'], ...this.wrapper['derived-inputs']]) {
      const target = wi['provides-value-for-command-input'];
      if (target) providers.set(target, byName.get(wi.name) as TreeNode);
    }
    // Deviation: every wrapper key starts blank, so an unresolved optional input leaves no #key#.
    for (const n of byName.values()) this.values.set(n.key, '');
    for (const ci of this.command.inputs) {
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
      this.values.set(n.key, '');
      this.cmdline.set(n.key, '');
      const provider = providers.get(ci.name);
      if (provider) provider.children.push(n);
      else roots.push(n);
    }
    return roots;
  }

  // ---- loading ---------------------------------------------------------------------------------

  src(o: XnatObject): XnatObjectSource {
    return this.sourceOf.get(o) ?? this.source;
  }

  async childrenOf(parent: XnatObject, kind: ChildKind): Promise<XnatObject[]> {
    const s = this.src(parent);
    const list = await s.children(parent, kind);
    for (const c of list) this.sourceOf.set(c, s);
    return list;
  }

  /** Attaches the collections in `needs` (recursively) so matchers can see them. */
  async populate(o: XnatObject, needs: Set<ChildKind>): Promise<void> {
    for (const kind of needs) {
      if (CHILDREN_OF[o.type][kind] === undefined || Array.isArray(o[kind])) continue;
      const kids = await this.childrenOf(o, kind);
      for (const k of kids) await this.populate(k, needs);
      o[kind] = kids as unknown as JsonValue;
    }
  }

  async ancestorOf(o: XnatObject, type: XnatType): Promise<XnatObject | null> {
    const s = this.src(o);
    const a = await s.ancestor(o, type);
    if (a) this.sourceOf.set(a, s);
    return a;
  }

  async instantiate(type: XnatType, value: string, name: string): Promise<XnatObject | null> {
    const v = value.trim();
    if (v.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        return null;
      }
      if (typeof parsed !== 'object' || parsed === null) return null;
      const withType = { ...(parsed as Record<string, unknown>) };
      if (withType.type === undefined) withType.type = type;
      let mem: MemoryObjectSource;
      try {
        mem = new MemoryObjectSource(withType);
      } catch {
        return null;
      }
      const root = { ...mem.roots[0] };
      const obj = (await mem.getByUri(root.uri as string)) ?? root;
      this.sourceOf.set(obj, mem);
      return obj;
    }
    if (v.startsWith('/')) {
      const obj = await this.source.getByUri(archiveUri(v));
      if (!obj || obj.type !== type) this.fail('resolution.input.invalid-uri', `Invalid ${type} uri ${value}`, name);
      if (!(await this.source.canRead(this.user, obj))) {
        throw new ResolutionError('resolution.input.forbidden', `User does not have permission to read ${type} with URI ${value}.`, this.explanation, name);
      }
      return obj;
    }
    const obj = type === 'Scan' ? null : await this.source.getById(type, v, this.project);
    if (!obj) this.fail('resolution.input.not-found', `Could not instantiate ${type} by ID ${value}`, name);
    return obj;
  }

  candidateOf(o: XnatObject, accepted: boolean, reasons: string[]): CandidateExplanation {
    return { label: o.label ?? o.id ?? o.uri ?? o.type, ...(o.uri ? { uri: o.uri } : {}), accepted, reasons };
  }

  // ---- resolving nodes -------------------------------------------------------------------------

  async resolveNode(node: TreeNode, parent: { node: TreeNode; cand: Candidate } | null): Promise<NodeResult> {
    let cands: Candidate[];
    if (node.kind === 'external') cands = await this.resolveExternal(node);
    else if (node.kind === 'derived') cands = parent ? await this.resolveDerived(node, parent.node, parent.cand) : [];
    else cands = [this.resolveCommandInput(node, parent?.cand ?? null)];
    for (const cand of cands) {
      this.values.set(node.key, cand.value);
      for (const child of node.children) cand.children.push(await this.resolveNode(child, { node, cand }));
    }
    return { node, candidates: cands };
  }

  async resolveExternal(node: TreeNode): Promise<Candidate[]> {
    const wi = node.wrapperInput as WrapperInput;
    const given = Object.hasOwn(this.inputs, node.name) ? this.inputs[node.name] : undefined;
    let value: string | null = given ?? wi['default-value'];
    const ex: InputExplanation = { name: node.name, kind: 'external', type: node.type, source: given !== undefined ? 'launch' : 'default', candidates: [], values: [] };
    this.explanation.inputs.push(ex);
    if (value !== null) value = substituteJsonPath(value, this.roots);
    const matcher = resolveTemplate(wi.matcher, this.values, this.roots);
    if (matcher) ex.matcher = matcher;
    let object: XnatObject | null = null;
    if (!blank(value) && isXnatType(node.type)) {
      object = await this.instantiate(node.type, value, node.name);
      if (object && !blank(matcher)) {
        await this.populate(object, neededKinds(matcher));
        const m = this.match(matcher, object, node.name);
        ex.candidates.push(this.candidateOf(object, m.matched, m.reasons));
        if (!m.matched) object = null;
      } else if (object) ex.candidates.push(this.candidateOf(object, true, []));
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

  /** Rejections explained per input; past this many, candidates are only counted (big sessions). */
  static readonly EXPLAINED_REJECTIONS = 50;
  rejections = new Map<string, number>();

  match(matcher: string, object: XnatObject, name: string): { matched: boolean; reasons: string[] } {
    try {
      if (matches(matcher, object as unknown as JsonValue)) return { matched: true, reasons: [] };
      const seen = (this.rejections.get(name) ?? 0) + 1;
      this.rejections.set(name, seen);
      if (seen > Resolver.EXPLAINED_REJECTIONS) return { matched: false, reasons: ['(not detailed: too many rejected candidates)'] };
      return explainMatch(matcher, object as unknown as JsonValue);
    } catch (e) {
      if (e instanceof XcsError) this.fail(e.code, `Input "${name}" has an invalid matcher "${matcher}": ${e.message}`, name);
      throw e;
    }
  }

  readProperty(object: XnatObject, property: string, parser: string | null): string | null {
    let found: JsonValue[];
    try {
      found = query(`$.${property}`, object as unknown as JsonValue);
    } catch {
      found = [];
    }
    const v = found.length > 0 ? text(found[0]) : null;
    if (v === null || blank(parser)) return v;
    return parseValue(v, parser);
  }

  async resolveDerived(node: TreeNode, parentNode: TreeNode, parent: Candidate): Promise<Candidate[]> {
    const di = node.derived as WrapperDerivedInput;
    const ex: InputExplanation = { name: node.name, kind: 'derived', type: node.type, parent: parent.value ?? 'null', source: 'parent', candidates: [], values: [] };
    this.explanation.inputs.push(ex);
    const matcher = resolveTemplate(di.matcher, this.values, this.roots);
    const parser = resolveTemplate(di.parser, this.values, this.roots);
    if (matcher) ex.matcher = matcher;
    const given = Object.hasOwn(this.inputs, node.name) ? this.inputs[node.name] : undefined;
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
      const kids = await this.childrenOf(po, kind);
      objects = await this.matchChildren(kids, MATCH_KEYS[node.type] ?? ['uri'], idHint, matcher, di.multiple, ex);
    };
    const fromAncestor = async (type: XnatType): Promise<void> => {
      const a = await this.ancestorOf(po, type);
      if (!a) return;
      if (blank(matcher)) {
        ex.candidates.push(this.candidateOf(a, true, []));
        objects = [a];
        return;
      }
      await this.populate(a, neededKinds(matcher));
      const m = this.match(matcher, a, node.name);
      ex.candidates.push(this.candidateOf(a, m.matched, m.reasons));
      if (m.matched) objects = [a];
    };
    switch (node.type) {
      case 'string': {
        if (!isXnatType(pt) || blank(property)) return done([]);
        if (!blank(matcher)) {
          const m = this.match(matcher, po, node.name);
          ex.candidates.push(this.candidateOf(po, m.matched, m.reasons));
          if (!m.matched) return done([]);
        }
        const v = this.readProperty(po, property, parser);
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
        value: property ? this.readProperty(o, property, parser) : (o.uri ?? null),
        object: o,
        children: [],
      })),
    );
  }

  /** XNAT's `matchChildFromParent`: try each key with the id hint, then the input's matcher. */
  async matchChildren(
    kids: XnatObject[],
    keys: string[],
    idHint: string | null,
    matcher: string | null,
    multiple: boolean,
    ex: InputExplanation,
  ): Promise<XnatObject[]> {
    const needs = neededKinds(matcher);
    if (needs.size > 0) for (const k of kids) await this.populate(k, needs);
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
          ex.candidates.push(this.candidateOf(k, true, []));
          kept.push(k);
          continue;
        }
        const m = this.match(full, k, ex.name);
        ex.candidates.push(this.candidateOf(k, m.matched, m.reasons));
        if (m.matched) kept.push(k);
      }
      if (full !== null && full !== matcher) ex.matcher = full;
      if (kept.length > 0) break;
    }
    return kept;
  }

  resolveCommandInput(node: TreeNode, provider: Candidate | null): Candidate {
    const ci = node.commandInput as CommandInput;
    const given = Object.hasOwn(this.inputs, node.name) ? this.inputs[node.name] : undefined;
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
    if (value !== null) value = substituteJsonPath(value, this.roots);
    if (ci.type === 'boolean') {
      const isTrue = value !== null && value.trim().toLowerCase() === 'true';
      if (isTrue) value = ci['true-value'] ?? value;
      else value = ci['false-value'] ?? value;
    }
    checkIllegal(node.name, value);
    this.explanation.inputs.push({ name: node.name, kind: 'command', type: node.type, source, candidates: [], values: [value] });
    return { value, object: null, children: [] };
  }

  // ---- unique values ---------------------------------------------------------------------------

  report(node: TreeNode, value: string | null): void {
    const entry: ResolvedInputValue = { name: node.name, value: value ?? 'null', type: node.type, sensitive: node.sensitive };
    this.reported[node.kind].push(entry);
  }

  walkUnique(r: NodeResult): void {
    const { node, candidates } = r;
    if (node.multiple && candidates.length !== 1) {
      const values: string[] = [];
      let ci: TreeNode | null = null;
      for (const cand of candidates) {
        if (cand.children.length !== 1) this.fail('resolution.input.multiple', `${node.name} must have precisely one command input child element`, node.name);
        const child = cand.children[0];
        if (child.node.kind !== 'command' || child.candidates.length !== 1) {
          this.fail('resolution.input.multiple', `Invalid child for ${node.name}; expecting a command input with no children named ${node.wrapperInput?.['provides-value-for-command-input'] ?? ''}`, node.name);
        }
        ci = child.node;
        const v = child.candidates[0].value;
        if (!blank(v)) values.push(v);
      }
      if (candidates.length === 0) {
        if (node.required && !this.pre) this.fail('resolution.input.multiple', `${node.name} must have precisely one command input child element`, node.name);
        ci = node.children.find((c) => c.kind === 'command') ?? null;
      }
      const mount = node.wrapperInput?.['provides-files-for-command-mount'];
      if (mount && candidates.length > 1) this.mountClaims.set(mount, { node, value: null, object: null, several: true });
      const rendered = renderMultiple(ci?.commandInput ?? null, values);
      this.values.set(node.key, rendered);
      this.report(node, candidates.map((c) => c.value ?? 'null').join(', '));
      if (ci?.commandInput) {
        this.values.set(ci.key, rendered);
        this.cmdline.set(ci.key, formatMultiple(ci.commandInput, values));
        this.report(ci, values.join(' '));
      }
      return;
    }
    if (candidates.length === 1) {
      const cand = candidates[0];
      this.values.set(node.key, cand.value ?? '');
      if (node.commandInput) this.cmdline.set(node.key, formatValue(node.commandInput, cand.value));
      if (node.wrapperInput) {
        const wv: WrapperValue = { node, value: cand.value, object: cand.object };
        this.wrapperValues.set(node.name, wv);
        const mount = node.wrapperInput['provides-files-for-command-mount'];
        if (mount) this.mountClaims.set(mount, wv);
      }
      this.report(node, cand.value);
      for (const child of cand.children) this.walkUnique(child);
      return;
    }
    if (this.pre || !node.required) return;
    if (candidates.length === 0) {
      this.fail(
        'resolution.input.unresolved',
        `Input "${node.name}" could not be resolved for this item. You might check the JSONPath matchers in command.json and confirm that this item has ${node.type} data.`,
        node.name,
      );
    }
    this.fail('resolution.input.ambiguous', `Input "${node.name}"  does not have a unique, resolved value and multiple = true is not set in command.json.`, node.name);
  }

  missingRequired(r: NodeResult, out: string[]): void {
    for (const c of r.candidates) for (const child of c.children) this.missingRequired(child, out);
    if (r.node.required && r.candidates.length > 0 && r.candidates.every((c) => c.value === null)) out.push(r.node.name);
  }

  async resolveTrees(): Promise<NodeResult[]> {
    const results: NodeResult[] = [];
    for (const root of this.buildTrees()) {
      const r = await this.resolveNode(root, null);
      this.walkUnique(r);
      results.push(r);
    }
    if (!this.pre) {
      const missing: string[] = [];
      for (const r of results) this.missingRequired(r, missing);
      if (missing.length > 0) {
        const s = missing.length === 1 ? '' : 's';
        this.fail('resolution.input.missing', `Missing values for required input${s}: ${missing.join(', ')}.`, missing[0]);
      }
    }
    return results;
  }

  // ---- the rest of the command -----------------------------------------------------------------

  tpl(t: string | null): string | null {
    return resolveTemplate(t, this.values, this.roots);
  }

  /** Deviation: the command line sees every key; command-input keys take their formatted text. */
  commandLineMap(): ReplacementMap {
    const m: ReplacementMap = new Map(this.values);
    for (const [k, v] of this.cmdline) m.set(k, v);
    return m;
  }

  tplMap(m: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[this.tpl(k) ?? k] = this.tpl(v) ?? '';
    return out;
  }

  buildDir(purpose: string): string {
    return this.options.buildDir ? this.options.buildDir(purpose) : `/tmp/xcs-build/${crypto.randomUUID()}`;
  }

  /** Deviation: only a leading prefix is replaced (XNAT replaces every occurrence). */
  translate(hostPath: string): string {
    const t = this.options.pathTranslation;
    if (!t || blank(t.xnatPrefix) || !hostPath.startsWith(t.xnatPrefix)) return hostPath;
    return t.dockerPrefix + hostPath.slice(t.xnatPrefix.length);
  }

  async resolveMounts(setups: ResolvedCommand[], env: Record<string, string>): Promise<ResolvedMount[]> {
    const out: ResolvedMount[] = [];
    for (const m of this.command.mounts) {
      const containerPath = this.tpl(m.path) ?? '';
      const claim = this.mountClaims.get(m.name);
      if (!claim) {
        const host = this.buildDir(`mount ${m.name}`);
        out.push({ name: m.name, writable: true, 'container-path': containerPath, 'xnat-host-path': host, 'container-host-path': this.translate(host), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null });
        continue;
      }
      const n = claim.node;
      if (!MOUNTABLE_TYPES.includes(n.type)) this.fail('resolution.mount.type', `I don't know how to provide files to a mount from an input of type "${n.type}".`, n.name);
      if (claim.several) this.fail('resolution.mount.multiple', `Input "${n.name}" has multiple resolved values. We can only use inputs with a single resolved value.`, n.name);
      if (!claim.object) this.fail('resolution.mount.no-object', `Input "${n.name}"'s XnatModelObject value is null`, n.name);
      const obj = claim.object;
      const root = obj.type === 'File' ? text(obj.path) : text(obj.directory);
      if (blank(root)) this.fail('resolution.mount.no-path', `Mount "${m.name}" should have a root path but does not.`, m.name);
      const setupRef = n.wrapperInput?.['via-setup-command'] ?? null;
      let host = root;
      let copyFrom: string | null = null;
      if (setupRef) {
        const setup = await this.resolveAuxiliary(setupRef, 'docker-setup', root, m.name, env);
        setups.push(setup);
        host = (setup.mounts.find((x) => x.name === 'output') as ResolvedMount)['xnat-host-path'];
      } else if (m.writable) {
        const dir = this.buildDir(`mount ${m.name}`);
        host = obj.type === 'File' ? `${dir}/${text(obj.name) ?? 'file'}` : dir;
        copyFrom = root;
      }
      out.push({ name: m.name, writable: m.writable, 'container-path': containerPath, 'xnat-host-path': host, 'container-host-path': this.translate(host), 'via-setup-command': setupRef, 'mount-pvc-name': null, 'copy-from': copyFrom });
    }
    return out;
  }

  async resolveOutputs(): Promise<ResolvedOutput[]> {
    const handlers = this.wrapper['output-handlers'];
    const byHandler = new Map<string, ResolvedOutput>();
    for (const h of handlers) {
      if (!this.command.outputs.some((o) => o.name === h['accepts-command-output'])) {
        this.fail('resolution.output.unhandled', `Command wrapper output handler "${h.name}" has no resolved output to handle.`, h.name);
      }
    }
    for (const o of this.command.outputs) {
      const mine = handlers.filter((h) => h['accepts-command-output'] === o.name);
      if (mine.length === 0) this.fail('resolution.output.no-handler', `No wrapper output handler was configured to handle command output "${o.name}".`, o.name);
      for (const h of mine) {
        const problem = await this.checkHandler(o.name, h, handlers);
        if (problem) {
          if (o.required) this.fail(problem.code, problem.message, h.name);
          continue;
        }
        byHandler.set(h.name, {
          name: `${o.name}:${h.name}`,
          'from-command-output': o.name,
          'from-output-handler': h.name,
          type: h.type,
          'xsi-type': h['xsi-type'],
          required: o.required,
          mount: o.mount,
          path: this.tpl(o.path),
          glob: o.glob,
          label: this.tpl(h.label),
          format: this.tpl(h.format),
          description: this.tpl(h.description),
          content: this.tpl(h.content),
          tags: h.tags.map((t) => this.tpl(t) ?? ''),
          'handled-by': h['as-a-child-of'],
          'via-wrapup-command': h['via-wrapup-command'],
        });
      }
    }
    return handlers.flatMap((h) => {
      const r = byHandler.get(h.name);
      return r ? [r] : [];
    });
  }

  async checkHandler(output: string, h: OutputHandler, handlers: OutputHandler[]): Promise<{ code: string; message: string } | null> {
    const target = h['as-a-child-of'];
    const wv = this.wrapperValues.get(target);
    if (wv) {
      let obj = wv.object;
      if (!obj && wv.value && isXnatType(wv.node.type) && wv.value.startsWith('/')) obj = await this.source.getByUri(wv.value);
      if (!obj) {
        return { code: 'resolution.output.no-object', message: `Cannot resolve output "${output}". Input "${target}" is supposed to handle the output, but it does not have an XNAT object value.` };
      }
      if (!(await this.src(obj).canEdit(this.user, obj))) {
        return { code: 'resolution.output.forbidden', message: `User "${this.user ?? ''}" does not have sufficient permissions to create the output ${h.type}.` };
      }
      return null;
    }
    const other = handlers.find((x) => x.name === target);
    if (!other) {
      return {
        code: 'resolution.output.target',
        message: `Cannot resolve output "${output}". The handler says the output is supposed to be handled by "${target}", but either that isn't an input, or an output, or maybe the input does not have a uniquely resolved value.`,
      };
    }
    if (h.type !== 'Resource' || (other.type !== 'Assessor' && other.type !== 'Scan')) {
      return {
        code: 'resolution.output.target-type',
        message: `Cannot resolve handler "${h.name}". Handler "${h.name}" has type "${h.type}"; target handler "${target}" has type "${other.type}". Handler "${h.name}" must be type Resource, target handler "${target}" needs to be type Assessor OR Scan.`,
      };
    }
    return null;
  }

  async findAuxiliary(ref: string, type: 'docker-setup' | 'docker-wrapup'): Promise<Command> {
    const { image, commandName } = parseImageCommandRef(ref);
    const found = this.options.findCommandByImage ? await this.options.findCommandByImage(ref) : null;
    if (!found) {
      const message = commandName
        ? `Could not find a command with name ${commandName} for image ${image}. (Input: ${ref})`
        : `Could not find any commands for image ${image}. (Input: ${ref})`;
      this.fail('resolution.setup.not-found', message, ref);
    }
    if (found.type !== type) {
      this.fail('resolution.setup.type', `Command ${found.name} from image ${image} has type ${found.type}, but I expected it to have type ${type}.`, ref);
    }
    return found;
  }

  async resolveAuxiliary(ref: string, type: 'docker-setup' | 'docker-wrapup', inputHostPath: string, parentSource: string, env: Record<string, string>): Promise<ResolvedCommand> {
    const cmd = await this.findAuxiliary(ref, type);
    const outDir = this.buildDir(`${type === 'docker-setup' ? 'setup' : 'wrapup'} ${parentSource}`);
    const mounts: ResolvedMount[] = [
      { name: 'input', writable: false, 'container-path': '/input', 'xnat-host-path': inputHostPath, 'container-host-path': this.translate(inputHostPath), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null },
      { name: 'output', writable: true, 'container-path': '/output', 'xnat-host-path': outDir, 'container-host-path': this.translate(outDir), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null },
    ];
    const base = this.base(cmd, { id: 0, name: '', description: null });
    return {
      ...base,
      'command-line': resolveTemplate(cmd['command-line'], this.commandLineMap(), this.roots) ?? '',
      'working-directory': cmd['working-directory'],
      'environment-variables': { ...env },
      mounts,
      'container-labels': this.tplMap(cmd['container-labels']),
      'container-name': this.tpl(cmd['container-name']),
      'parent-source-object-name': parentSource,
    };
  }

  base(cmd: Command, w: { id: number; name: string; description: string | null }): ResolvedCommand {
    return {
      'wrapper-id': w.id,
      'wrapper-name': w.name,
      'wrapper-description': w.description,
      'command-id': cmd.id,
      'command-name': cmd.name,
      'command-description': cmd.description,
      image: cmd.image,
      'container-name': cmd['container-name'],
      type: cmd.type,
      project: this.project,
      'raw-input-values': { ...this.inputs },
      'command-line': cmd['command-line'] ?? '',
      overrideEntrypoint: cmd['override-entrypoint'],
      'environment-variables': {},
      ports: {},
      mounts: [],
      outputs: [],
      'working-directory': cmd['working-directory'],
      'setup-commands': [],
      'wrapup-commands': [],
      'reserve-memory': cmd['reserve-memory'],
      'limit-memory': cmd['limit-memory'],
      runtime: cmd.runtime,
      'ipc-mode': cmd['ipc-mode'],
      'auto-remove': cmd['auto-remove'],
      'shm-size': cmd['shm-size'],
      network: cmd.network,
      'container-labels': { ...cmd['container-labels'] },
      'limit-cpu': cmd['limit-cpu'],
      'swarm-constraints': null,
      'parent-source-object-name': null,
      gpus: cmd.gpus,
      'generic-resources': { ...cmd['generic-resources'] },
      ulimits: { ...cmd.ulimits },
      secrets: cmd.secrets,
      'external-wrapper-input-values': [],
      'derived-input-values': [],
      'command-input-values': [],
    };
  }

  swarmConstraints(): string[] | null {
    const backend = this.options.backend ?? 'docker';
    const configured = this.options.swarmConstraints ?? [];
    if (backend === 'docker' || configured.length === 0) return null;
    const chosen = new Map<string, string>();
    const raw = this.inputs['swarm-constraints'];
    if (raw) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (Array.isArray(parsed)) {
          for (const p of parsed) {
            if (p && typeof p === 'object' && typeof p.attribute === 'string' && typeof p.value === 'string') chosen.set(p.attribute, p.value);
          }
        }
      } catch {
        this.fail('resolution.swarm-constraints', 'The "swarm-constraints" value is not a JSON list of {"attribute", "value"} objects.', 'swarm-constraints');
      }
    }
    const out: string[] = [];
    for (const c of configured) {
      if (!c['user-settable']) {
        out.push(c.attribute + c.comparator + c.values[0]);
        continue;
      }
      const v = chosen.get(c.attribute);
      if (v === undefined) out.push(c.attribute + c.comparator + c.values[0]);
      else if (c.values.includes(v)) out.push(c.attribute + c.comparator + v);
    }
    return out.length > 0 ? out : null;
  }

  checkSecrets(): void {
    const ids = this.command.secrets.map((s) => s.destination.identifier).filter((x) => x !== '');
    const all = [...this.reported.external, ...this.reported.derived, ...this.reported.command];
    const problems: string[] = [];
    for (const v of all) for (const id of ids) if (v.value.includes(id)) problems.push(`Input "${v.name}" resolved value "${v.value}" refers to secret destination "${id}"`);
    if (problems.length > 0) this.fail('resolution.input.secret', problems.join(' | '));
  }

  async resolve(): Promise<ResolvedCommand> {
    await this.resolveTrees();
    this.checkSecrets();
    const env = this.tplMap(this.command['environment-variables']);
    const setups: ResolvedCommand[] = [];
    const mounts = await this.resolveMounts(setups, env);
    const outputs = await this.resolveOutputs();
    const wrapups: ResolvedCommand[] = [];
    for (const o of outputs) {
      const ref = o['via-wrapup-command'];
      if (!ref) continue;
      const mount = mounts.find((m) => m.name === o.mount);
      wrapups.push(await this.resolveAuxiliary(ref, 'docker-wrapup', mount ? mount['xnat-host-path'] : '', o.name, env));
    }
    const constraints = this.swarmConstraints();
    const resolved: ResolvedCommand = {
      ...this.base(this.command, this.wrapper),
      'command-line': resolveTemplate(this.command['command-line'], this.commandLineMap(), this.roots) ?? '',
      'environment-variables': env,
      ports: this.tplMap(this.command.ports),
      'working-directory': this.tpl(this.command['working-directory']),
      'container-name': this.tpl(this.command['container-name']),
      'container-labels': this.tplMap(this.command['container-labels']),
      mounts,
      outputs,
      'setup-commands': setups.map((s) => ({ ...s, 'swarm-constraints': constraints })),
      'wrapup-commands': wrapups.map((s) => ({ ...s, 'swarm-constraints': constraints })),
      'swarm-constraints': constraints,
      'external-wrapper-input-values': this.reported.external,
      'derived-input-values': this.reported.derived,
      'command-input-values': this.reported.command,
    };
    return resolved;
  }
}

/**
 * §2.5 parser: XPath over the value read as XML first (its string, "" when nothing is selected); when
 * that cannot be evaluated (the value is not XML, the expression not an XPath we support), a regex that
 * must match the whole value, which is then returned unchanged.
 */
export function parseValue(value: string, parser: string): string | null {
  try {
    return evaluateXPath(parser, value);
  } catch (e) {
    if (!(e instanceof XPathUnsupported)) throw e;
  }
  try {
    return compileJavaRegex(parser, '').test(value) ? value : null;
  } catch {
    return null;
  }
}

function pickWrapper(command: Command, wrapper: string | number): CommandWrapper {
  const w =
    typeof wrapper === 'number'
      ? command.xnat.find((x) => x.id === wrapper)
      : (command.xnat.find((x) => x.name === wrapper) ?? (/^\d+$/.test(wrapper) ? command.xnat.find((x) => x.id === Number(wrapper)) : undefined));
  if (!w) {
    throw new XcsError('resolution.wrapper.not-found', `Command "${command.name}" has no wrapper ${JSON.stringify(wrapper)}. Known wrappers: ${command.xnat.map((x) => x.name).join(', ') || '(none)'}`, {
      path: String(wrapper),
      status: 404,
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
