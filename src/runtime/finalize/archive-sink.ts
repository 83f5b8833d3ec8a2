/**
 * The archive as an OutputSink. Resources go through `commitResource` (atomic, idempotent by key); a
 * re-run into a resource that already holds same-named files replaces them, as XNAT's catalog service
 * copies over them (the replaced versions are reported, for provenance).
 * Assessors and scans are created from their XML; the archive takes no idempotency key for those yet, so
 * a repeated creation is recognised after the archive refuses a duplicate (409): an assessor by its
 * identical stored document, a scan by its ID and creator.
 */
import { XcsError, isXcsError } from '../../core/errors.ts';
import type { Archive, ObjectRef, ResourceParentRef } from '../../archive/types.ts';
import { readAssessorDocument } from '../../archive/item-documents.ts';
import type { Committed, CommitKey, OutputSink, ResourceMeta, StagedFile } from './types.ts';
import { failureKind } from '../../core/failure-kinds.ts';

export interface ArchiveSinkOptions {
  /** Whether `user` may edit objects of `project` (the permission model's `can(user, 'edit', …)`). */
  canEdit: (user: string, project: string) => Promise<boolean>;
}

function resourceParent(ref: ObjectRef, uri: string): ResourceParentRef {
  if (ref.kind === 'resource' || ref.kind === 'file') {
    throw new XcsError('parent-missing', `${uri} is a resource or file; outputs go under a project, subject, session, scan or assessor.`, {
      path: uri,
    });
  }
  return ref;
}

function isConflict(e: unknown): boolean {
  return failureKind(e) === 'conflict';
}

/**
 * An assessor the archive refused as a duplicate (a re-run writing the same label without an ID of its
 * own): XNAT fails here too; the message says what exists and how out — never a disk or permission hint.
 */
function assessorConflict(e: unknown, sessionUri: string): XcsError {
  const what = isXcsError(e) ? e.message : String(e);
  return new XcsError('conflict', `The assessor could not be stored: ${what}.`, {
    path: sessionUri,
    hint: `Delete the existing one (DELETE /data${sessionUri.replace(/^\/archive/, '')}/assessors/LABEL) and finalize again, `
      + 'or have the tool write a new label (or its ID, to replace it).',
  });
}

export function archiveSink(archive: Archive, options: ArchiveSinkOptions): OutputSink {
  return {
    stagingRoot: () => archive.stagingDir(),
    digests: true,

    async canEdit(user: string, parentUri: string): Promise<boolean> {
      const ref = await archive.resolveUri(parentUri);
      return options.canEdit(user, await archive.projectOf(ref));
    },

    async commitResource(parentUri: string, meta: ResourceMeta, stagedDir: string, key: CommitKey,
      staged?: readonly StagedFile[]): Promise<Committed> {
      const parent = resourceParent(await archive.resolveUri(parentUri), parentUri);
      const r = await archive.commitResource(parent, meta, stagedDir,
        { idempotencyKey: key.idempotencyKey, overwrite: true, ...(staged ? { files: staged } : {}) }, key.user);
      return { uri: r.uri, created: r.created, ...(r.replaced?.length ? { replaced: r.replaced } : {}) };
    },

    async createItem(parentUri: string, kind: 'Assessor' | 'Scan', xml: string, key: CommitKey): Promise<Committed> {
      const ref = await archive.resolveUri(parentUri);
      if (ref.kind !== 'session') {
        throw new XcsError('parent-missing', `A ${kind} output must go under an image session; ${parentUri} is a ${ref.kind}.`, {
          path: parentUri,
        });
      }
      const base = parentUri.replace(/\/+$/, '');
      if (kind === 'Assessor') {
        const warnings = readAssessorDocument(xml).warnings;
        try {
          const a = await archive.createAssessorFromXml(ref.session, xml, key.user);
          // XNAT addresses a created assessor under the session it came from.
          return { uri: `${base}/assessors/${a.id}`, created: true, ...(warnings.length ? { warnings } : {}) };
        } catch (e) {
          if (!isConflict(e)) throw e;
          const same = (await archive.listAssessors(ref.session)).find((a) => a.document?.text === xml);
          if (!same) throw assessorConflict(e, base);
          return { uri: `${base}/assessors/${same.id}`, created: false };
        }
      }
      try {
        const s = await archive.createScanFromXml(ref.session, xml, key.user);
        return { uri: `${base}/scans/${encodeURIComponent(s.id)}`, created: true };
      } catch (e) {
        if (!isConflict(e)) throw e;
        const id = /<[^?!][^>]*?\bID="([^"]*)"/.exec(xml)?.[1];
        const same = (await archive.listScans(ref.session)).find((s) => s.id === id && s.insertUser === key.user);
        if (!same) throw e;
        return { uri: `${base}/scans/${encodeURIComponent(same.id)}`, created: false };
      }
    },
  };
}

/** The part of the user store that answers "may this login edit that project". */
export interface EditPermissionSource<U> {
  getUser(login: string): Promise<U | undefined>;
  can(user: U | undefined, action: 'edit', target: { project: string }): Promise<boolean>;
}

/** `canEdit` for `archiveSink` from the archive's user store. */
export function editPermission<U>(users: EditPermissionSource<U>): ArchiveSinkOptions['canEdit'] {
  return async (login, project) => users.can(await users.getUser(login), 'edit', { project });
}
