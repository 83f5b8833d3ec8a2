/**
 * Builds, for one command wrapper, the archive a user would launch it on and the values they would
 * launch it with: a realistic XNAT tree (only the fields XNAT's objects have, §2.2) extended so that
 * every wrapper input's matcher holds for the object that input should pick, plus the launch values
 * of the context objects and of required inputs nobody else provides.
 *
 * The generator never invents a field XNAT does not have, and never gives an input a value it could
 * not get in XNAT: a wrapper that reads a property that does not exist, or derives an input from a
 * type it cannot be derived from, still fails — those are the command's faults, not the archive's.
 */
import { replacementKeyOf, type Command, type CommandWrapper, type WrapperInput } from '../../src/command/model.ts';
import { parseFilter, query, type FilterExpr, type JsonValue } from '../../src/matcher/index.ts';
import type { PathSegment } from '../../src/matcher/ast.ts';
import { testFilter } from '../../src/matcher/evaluate.ts';
import { compileJavaRegex } from '../../src/matcher/regex.ts';
import { resolveTemplate, type ReplacementMap, type TemplateRoots } from '../../src/resolution/template.ts';
import { CHILDREN_OF, isXnatType, type ChildKind, type XnatType } from '../../src/resolution/xnat-model.ts';

export type Obj = { [key: string]: JsonValue };

/** The fields XNAT serialises for each type (§2.2); matchers may only be satisfied through these. */
const COMMON = ['id', 'label', 'xsiType', 'directory', 'datatype-string'];
const FIELDS: Record<XnatType, string[]> = {
  Project: [...COMMON, 'title', 'running-title', 'description', 'keywords', 'accessibility'],
  ProjectAsset: [...COMMON, 'project-id'],
  Subject: [...COMMON, 'project-id', 'group', 'source', 'initials'],
  Session: [...COMMON, 'project-id', 'subject-id', 'visit-id'],
  SubjectAssessor: [...COMMON, 'project-id', 'subject-id'],
  Scan: [...COMMON, 'scan-type', 'project-id', 'session-id', 'frames', 'note', 'modality', 'quality', 'scanner', 'scanner-manufacturer', 'scanner-model', 'series-description', 'uid'],
  Assessor: [...COMMON, 'project-id', 'session-id', 'name'],
  Resource: [...COMMON, 'format', 'content'],
  // A File's label is its name (§2.2): setting either sets the name.
  File: ['name', 'label', 'tags', 'format', 'content', 'size', 'checksum'],
};

let serial = 0;

function file(name: string): Obj {
  return { type: 'File', name, tags: [], format: 'DICOM', content: 'RAW', size: 1024, checksum: 'd41d8cd98f00b204e9800998ecf8427e' };
}

function resource(label: string): Obj {
  return { type: 'Resource', label, 'integer-id': 1000 + ++serial, format: 'DICOM', content: 'RAW', files: [file(`${label.toLowerCase()}-1.dat`)] };
}

function scan(id: string): Obj {
  return {
    type: 'Scan', id, 'integer-id': 500 + ++serial, xsiType: 'xnat:mrScanData', 'scan-type': 'T1', 'series-description': 'T1 MPRAGE', modality: 'MR', uid: `1.2.840.113619.${id}`,
    frames: 176, quality: 'usable', note: '', scanner: 'SCANNER1', 'scanner-manufacturer': 'SIEMENS', 'scanner-model': 'Prisma', 'project-id': 'P1', 'session-id': 'E1',
    resources: [resource('DICOM')],
  };
}

function session(id: string, label: string): Obj {
  return {
    type: 'Session', id, label, xsiType: 'xnat:mrSessionData', 'project-id': 'P1', 'subject-id': 'S1', 'visit-id': 'V1',
    scans: [scan('1')], assessors: [assessor(`${id}_A1`)], resources: [resource('SESSION_FILES')],
  };
}

function assessor(id: string): Obj {
  return { type: 'Assessor', id, label: id, xsiType: 'xnat:qcAssessmentData', 'project-id': 'P1', 'session-id': 'E1', name: id, resources: [resource('QC')] };
}

