/**
 * `XnatObjectSource`: how resolution reads the archive. Small on purpose so that the embedded archive,
 * a remote XNAT or a JSON file can each implement it in a few lines.
 *
 * Contract for implementers:
 *  - Every method returns SHALLOW objects (see `xnat-model.ts`): all scalar fields, `uri` always set,
 *    `directory` when the object has files on disk, and NO child collections. Resolution asks for the
 *    children it needs with `children()` and attaches them itself, so a wrapper on one scan of a
 *    2,000-scan session loads that session's scan list and the scan's resources, nothing else.
 *  - URIs are XNAT archive URIs, e.g. `/archive/experiments/E1/scans/3/resources/DICOM`; accept them
 *    with or without the `/archive` prefix, and the long project/subject form for experiments.
 *  - Return null (not throw) for "no such object"; throw only for failures of the store itself.
 *  - `canRead`/`canEdit` answer for the launching user (null = no user, e.g. the CLI: allow).
 *
 * `MemoryObjectSource` (memory-source.ts) implements it over an XNAT-shaped JSON tree.
 */
import type { ChildKind, XnatObject, XnatType } from './xnat-model.ts';

export interface XnatObjectSource {
  /** The object at an archive URI, or null. */
  getByUri(uri: string): Promise<XnatObject | null>;
  /**
   * The object of `type` with this id (Project, Subject, Session, Assessor, ProjectAsset,
   * SubjectAssessor; Resource by numeric id). `project`, when given, must contain the object.
   * XNAT cannot look Scans up by id; implementations may return null for them.
   */
  getById(type: XnatType, id: string, project?: string | null): Promise<XnatObject | null>;
  /** The objects of one child collection of `parent`, in archive order (shallow). */
  children(parent: XnatObject, kind: ChildKind): Promise<XnatObject[]>;
  /** The nearest ancestor of `object` of the given type (e.g. the Session of a Scan), or null. */
  ancestor(object: XnatObject, type: XnatType): Promise<XnatObject | null>;
  /** Whether the user may read the object. */
  canRead(user: string | null, object: XnatObject): Promise<boolean>;
  /** Whether the user may add outputs (resources, assessors, scans) under the object. */
  canEdit(user: string | null, object: XnatObject): Promise<boolean>;
}
