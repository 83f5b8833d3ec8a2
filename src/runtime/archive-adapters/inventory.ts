/**
 * Provenance's view of the archive (`ObjectInventoryPort`): which object a URI names, where it sits in the
 * archive tree, and the files under it with the MD5s the archive took when they were uploaded or committed
 * (output finalization hashes while staging; `putFile` while streaming). Nothing here reads file contents:
 * recording the inputs of a run costs database reads, not a pass over possibly gigabytes of images.
 */
import { createHash } from 'node:crypto';
import { relative, sep } from 'node:path';
import type { Archive, ObjectRef, ResourceParentRef, ResourceRecord } from '../../archive/types.ts';
import type { Inventory, InventoryFile, ObjectIdentity, ObjectInventoryPort } from '../ports.ts';
import { failureKind } from '../../core/failure-kinds.ts';

/**
 * Files read per inventory at most. Beyond it the manifest covers what was read and says so: a whole project
 * mounted as an input must not stall a launch.
 */
const WALK_LIMIT = 200_000;

const enc = encodeURIComponent;

function manifestOf(files: readonly InventoryFile[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\0${f.size}\0${f.md5}\n`);
  return h.digest('hex');
}

export function archiveInventory(archive: Archive): ObjectInventoryPort {
  async function keyOf(ref: ObjectRef): Promise<string> {
    switch (ref.kind) {
      case 'project': return `/projects/${enc(ref.project)}`;
      case 'subject': {
        const s = await archive.require(ref);
        return `/projects/${enc(s.project)}/subjects/${enc(s.id)}`;
      }
      case 'session': {
        const s = await archive.require(ref);
        return `/projects/${enc(s.project)}/subjects/${enc(s.subjectId)}/experiments/${enc(s.id)}`;
      }
      case 'scan': return `${await keyOf({ kind: 'session', session: ref.session })}/scans/${enc(ref.scan)}`;
      case 'assessor': {
        const a = await archive.require(ref);
        return `${await keyOf({ kind: 'session', session: a.sessionId })}/assessors/${enc(a.id)}`;
      }
      case 'resource': {
        const r = await archive.require(ref);
        return `${await keyOf(r.parent)}/resources/${r.id}`;
      }
      case 'file': return `${await keyOf({ kind: 'resource', resource: ref.resource })}/files/${ref.path}`;
    }
  }

  async function urisOf(ref: ObjectRef): Promise<{ uri: string; dataUri: string }> {
    if (ref.kind === 'file') {
      const r = await archive.require({ kind: 'resource', resource: ref.resource });
      const path = ref.path.split('/').map(enc).join('/');
      return { uri: `${r.archiveUri}/files/${path}`, dataUri: `${r.uri}/files/${path}` };
    }
    const rec = await archive.require(ref);
    return { uri: rec.archiveUri, dataUri: rec.uri };
  }

  /** Every resource under `ref` (its own and its descendants'), until `budget` files were seen. */
  async function resourcesUnder(ref: ResourceParentRef, out: ResourceRecord[], budget: { files: number }): Promise<void> {
    if (budget.files > WALK_LIMIT) return;
    for (const r of await archive.listResources(ref)) {
      out.push(r);
      budget.files += r.fileCount;
    }
    switch (ref.kind) {
      case 'project':
        for (const s of await archive.listSubjects(ref.project)) await resourcesUnder({ kind: 'subject', subject: s.id }, out, budget);
        break;
      case 'subject': {
        const s = await archive.require(ref);
        for (const e of await archive.listSessions({ project: s.project, subject: s.id })) {
          await resourcesUnder({ kind: 'session', session: e.id }, out, budget);
        }
        break;
      }
      case 'session':
        for (const sc of await archive.listScans(ref.session)) await resourcesUnder({ kind: 'scan', session: ref.session, scan: sc.id }, out, budget);
        for (const a of await archive.listAssessors(ref.session)) await resourcesUnder({ kind: 'assessor', assessor: a.id }, out, budget);
        break;
      default:
        break;
    }
  }

  return {
    async identify(uri: string): Promise<ObjectIdentity | null> {
      let ref: ObjectRef;
      try {
        ref = await archive.resolveUri(uri);
        const { uri: archiveUri, dataUri } = await urisOf(ref);
        return {
          kind: ref.kind, uri: archiveUri, dataUri, key: await keyOf(ref),
          project: await archive.projectOf(ref), directory: await archive.directoryOf(ref),
        };
      } catch (e) {
        if (failureKind(e) === 'missing' || failureKind(e) === 'invalid') return null;
        throw e;
      }
    },

    async inventory(object: ObjectIdentity, limit: number): Promise<Inventory> {
      const ref = await archive.resolveUri(object.uri);
      const all: InventoryFile[] = [];
      let documentSha256: string | undefined;
      let complete = true;
      if (ref.kind === 'file') {
        const f = await archive.require(ref);
        all.push({ path: f.name.split('/').pop() ?? f.name, size: f.size, md5: f.checksum });
      } else {
        const resources: ResourceRecord[] = [];
        if (ref.kind === 'resource') resources.push(await archive.require(ref));
        else await resourcesUnder(ref, resources, { files: 0 });
        for (const r of resources) {
          if (all.length > WALK_LIMIT) { complete = false; break; }
          for (const f of await archive.listFiles(r.id)) {
            all.push({ path: relative(object.directory, f.absolutePath).split(sep).join('/'), size: f.size, md5: f.checksum });
          }
        }
        if (ref.kind === 'assessor') {
          const doc = (await archive.require(ref)).document;
          if (doc) documentSha256 = createHash('sha256').update(doc.text).digest('hex');
        }
      }
      all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return {
        files: all.slice(0, limit), count: all.length, bytes: all.reduce((n, f) => n + f.size, 0),
        manifestSha256: manifestOf(all), complete, ...(documentSha256 ? { documentSha256 } : {}),
      };
    },
  };
}
