/**
 * Resolution's `XnatObjectSource` over the Archive interface: archive records become the XNAT-shaped
 * objects matchers see (reference §2.2), loaded lazily — one object or one child list per call.
 */
import type {
  Archive, ArchiveFile, AssessorRecord, ObjectRef, ProjectRecord, ResourceParentRef, ResourceRecord, ScanRecord,
  SessionRecord, SubjectRecord,
} from '../../archive/types.ts';
import type { UserDirectory } from '../../archive/users.ts';
import type { ChildKind, XnatObject, XnatObjectSource, XnatType } from '../../resolution/index.ts';
import { failureKind } from '../../core/failure-kinds.ts';

/** Drops undefined and empty-string fields, as XNAT omits nulls. */
function compact(o: Record<string, string | number | string[] | undefined>): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

export class ArchiveObjectSource implements XnatObjectSource {
  private readonly archive: Archive;
  private readonly users: UserDirectory | null;
  /** Archive URI → reference, for objects this source handed out. */
  private readonly refs = new Map<string, ObjectRef>();

  constructor(archive: Archive, users: UserDirectory | null = null) {
    this.archive = archive;
    this.users = users;
  }

  async getByUri(uri: string): Promise<XnatObject | null> {
    try {
      return await this.toObject(await this.archive.resolveUri(uri));
    } catch (e) {
      if (failureKind(e) === 'missing' || failureKind(e) === 'invalid') return null;
      throw e;
    }
  }

  async getById(type: XnatType, id: string, project?: string | null): Promise<XnatObject | null> {
    let ref: ObjectRef | undefined;
    switch (type) {
      case 'Project': ref = { kind: 'project', project: id }; break;
      case 'Subject': ref = await this.archive.findChild(project ? { kind: 'project', project } : null, 'subjects', id); break;
      case 'Session': case 'SubjectAssessor': case 'ProjectAsset':
        ref = await this.archive.findChild(project ? { kind: 'project', project } : null, 'experiments', id); break;
      case 'Assessor': ref = { kind: 'assessor', assessor: id }; break;
      case 'Resource': ref = /^\d+$/.test(id) ? { kind: 'resource', resource: Number(id) } : undefined; break;
      default: ref = undefined;
    }
    if (!ref) return null;
    const o = await this.toObject(ref).catch((e: unknown) => { if (failureKind(e) === 'missing') return null; throw e; });
    if (o && project && o['project-id'] !== undefined && o['project-id'] !== project) return null;
    return o;
  }

  async children(parent: XnatObject, kind: ChildKind): Promise<XnatObject[]> {
    const ref = this.refOf(parent);
    if (!ref) return [];
    const out: XnatObject[] = [];
    if (kind === 'resources' && ref.kind !== 'resource' && ref.kind !== 'file') {
      for (const r of await this.archive.listResources(ref as ResourceParentRef)) out.push(await this.resource(r));
    } else if (kind === 'files' && ref.kind === 'resource') {
      const res = await this.archive.require(ref);
      for (const f of await this.archive.listFiles(ref.resource)) out.push(this.file(f, res));
    } else if (kind === 'scans' && ref.kind === 'session') {
      for (const s of await this.archive.listScans(ref.session)) out.push(await this.scan(s));
    } else if (kind === 'assessors' && ref.kind === 'session') {
      for (const a of await this.archive.listAssessors(ref.session)) out.push(await this.assessor(a));
    } else if (kind === 'sessions' && ref.kind === 'subject') {
      const subject = await this.archive.require(ref);
      for (const s of await this.archive.listSessions({ project: subject.project, subject: subject.id })) out.push(await this.session(s));
    } else if (kind === 'subjects' && ref.kind === 'project') {
      for (const s of await this.archive.listSubjects(ref.project)) out.push(this.subject(s));
    }
    return out;
  }

  async ancestor(object: XnatObject, type: XnatType): Promise<XnatObject | null> {
    const ref = this.refOf(object);
    if (!ref) return null;
    let current: ObjectRef | null = ref;
    while (current) {
      current = await this.parentOf(current);
      if (!current) return null;
      const o = await this.toObject(current);
      if (o.type === type) return o;
    }
    return null;
  }

  async canRead(user: string | null, object: XnatObject): Promise<boolean> {
    return this.can(user, object, 'read');
  }

  async canEdit(user: string | null, object: XnatObject): Promise<boolean> {
    return this.can(user, object, 'edit');
  }

  private async can(user: string | null, object: XnatObject, action: 'read' | 'edit'): Promise<boolean> {
    if (user === null || !this.users) return true;
    const ref = this.refOf(object);
    if (!ref) return false;
    const u = await this.users.getUser(user);
    return this.users.can(u, action, { project: await this.archive.projectOf(ref) });
  }

  private refOf(o: XnatObject): ObjectRef | undefined {
    return typeof o.uri === 'string' ? this.refs.get(o.uri) : undefined;
  }

