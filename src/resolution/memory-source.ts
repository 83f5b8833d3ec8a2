/**
 * An `XnatObjectSource` over an XNAT-shaped JSON tree (a Session with its `scans`, each with
 * `resources` and `files`...), the shape XNAT's own test fixtures and `xcs resolve --input x=@f.json`
 * use. Missing `type`s are inferred from the collection holding the object, missing `uri`s built the
 * way XNAT builds child URIs. `loads` counts the objects handed out, to show how lazy resolution is.
 */
import { XcsError } from '../core/errors.ts';
import type { JsonValue } from '../matcher/index.ts';
import type { XnatObjectSource } from './source.ts';
import { CHILD_KINDS, CHILDREN_OF, isXnatType, shallow, type ChildKind, type XnatObject, type XnatType } from './xnat-model.ts';

interface Entry {
  object: XnatObject;
  parent: Entry | null;
  children: Partial<Record<ChildKind, Entry[]>>;
}

const URI_SEGMENT: Partial<Record<XnatType, string>> = {
  Subject: 'subjects', Session: 'experiments', SubjectAssessor: 'experiments', ProjectAsset: 'experiments',
  Scan: 'scans', Assessor: 'assessors', Resource: 'resources', File: 'files',
};

/** Reduces any accepted spelling of an archive URI to one lookup key. */
export function uriKey(uri: string): string {
  let u = uri.trim().replace(/\/+$/, '');
  if (u.startsWith('/archive/')) u = u.slice('/archive'.length);
  const exp = u.indexOf('/experiments/');
  if (exp > 0) return u.slice(exp);
  const subj = /^\/projects\/[^/]+(\/subjects\/.*)$/.exec(u);
  return subj ? subj[1] : u;
}

function text(v: JsonValue | undefined): string {
  return v === undefined || v === null ? 'null' : typeof v === 'string' ? v : JSON.stringify(v);
}

function isRecord(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class MemoryObjectSource implements XnatObjectSource {
  /** Number of objects returned so far (shallow loads). */
  loads = 0;
  private readonly byUri = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private readonly entries = new WeakMap<XnatObject, Entry>();
  readonly roots: XnatObject[] = [];

  constructor(
    tree: unknown,
    private readonly permissions: { canRead?: (user: string | null, o: XnatObject) => boolean; canEdit?: (user: string | null, o: XnatObject) => boolean } = {},
  ) {
    const items = Array.isArray(tree) ? tree : [tree];
    items.forEach((item, i) => {
      const e = this.add(item, null, undefined, `/${i}`);
      this.roots.push(e.object);
    });
  }

  private add(raw: unknown, parent: Entry | null, inferred: XnatType | undefined, where: string): Entry {
    if (!isRecord(raw)) throw new XcsError('resolution.object.invalid', `Archive object at ${where} is not a JSON object`, { path: where });
    const t = raw.type ?? inferred;
    if (typeof t !== 'string' || !isXnatType(t)) {
      throw new XcsError('resolution.object.type', `Archive object at ${where} has no known "type" (one of Project, Subject, Session, Scan, Assessor, Resource, File...)`, { path: where });
    }
    const object: XnatObject = { ...shallow({ ...(raw as Record<string, JsonValue>), type: t }) };
    if (t === 'Resource' && object.id === undefined && object.label !== undefined) object.id = object.label;
    if (t === 'File' && object.label === undefined && typeof object.name === 'string') object.label = object.name;
    if (t === 'Scan' && object.label === undefined && object.id !== undefined) object.label = `${object.id} - ${text(object['scan-type'])}`;
    if (object.uri === undefined) object.uri = this.makeUri(object, parent);
    const entry: Entry = { object, parent, children: {} };
    for (const kind of CHILD_KINDS) {
      const list = raw[kind];
      if (!Array.isArray(list)) continue;
      const childType = CHILDREN_OF[t][kind];
      entry.children[kind] = list.map((c, i) => this.add(c, entry, childType, `${where}/${kind}/${i}`));
    }
    this.byUri.set(uriKey(object.uri as string), entry);
    if (object.id !== undefined) this.byId.set(`${t}:${object.id}`, entry);
    // §2.4: XNAT finds a Resource given by id through its numeric (abstract resource) id.
    if (t === 'Resource' && typeof object['integer-id'] === 'number') this.byId.set(`Resource:${object['integer-id']}`, entry);
    this.entries.set(object, entry);
    return entry;
  }

  private makeUri(o: XnatObject, parent: Entry | null): string {
    const key = o.type === 'Resource' ? o.label ?? o.id : o.type === 'File' ? (typeof o.name === 'string' ? o.name : o.label) : o.id;
    if (o.type === 'Project') return `/archive/projects/${o.id ?? o.label ?? 'unknown'}`;
    const segment = URI_SEGMENT[o.type] as string;
    if (parent === null || o.type === 'Session' || o.type === 'Subject') return `/archive/${segment}/${key ?? 'unknown'}`;
    return `${parent.object.uri}/${segment}/${key ?? 'unknown'}`;
  }

  private out(e: Entry): XnatObject {
    this.loads++;
    return { ...e.object };
  }

  private entryOf(o: XnatObject): Entry | undefined {
    return this.entries.get(o) ?? (o.uri ? this.byUri.get(uriKey(o.uri)) : undefined);
  }

  async getByUri(uri: string): Promise<XnatObject | null> {
    const e = this.byUri.get(uriKey(uri));
    return e ? this.out(e) : null;
  }

  async getById(type: XnatType, id: string, project?: string | null): Promise<XnatObject | null> {
    if (type === 'Scan') return null;
    const e = this.byId.get(`${type}:${id}`) ?? this.findByLabel(type, id);
    if (!e) return null;
    if (project && type !== 'Project') {
      const owner = e.object['project-id'];
      if (owner !== undefined && owner !== project && e.object['shared-from-project-id'] === undefined) return null;
    }
    return this.out(e);
  }

  private findByLabel(type: XnatType, label: string): Entry | undefined {
    for (const e of this.byUri.values()) if (e.object.type === type && e.object.label === label) return e;
    return undefined;
  }

  async children(parent: XnatObject, kind: ChildKind): Promise<XnatObject[]> {
    const e = this.entryOf(parent);
    return (e?.children[kind] ?? []).map((c) => this.out(c));
  }

  async ancestor(object: XnatObject, type: XnatType): Promise<XnatObject | null> {
    let e = this.entryOf(object)?.parent ?? null;
    while (e && e.object.type !== type) e = e.parent;
    if (e) return this.out(e);
    // Not in the tree: follow the id fields XNAT puts on the object.
    const idField = type === 'Project' ? 'project-id' : type === 'Subject' ? 'subject-id' : type === 'Session' ? 'session-id' : null;
    const id = idField ? object[idField] : undefined;
    return typeof id === 'string' ? this.getById(type, id) : null;
  }

  async canRead(user: string | null, object: XnatObject): Promise<boolean> {
    return this.permissions.canRead ? this.permissions.canRead(user, object) : true;
  }

  async canEdit(user: string | null, object: XnatObject): Promise<boolean> {
    return this.permissions.canEdit ? this.permissions.canEdit(user, object) : true;
  }
}