/** A fresh object of a type, complete enough for the collections and fields matchers look at. */
function template(type: XnatType): Obj {
  const n = ++serial;
  switch (type) {
    case 'Project':
      return { type, id: `P${n}`, label: `P${n}`, xsiType: 'xnat:projectData', resources: [] };
    case 'ProjectAsset':
      return { type, id: `PA${n}`, label: `PA${n}`, xsiType: 'xnat:abstractProjectAsset', 'project-id': 'P1', resources: [resource('ASSET_FILES')] };
    case 'Subject':
      return { type, id: `S${n}`, label: `SUBJ${n}`, xsiType: 'xnat:subjectData', 'project-id': 'P1', group: 'control', sessions: [], resources: [] };
    case 'SubjectAssessor':
      return { type, id: `SA${n}`, label: `SA${n}`, xsiType: 'xnat:subjectAssessorData', 'project-id': 'P1', 'subject-id': 'S1', resources: [] };
    case 'Session':
      return { ...session(`E${n}`, `SESSION${n}`), scans: [], assessors: [] };
    case 'Scan':
      return scan(String(n));
    case 'Assessor':
      return assessor(`A${n}`);
    case 'Resource':
      return resource(`RES${n}`);
    case 'File':
      return file(`file${n}.dat`);
  }
}

function baseTree(): Obj {
  return {
    type: 'Project', id: 'P1', label: 'P1', xsiType: 'xnat:projectData', title: 'Project One', 'running-title': 'P1', description: 'test project', keywords: '', accessibility: 'private',
    resources: [resource('PROJECT_FILES')],
    'project-assets': [{ type: 'ProjectAsset', id: 'PA1', label: 'PA1', xsiType: 'xnat:abstractProjectAsset', 'project-id': 'P1', resources: [resource('ASSET_FILES')] }],
    subjects: [{
      type: 'Subject', id: 'S1', label: 'SUBJ1', xsiType: 'xnat:subjectData', 'project-id': 'P1', group: 'control', source: 'study', initials: 'AB',
      sessions: [session('E1', 'SUBJ1_MR1')],
      'subject-assessors': [{ type: 'SubjectAssessor', id: 'SA1', label: 'SA1', xsiType: 'xnat:subjectAssessorData', 'project-id': 'P1', 'subject-id': 'S1', resources: [] }],
      resources: [resource('SUBJECT_FILES')],
    }],
  };
}

function kids(o: Obj, kind: ChildKind): Obj[] {
  const v = o[kind];
  return Array.isArray(v) ? (v as Obj[]) : [];
}

function typeOf(o: Obj): XnatType {
  return o.type as XnatType;
}

/** Visits every object with its parent. */
function walk(o: Obj, f: (o: Obj, parent: Obj | null) => void, parent: Obj | null = null): void {
  f(o, parent);
  for (const kind of Object.keys(CHILDREN_OF[typeOf(o)]) as ChildKind[]) for (const k of kids(o, kind)) walk(k, f, o);
}

/** URIs, directories and file paths as XNAT lays them out, recomputed after every change of a label. */
function finish(tree: Obj): void {
  const dir = (o: Obj): string => String(o.directory);
  walk(tree, (o, p) => {
    const t = typeOf(o);
    if (t === 'Project') {
      o.uri = `/archive/projects/${String(o.id)}`;
      o.directory = `/data/xnat/archive/${String(o.id)}/arc001`;
    } else if (t === 'Subject') o.uri = `/archive/subjects/${String(o.id)}`;
    else if (t === 'Session' || t === 'SubjectAssessor' || t === 'ProjectAsset') {
      o.uri = `/archive/experiments/${String(o.id)}`;
      if (t !== 'SubjectAssessor') o.directory = `/data/xnat/archive/P1/arc001/${String(o.label)}`;
    } else if (t === 'Scan' && p) {
      o.uri = `${String(p.uri)}/scans/${String(o.id)}`;
      o.directory = `${dir(p)}/SCANS/${String(o.id)}`;
      o.label = `${String(o.id)} - ${String(o['scan-type'])}`;
    } else if (t === 'Assessor' && p) {
      o.uri = `${String(p.uri)}/assessors/${String(o.id)}`;
      o.directory = `${dir(p)}/ASSESSORS/${String(o.label)}`;
    } else if (t === 'Resource' && p) {
      o.id = o.label;
      o.uri = `${String(p.uri)}/resources/${String(o.label)}`;
      const pt = typeOf(p);
      const base = pt === 'Project' ? `/data/xnat/archive/${String(p.id)}/resources` : pt === 'Subject' ? `/data/xnat/archive/P1/subjects/${String(p.label)}` : pt === 'Session' ? `${dir(p)}/RESOURCES` : pt === 'ProjectAsset' ? `/data/xnat/archive/P1/assets/${String(p.label)}` : dir(p);
      o.directory = `${base}/${String(o.label)}`;
    } else if (t === 'File' && p) {
      o.uri = `${String(p.uri)}/files/${String(o.name)}`;
      o.label = o.name;
      o.path = `${dir(p)}/${String(o.name)}`;
    }
  });
}

