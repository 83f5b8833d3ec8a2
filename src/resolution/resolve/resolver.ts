/**
 * One resolution's state (values so far, explanation, which object came from which source) and its
 * steps in order: input trees, unique values, then mounts, outputs, setup/wrapup commands.
 */
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandWrapper } from '../../command/model.ts';
import { explainMatch, matches, query, type JsonValue } from '../../matcher/index.ts';
import { MemoryObjectSource } from '../memory-source.ts';
import { resolveTemplate, type ReplacementMap, type TemplateRoots } from '../template.ts';
import type { XnatObjectSource } from '../source.ts';
import { archiveUri, CHILDREN_OF, type ChildKind, type XnatObject, type XnatType } from '../xnat-model.ts';
import type { CandidateExplanation, Explanation, ResolvedCommand, ResolvedInputValue, ResolveOptions } from '../types.ts';
import { resolveAuxiliary, resolvedBase, swarmConstraints } from './auxiliary.ts';
import { resolveCommandInput, resolveDerived, resolveExternal } from './inputs.ts';
import { blank, ResolutionError, text, type Candidate, type NodeResult, type TreeNode, type WrapperValue } from './model.ts';
import { resolveMounts } from './mounts.ts';
import { resolveOutputs } from './outputs.ts';
import { translateHostPath } from '../path-translation.ts';
import { slurmChoice } from './slurm-choice.ts';
import { parseValue } from './parser.ts';
import { buildTrees } from './tree.ts';
import { checkSecrets, missingRequired, walkUnique } from './unique.ts';

export class Resolver {
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
    if (node.kind === 'external') cands = await resolveExternal(this, node);
    else if (node.kind === 'derived') cands = parent ? await resolveDerived(this, node, parent.node, parent.cand) : [];
    else cands = [resolveCommandInput(this, node, parent?.cand ?? null)];
    for (const cand of cands) {
      this.values.set(node.key, cand.value);
      for (const child of node.children) cand.children.push(await this.resolveNode(child, { node, cand }));
    }
    return { node, candidates: cands };
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

  async resolveTrees(): Promise<NodeResult[]> {
    const results: NodeResult[] = [];
    for (const root of buildTrees(this)) {
      const r = await this.resolveNode(root, null);
      walkUnique(this, r);
      results.push(r);
    }
    if (!this.pre) {
      const missing: string[] = [];
      for (const r of results) missingRequired(this, r, missing);
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
    return translateHostPath(hostPath, this.options.pathTranslation);
  }

  async resolve(): Promise<ResolvedCommand> {
    await this.resolveTrees();
    checkSecrets(this);
    const env = this.tplMap(this.command['environment-variables']);
    const setups: ResolvedCommand[] = [];
    const mounts = await resolveMounts(this, setups, env);
    const outputs = await resolveOutputs(this);
    const wrapups: ResolvedCommand[] = [];
    for (const o of outputs) {
      const ref = o['via-wrapup-command'];
      if (!ref) continue;
      const mount = mounts.find((m) => m.name === o.mount);
      wrapups.push(await resolveAuxiliary(this, ref, 'docker-wrapup', mount ? mount['xnat-host-path'] : '', o.name, env));
    }
    const constraints = swarmConstraints(this);
    const slurmPlacement = slurmChoice(this);
    const resolved: ResolvedCommand = {
      ...resolvedBase(this, this.command, this.wrapper),
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
      'slurm-placement': slurmPlacement,
      'external-wrapper-input-values': this.reported.external,
      'derived-input-values': this.reported.derived,
      'command-input-values': this.reported.command,
    };
    return resolved;
  }
}
