/**
 * The archive objects as XNAT shows them to matchers and to `derived-from-xnat-object-property`
 * (reference §2.2): plain JSON with a `type` discriminator, kebab-case keys, null fields omitted.
 * Child collections (`scans`, `resources`, `files`...) are present only when loaded: resolution
 * loads the ones a wrapper needs (see `XnatObjectSource`).
 */
import type { JsonValue } from '../matcher/index.ts';

export const XNAT_TYPES = [
  'Project', 'ProjectAsset', 'Subject', 'Session', 'SubjectAssessor', 'Scan', 'Assessor', 'Resource', 'File',
] as const;
export type XnatType = (typeof XNAT_TYPES)[number];

/** Names of the child collections an object may carry. */
export const CHILD_KINDS = [
  'subjects', 'sessions', 'subject-assessors', 'project-assets', 'scans', 'assessors', 'resources', 'files',
] as const;
export type ChildKind = (typeof CHILD_KINDS)[number];

/** Which collections each type has, and the type of their items. */
export const CHILDREN_OF: Record<XnatType, Partial<Record<ChildKind, XnatType>>> = {
  Project: { subjects: 'Subject', resources: 'Resource', 'project-assets': 'ProjectAsset' },
  ProjectAsset: { subjects: 'Subject', sessions: 'Session', resources: 'Resource' },
  Subject: { sessions: 'Session', 'subject-assessors': 'SubjectAssessor', resources: 'Resource' },
  Session: { scans: 'Scan', assessors: 'Assessor', resources: 'Resource' },
  SubjectAssessor: { resources: 'Resource' },
  Scan: { resources: 'Resource' },
  Assessor: { resources: 'Resource' },
  Resource: { files: 'File' },
  File: {},
};

/** Types whose objects have a directory a mount can be made from (§1.9). */
export const MOUNTABLE_TYPES: readonly string[] = [
  'Project', 'ProjectAsset', 'SubjectAssessor', 'Session', 'Scan', 'Assessor', 'Resource', 'File',
];

/** Fields common to every archive object. */
export interface XnatObjectBase {
  type: XnatType;
  id?: string;
  label?: string;
  xsiType?: string;
  uri?: string;
  directory?: string;
  'datatype-string'?: string;
  'project-id'?: string;
  [key: string]: JsonValue | undefined;
}

export interface XnatProject extends XnatObjectBase {
  type: 'Project';
  title?: string;
  'running-title'?: string;
  description?: string;
  keywords?: string;
  accessibility?: string;
  aliases?: string[];
}
export interface XnatSubject extends XnatObjectBase {
  type: 'Subject';
  group?: string;
  source?: string;
  initials?: string;
}
export interface XnatSession extends XnatObjectBase {
  type: 'Session';
  'shared-from-project-id'?: string;
  'subject-id'?: string;
  'visit-id'?: string;
}
export interface XnatScan extends XnatObjectBase {
  type: 'Scan';
  'integer-id'?: number;
  'scan-type'?: string;
  'session-id'?: string;
  frames?: number;
  note?: string;
  modality?: string;
  quality?: string;
  scanner?: string;
  'series-description'?: string;
  uid?: string;
}
export interface XnatAssessor extends XnatObjectBase {
  type: 'Assessor';
  'session-id'?: string;
  name?: string;
}
export interface XnatResource extends XnatObjectBase {
  type: 'Resource';
  'integer-id'?: number;
  'parent-uri'?: string;
}
export interface XnatFile extends XnatObjectBase {
  type: 'File';
  name?: string;
  path?: string;
  tags?: string[];
  format?: string;
  content?: string;
  size?: number;
  checksum?: string;
}

/** Any archive object; narrow on `type`. */
export type XnatObject = XnatObjectBase;

/** Whether a wrapper-input type names an archive object type. */
export function isXnatType(t: string): t is XnatType {
  return (XNAT_TYPES as readonly string[]).includes(t);
}

/** XNAT's archive URIs start with `/archive`; values may omit it. */
export function archiveUri(uri: string): string {
  return uri.startsWith('/archive/') || uri === '/archive' ? uri : `/archive${uri.startsWith('/') ? '' : '/'}${uri}`;
}

/** A copy of the object without its child collections (what a shallow load returns). */
export function shallow(o: XnatObject): XnatObject {
  const out: XnatObject = { type: o.type };
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    if ((CHILD_KINDS as readonly string[]).includes(k) && Array.isArray(v)) continue;
    out[k] = v;
  }
  return out;
}