/** Strings a Java regex probably accepts, tried in order against the real pattern. */
function regexCandidates(pattern: string, current: string): string[] {
  const out = [current];
  for (const alt of pattern.split('|')) {
    const core = alt
      .replace(/\(\?[!=<][^)]*\)/g, '')
      .replace(/\.[*+]\??/g, '')
      .replace(/\[([^\]^])[^\]]*\][*+?]?/g, '$1')
      .replace(/\\d[*+]?/g, '0')
      .replace(/\\(.)/g, '$1')
      .replace(/[\^$()]/g, '')
      .replace(/(.)[*?]/g, '');
    out.push(core, `file_${core}`, `${core}.dat`, `x${core}x`);
  }
  out.push('', 'x', 'MR');
  return out;
}

function sampleRegex(pattern: string, flags: string, current: string): string | null {
  let re: RegExp;
  try {
    re = compileJavaRegex(pattern, flags);
  } catch {
    return null;
  }
  return regexCandidates(pattern, current).find((c) => re.test(c)) ?? null;
}

function memberPath(segments: PathSegment[]): string[] | null {
  const names: string[] = [];
  for (const s of segments) {
    if (s.kind === 'member' && s.names.length === 1) names.push(s.names[0]);
    else if (s.kind === 'wildcard') names.push('*');
    else return null;
  }
  return names;
}

/** Makes the object hold `value` somewhere along `path` (`coll, *, field` or deeper), adding children. */
function ensureIn(o: Obj, path: string[], value: JsonValue): boolean {
  const [coll, star, ...rest] = path;
  const t = typeOf(o);
  const childType = CHILDREN_OF[t][coll as ChildKind];
  if (!childType || star !== '*' || rest.length === 0) return false;
  const list = kids(o, coll as ChildKind);
  if (rest.length === 1) {
    if (!FIELDS[childType].includes(rest[0])) return false;
    const fresh = template(childType);
    fresh[rest[0]] = value;
    o[coll] = [...list, fresh];
    return true;
  }
  const target = list[0] ?? template(childType);
  if (list.length === 0) o[coll] = [target];
  return ensureIn(target, rest, value);
}

function holds(e: FilterExpr, o: Obj): boolean {
  try {
    return testFilter(e, '', o);
  } catch {
    return false;
  }
}

/** Changes `o` so that the filter holds, touching only the clauses that fail; false when it cannot. */
function satisfy(e: FilterExpr, o: Obj): boolean {
  if (holds(e, o)) return true;
  switch (e.kind) {
    case 'and':
      return satisfy(e.left, o) && satisfy(e.right, o) && holds(e, o);
    case 'or':
      return satisfy(e.left, o) || satisfy(e.right, o);
    case 'compare': {
      const { left, right, op } = e;
      if (left.kind === 'path' && left.path.root === '@') {
        const names = memberPath(left.path.segments);
        if (!names || names.length !== 1 || !FIELDS[typeOf(o)].includes(names[0])) return false;
        const key = names[0];
        if (right.kind === 'literal' && op === '==') o[key] = right.value;
        else if (right.kind === 'literal' && op === 'in' && Array.isArray(right.value) && right.value.length > 0) o[key] = right.value[0];
        else if (right.kind === 'literal' && op === '!=') o[key] = `not-${String(right.value)}`;
        else if (right.kind === 'regex' && op === '=~') {
          const v = sampleRegex(right.pattern, right.flags, typeof o[key] === 'string' ? (o[key] as string) : '');
          if (v === null) return false;
          o[key] = v;
        } else return false;
        if (o.type === 'File' && key === 'label') o.name = o.label;
        return holds(e, o);
      }
      if (left.kind === 'literal' && op === 'in' && right.kind === 'path' && right.path.root === '@') {
        const names = memberPath(right.path.segments);
        return names !== null && ensureIn(o, names, left.value) && holds(e, o);
      }
      return false;
    }
    default:
      return false;
  }
}

