/**
 * Command visibility (reference §6.4, §1.1 `visibility`), asked the same way by every caller that shows or runs a
 * command for a user: listings, single reads, availability, the launch UI, launch and the in-process launcher.
 * Container managers see every command. Others see `public` and `protected` ones (XNAT gives `protected` no further
 * meaning), and a `private` one only when one of its wrappers is enabled in a project they can read. The value is
 * compared case-insensitively, as XNAT filters (validation wants lower case).
 */
import { XcsError } from '../../core/errors.ts';
import type { Action, User } from '../../archive/users.ts';
import type { Command } from '../../command/model.ts';
import type { MaybePromise } from './catalog.ts';

export type EnabledProjects = (wrapperId: number) => MaybePromise<string[]>;

/** The two questions visibility asks of the site's roles (http's `AccessControl` answers them). */
export interface RoleChecks {
  isContainerManager(user: User | null): Promise<boolean>;
  can(user: User | null, action: Action, project: string): Promise<boolean>;
}

export function isPrivate(command: Pick<Command, 'visibility'>): boolean {
  return (command.visibility ?? 'public').toLowerCase() === 'private';
}

export async function commandVisible(roles: RoleChecks, enabledProjects: EnabledProjects, user: User | null,
  command: Pick<Command, 'visibility' | 'xnat'>): Promise<boolean> {
  if (!isPrivate(command)) return true;
  if (await roles.isContainerManager(user)) return true;
  if (!user) return false;
  for (const w of command.xnat) {
    for (const project of await enabledProjects(w.id)) if (await roles.can(user, 'read', project)) return true;
  }
  return false;
}

/**
 * The refusal for a command the user may not see: the words of the not-found answer of the same route (`prefix`
 * is the code prefix that route uses, `xapi.` or none).
 */
export function notVisible(key: { wrapperId: number } | { commandId: number }, prefix: '' | 'xapi.' = ''): XcsError {
  return 'wrapperId' in key
    ? new XcsError(`${prefix}wrapper.not-found`, `No wrapper with id ${key.wrapperId}`, { path: String(key.wrapperId) })
    : new XcsError(`${prefix}command.not-found`, `No command with id ${key.commandId}`, { path: String(key.commandId) });
}