  private remember(o: XnatObject, ref: ObjectRef): XnatObject {
    if (typeof o.uri === 'string') this.refs.set(o.uri, ref);
    return o;
  }

  private async parentOf(ref: ObjectRef): Promise<ObjectRef | null> {
    switch (ref.kind) {
      case 'project': return null;
      case 'subject': return { kind: 'project', project: (await this.archive.require(ref)).project };
      case 'session': return { kind: 'subject', subject: (await this.archive.require(ref)).subjectId };
      case 'scan': return { kind: 'session', session: ref.session };
      case 'assessor': return { kind: 'session', session: (await this.archive.require(ref)).sessionId };
      case 'resource': return (await this.archive.require(ref)).parent;
      case 'file': return { kind: 'resource', resource: ref.resource };
    }
  }

  private async toObject(ref: ObjectRef): Promise<XnatObject> {
    switch (ref.kind) {
      case 'project': return this.project(await this.archive.require(ref));
      case 'subject': return this.subject(await this.archive.require(ref));
      case 'session': return this.session(await this.archive.require(ref));
      case 'scan': return this.scan(await this.archive.require(ref));
      case 'assessor': return this.assessor(await this.archive.require(ref));
      case 'resource': return this.resource(await this.archive.require(ref));
      case 'file': {
        const f = await this.archive.require(ref);
        return this.file(f, await this.archive.require({ kind: 'resource', resource: ref.resource }));
      }
    }
  }

  private async project(p: ProjectRecord): Promise<XnatObject> {
    const ref: ObjectRef = { kind: 'project', project: p.id };
    return this.remember({
      type: 'Project', ...compact({
        id: p.id, label: p.id, xsiType: 'xnat:projectData', uri: p.archiveUri, directory: await this.archive.directoryOf(ref),
        title: p.name, 'running-title': p.secondaryId, description: p.description, keywords: p.keywords,
        accessibility: p.accessibility,
      }),
    }, ref);
  }

  private subject(s: SubjectRecord): XnatObject {
    return this.remember({
      type: 'Subject', ...compact({
        id: s.id, label: s.label, xsiType: 'xnat:subjectData', uri: s.archiveUri, 'project-id': s.project, group: s.group, source: s.src,
      }),
    }, { kind: 'subject', subject: s.id });
  }

  private async session(s: SessionRecord): Promise<XnatObject> {
    const ref: ObjectRef = { kind: 'session', session: s.id };
    return this.remember({
      type: 'Session', ...compact({
        id: s.id, label: s.label, xsiType: s.xsiType, uri: s.archiveUri, directory: await this.archive.directoryOf(ref),
        'project-id': s.project, 'subject-id': s.subjectId, 'visit-id': s.visitId,
      }),
    }, ref);
  }

  private async scan(s: ScanRecord): Promise<XnatObject> {
    const ref: ObjectRef = { kind: 'scan', session: s.sessionId, scan: s.id };
    return this.remember({
      type: 'Scan', ...compact({
        id: s.id, label: `${s.id} - ${s.type}`, xsiType: s.xsiType, uri: s.archiveUri,
        directory: await this.archive.directoryOf(ref), 'integer-id': s.internalId, 'scan-type': s.type,
        'project-id': s.project, 'session-id': s.sessionId, frames: s.frames === '' ? undefined : Number(s.frames),
        note: s.note, modality: s.modality, quality: s.quality, 'series-description': s.seriesDescription, uid: s.uid,
      }),
    }, ref);
  }

  private async assessor(a: AssessorRecord): Promise<XnatObject> {
    const ref: ObjectRef = { kind: 'assessor', assessor: a.id };
    return this.remember({
      type: 'Assessor', ...compact({
        id: a.id, label: a.label, xsiType: a.xsiType, uri: a.archiveUri, directory: await this.archive.directoryOf(ref),
        'project-id': a.project, 'session-id': a.sessionId,
      }),
    }, ref);
  }

  private async resource(r: ResourceRecord): Promise<XnatObject> {
    const ref: ObjectRef = { kind: 'resource', resource: r.id };
    const parentUri = r.archiveUri.replace(/\/resources\/[^/]+$/, '');
    return this.remember({
      type: 'Resource', ...compact({
        id: r.label, label: r.label, xsiType: 'xnat:resourceCatalog', uri: r.archiveUri,
        directory: await this.archive.directoryOf(ref), 'integer-id': r.id, 'parent-uri': parentUri,
        format: r.format, content: r.content,
      }),
    }, ref);
  }

  private file(f: ArchiveFile, r: ResourceRecord): XnatObject {
    const uri = `${r.archiveUri}/files/${f.name}`;
    return this.remember({
      type: 'File', ...compact({
        label: f.name, name: f.name, uri, path: f.absolutePath, tags: f.tags, format: f.format, content: f.content,
        size: f.size, checksum: f.checksum,
      }),
    }, { kind: 'file', resource: f.resourceId, path: f.name });
  }
}