/** Where a derived input's candidates come from in XNAT (§2.5): a child collection or an ancestor. */
function relation(type: string, parentType: string): { kind: 'children'; coll: ChildKind } | { kind: 'ancestor'; type: XnatType } | null {
  const pt = parentType;
  const x = isXnatType(pt) && pt !== 'Resource' && pt !== 'File';
  switch (type) {
    case 'File':
    case 'File[]':
      return pt === 'Resource' ? { kind: 'children', coll: 'files' } : null;
    case 'Project':
      return x && pt !== 'Project' ? { kind: 'ancestor', type: 'Project' } : null;
    case 'Subject':
      return pt === 'Project' ? { kind: 'children', coll: 'subjects' } : pt === 'Session' || pt === 'SubjectAssessor' ? { kind: 'ancestor', type: 'Subject' } : null;
    case 'Session':
      return pt === 'Subject' ? { kind: 'children', coll: 'sessions' } : pt === 'Scan' || pt === 'Assessor' ? { kind: 'ancestor', type: 'Session' } : null;
    case 'SubjectAssessor':
      return pt === 'Subject' ? { kind: 'children', coll: 'subject-assessors' } : null;
    case 'ProjectAsset':
      return pt === 'Project' ? { kind: 'children', coll: 'project-assets' } : null;
    case 'Scan':
      return pt === 'Session' ? { kind: 'children', coll: 'scans' } : pt === 'Resource' ? { kind: 'ancestor', type: 'Scan' } : null;
    case 'Assessor':
      return pt === 'Session' ? { kind: 'children', coll: 'assessors' } : null;
    case 'Resource':
      return x ? { kind: 'children', coll: 'resources' } : null;
    default:
      return null;
  }
}

