/**
 * The permission rule every endpoint applies (XNAT's defaults, applied to every `/data` object through the
 * project it belongs to):
 * - site administrators may do everything;
 * - a project's owners may read, create, edit and delete in it (and manage its users);
 * - members may read, create and edit, but not delete;
 * - collaborators may only read;
 * - any other signed-in user depends on the project's accessibility: `public` — read everything (`list` and
 *   `read`); `protected` — see the project itself (`list`: listings and its own record) but none of its data;
 *   `private` (the default) — nothing, the project is invisible; guests are refused at login whatever it is;
 * - any enabled user may create a new project and becomes its owner.
 *
 * A run's token (`XNAT_USER`/`XNAT_PASS`) is further confined by its `RunScope`: it acts only in the run's
 * project, reads what its user may read there, writes only the objects the run was launched on and what lies
 * below them, is never a site administrator or container manager, and may not mint credentials, manage users,
 * roles or settings (`assertNotScoped`).
 */
import { XcsError } from '../core/errors.ts';
import type { ObjectRef } from './types.ts';

export type ProjectRole = 'owner' | 'member' | 'collaborator';
export const PROJECT_ROLES: readonly ProjectRole[] = ['owner', 'member', 'collaborator'];
/** `list` is seeing that a project exists (listings, its own record); `read` is reading its data. */
export type Action = 'list' | 'read' | 'create' | 'edit' | 'delete';
export type Accessibility = 'public' | 'protected' | 'private';
export const ACCESSIBILITIES: readonly Accessibility[] = ['public', 'protected', 'private'];

/** What a run's token is confined to. */
export interface RunScope {
  /** The run's id. */
  run: string;
  project: string;
  /** The archive objects the run was launched on: writes must fall on one of them or below. */
  roots: ObjectRef[];
}

/**
 * What a permission is asked about: an object of a project, or the site itself (creating projects). `objects` is
 * the chain of archive objects a write goes through (as the URL walks them, outermost first); it matters only to
 * run tokens, whose writes must pass through one of their roots — a write asked without it is refused to them.
 */
export type PermissionTarget = { project: string; objects?: readonly ObjectRef[] } | { site: true };

export function roleAllows(role: ProjectRole | undefined, action: Action): boolean {
  switch (role) {
    case 'owner': return true;
    case 'member': return action !== 'delete';
    case 'collaborator': return action === 'read' || action === 'list';
    default: return false;
  }
}

function objectKey(ref: ObjectRef): string {
  switch (ref.kind) {
    case 'project': return `project:${ref.project}`;
    case 'subject': return `subject:${ref.subject}`;
    case 'session': return `session:${ref.session}`;
    case 'scan': return `scan:${ref.session}/${ref.scan}`;
    case 'assessor': return `assessor:${ref.assessor}`;
    case 'resource': return `resource:${ref.resource}`;
    case 'file': return `file:${ref.resource}/${ref.path}`;
  }
}

/**
 * Whether the scope lets its token attempt `action` on `target` at all; the user's own rights are checked
 * afterwards. Reads: anything in the run's project. Writes: only through one of the run's roots.
 */
export function scopeAllows(scope: RunScope, action: Action, target: PermissionTarget): boolean {
  if ('site' in target || target.project !== scope.project) return false;
  if (action === 'list' || action === 'read') return true;
  if (!target.objects) return false;
  const roots = new Set(scope.roots.map(objectKey));
  return target.objects.some((o) => roots.has(objectKey(o)));
}

/**
 * Refuses run tokens (and sessions opened with them) on routes no run may use: minting credentials, managing
 * users, roles and settings.
 */
export function assertNotScoped(user: { login: string; scope?: RunScope } | null | undefined, what: string): void {
  if (user?.scope) {
    throw new XcsError('auth.run-token', `a run's token may not ${what}`, {
      path: `run ${user.scope.run}`,
      hint: 'XNAT_USER/XNAT_PASS act only within the run\'s project; sign in as the user for this' });
  }
}