/** XML holding `value` at a simple XPath (`/a/b[2]/c[1]`), as XNAT's `datatype-string` would. */
function xmlAt(xpath: string, value: string): string | null {
  const steps = xpath.replace(/^\//, '').split('/');
  const parsed = steps.map((s) => /^([A-Za-z_][\w.-]*)(?:\[(\d+)\])?$/.exec(s));
  if (parsed.some((m) => m === null)) return null;
  let inner = value;
  for (const m of [...parsed].reverse() as RegExpExecArray[]) {
    const n = Number(m[2] ?? '1');
    inner = `${`<${m[1]}/>`.repeat(n - 1)}<${m[1]}>${inner}</${m[1]}>`;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${inner}`;
}

export interface GeneratedLaunch {
  /** The archive (a Project tree) to give `MemoryObjectSource`. */
  tree: Obj;
  /** The launch values, by input name. */
  inputs: Record<string, string>;
  /** What the generator could not arrange, for failure messages. */
  notes: string[];
}

function launchValue(type: string, selectValues: string[]): string {
  if (type === 'boolean') return 'false';
  if (type === 'number' || type === 'int' || type === 'float') return '1';
  if (type === 'select-one' && selectValues.length > 0) return selectValues[0];
  if (type === 'select-many' && selectValues.length > 0) return JSON.stringify([selectValues[0]]);
  return 'value';
}

/** The archive and launch values for one wrapper of a command. */
export function generateLaunch(command: Command, wrapper: CommandWrapper): GeneratedLaunch {
  serial = 0;
  const tree = baseTree();
  finish(tree);
  const notes: string[] = [];
  const inputs: Record<string, string> = {};
  const roots: TemplateRoots = { command: command as unknown as JsonValue, wrapper: wrapper as unknown as JsonValue };
  const values: ReplacementMap = new Map();
  for (const ci of command.inputs) values.set(replacementKeyOf(ci), ci['default-value'] ?? '');
  const chosen = new Map<string, Obj | null>();
  const claimed = new Set<Obj>();
  const parents = (): Map<Obj, Obj | null> => {
    const m = new Map<Obj, Obj | null>();
    walk(tree, (o, p) => m.set(o, p));
    return m;
  };
  const matcherOf = (wi: WrapperInput): FilterExpr | null => {
    const text = resolveTemplate(wi.matcher, values, roots);
    if (text === null || text.trim() === '') return null;
    try {
      return parseFilter(text);
    } catch {
      notes.push(`${wi.name}: matcher ${text} does not parse`);
      return null;
    }
  };
  const make = (o: Obj, e: FilterExpr | null, name: string): void => {
    const ok = !e || satisfy(e, o);
    finish(tree);
    if (!ok) notes.push(`${name}: could not satisfy the matcher on ${String(o.uri)}`);
  };
  const record = (wi: WrapperInput, o: Obj | null, property: string | null): void => {
    chosen.set(wi.name, o);
    let v: string | null = o ? String(o.uri) : null;
    if (o && property) {
      const found = query(`$.${property}`, o);
      v = found.length > 0 && found[0] !== null ? (typeof found[0] === 'string' ? found[0] : JSON.stringify(found[0])) : null;
    }
    values.set(replacementKeyOf(wi), v ?? '');
  };

  for (const wi of wrapper['external-inputs']) {
    if (!isXnatType(wi.type)) {
      if (wi['default-value'] === null && wi.required) inputs[wi.name] = launchValue(wi.type, []);
      values.set(replacementKeyOf(wi), inputs[wi.name] ?? wi['default-value'] ?? '');
      continue;
    }
    const e = matcherOf(wi);
    const all: Obj[] = [];
    walk(tree, (o) => {
      if (o.type === wi.type) all.push(o);
    });
    const o = all.find((x) => !e || holds(e, x)) ?? all.find((x) => !claimed.has(x)) ?? null;
    if (!o) notes.push(`${wi.name}: no ${wi.type} in the archive`);
    else {
      make(o, e, wi.name);
      claimed.add(o);
      inputs[wi.name] = String(o.uri);
    }
    record(wi, o, null);
  }

  const derived = wrapper['derived-inputs'];
  for (const di of derived) {
    const parentInput = [...wrapper['external-inputs'], ...derived].find((x) => x.name === di['derived-from-wrapper-input']);
    const po = chosen.get(di['derived-from-wrapper-input']) ?? null;
    if (!parentInput || !po) {
      record(di, null, null);
      continue;
    }
    const e = matcherOf(di);
    const property = di['derived-from-xnat-object-property'];
    if (di.type === 'string') {
      if (e) make(po, e, di.name);
      const parser = di.parser;
      if (property === 'datatype-string' && parser && parser.trim().startsWith('/')) {
        const v = `GEN_${di.name.replace(/[^\w-]/g, '_')}`;
        const xml = xmlAt(parser.trim(), v);
        if (xml) po['datatype-string'] = xml;
        else notes.push(`${di.name}: cannot build XML for ${parser}`);
      }
      record(di, null, null);
      const found = property ? query(`$.${property}`, po) : [];
      const raw = found.length > 0 && found[0] !== null ? (typeof found[0] === 'string' ? found[0] : JSON.stringify(found[0])) : '';
      values.set(replacementKeyOf(di), property === 'datatype-string' && parser ? `GEN_${di.name.replace(/[^\w-]/g, '_')}` : raw);
      continue;
    }
    const rel = relation(di.type, parentInput.type);
    if (!rel) {
      record(di, null, null);
      continue;
    }
    let o: Obj | null;
    if (rel.kind === 'ancestor') {
      const ps = parents();
      o = ps.get(po) ?? null;
      while (o && o.type !== rel.type) o = ps.get(o) ?? null;
      if (o) make(o, e, di.name);
    } else {
      const list = kids(po, rel.coll);
      o = list.find((x) => !e || holds(e, x)) ?? list.find((x) => !claimed.has(x)) ?? null;
      if (!o) {
        o = template(CHILDREN_OF[typeOf(po)][rel.coll] as XnatType);
        po[rel.coll] = [...list, o];
      }
      make(o, e, di.name);
      claimed.add(o);
    }
    record(di, o, property);
  }

  // A user picks among several candidates in the launch form; say which, as the form would.
  for (const di of derived) {
    const o = chosen.get(di.name);
    const po = chosen.get(di['derived-from-wrapper-input']);
    const parentInput = [...wrapper['external-inputs'], ...derived].find((x) => x.name === di['derived-from-wrapper-input']);
    if (!o || !po || !parentInput || di.multiple) continue;
    const rel = relation(di.type, parentInput.type);
    if (rel?.kind !== 'children') continue;
    const e = matcherOf(di);
    if (kids(po, rel.coll).filter((x) => !e || holds(e, x)).length > 1) inputs[di.name] = String(o.uri);
  }

  const provided = new Set([...wrapper['external-inputs'], ...derived].map((w) => w['provides-value-for-command-input']).filter((x) => x));
  for (const ci of command.inputs) {
    if (ci.required && ci['default-value'] === null && !provided.has(ci.name)) inputs[ci.name] = launchValue(ci.type, ci['select-values']);
  }
  return { tree, inputs, notes };
}
