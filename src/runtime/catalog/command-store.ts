/**
 * Registered commands and their wrappers, with XNAT's ids and enablement (site-wide and per project).
 * New wrappers are disabled until enabled, as in XNAT; unlike XNAT, launching checks it (our deviation).
 */
import { sqlList } from '../../core/database/sync-sql.ts';
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandWrapper } from '../../command/index.ts';
import { parseImageCommandRef } from '../../resolution/image-ref.ts';
import type { SqlValue } from '../../core/database/sync-sql.ts';
import type { RunDatabase } from '../store/db.ts';

export interface RegisteredWrapper {
  command: Command;
  wrapper: CommandWrapper;
}

interface CommandRow { id: number; json: string }

export class CommandStore {
  private readonly db: RunDatabase;

  constructor(db: RunDatabase) {
    this.db = db;
  }

  /** Stores a validated command; assigns ids to it and its wrappers. Duplicates (name, version, image) are refused. */
  register(command: Command): Command {
    return this.db.transaction(() => {
      const dup = this.db.prepare('SELECT id FROM commands WHERE name = ? AND version = ? AND image = ?')
        .get(command.name, command.version ?? '', command.image) as { id: number } | undefined;
      if (dup) throw duplicateCommand(command, dup.id);
      const { id } = this.db.prepare<SqlValue[], { id: number }>(
        'INSERT INTO commands (name, version, image, json, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id')
        .get(command.name, command.version ?? '', command.image, '{}', Date.now())!;
      const wrappers = command.xnat.map((w) => ({ ...w, id: this.insertWrapper(id, w.name) }));
      const stored: Command = { ...command, id, xnat: wrappers };
      this.db.prepare('UPDATE commands SET json = ? WHERE id = ?').run(JSON.stringify(stored), id);
      return stored;
    })();
  }

  /**
   * Replaces a command (reference §1.10): wrappers are matched by name — a wrapper keeps its id (and its
   * enablement) when its name stays, new names get new ids, wrappers no longer named are deleted. Returns
   * the stored command and the ids of the deleted wrappers (their configurations and orchestrations follow).
   */
  update(id: number, command: Command, renamed?: { wrapperId: number; name: string }): { command: Command; removedWrappers: number[] } {
    return this.db.transaction(() => {
      const old = this.require(id);
      // A wrapper updated by id keeps its id under a new name.
      if (renamed) {
        this.db.prepare('UPDATE wrappers SET name = ? WHERE id = ? AND command_id = ?').run(renamed.name, renamed.wrapperId, id);
        for (const w of old.xnat) if (w.id === renamed.wrapperId) w.name = renamed.name;
      }
      const dup = this.db.prepare('SELECT id FROM commands WHERE name = ? AND version = ? AND image = ? AND id <> ?')
        .get(command.name, command.version ?? '', command.image, id) as { id: number } | undefined;
      if (dup) throw duplicateCommand(command, dup.id);
      const byName = new Map(old.xnat.map((w) => [w.name, w.id]));
      const kept = new Set<number>();
      const wrappers = command.xnat.map((w) => {
        const existing = byName.get(w.name);
        if (existing !== undefined) {
          kept.add(existing);
          return { ...w, id: existing };
        }
        return { ...w, id: this.insertWrapper(id, w.name) };
      });
      const removed = old.xnat.map((w) => w.id).filter((wid) => !kept.has(wid));
      for (const wid of removed) this.db.prepare('DELETE FROM wrappers WHERE id = ?').run(wid);
      const stored: Command = { ...command, id, xnat: wrappers };
      this.db.prepare('UPDATE commands SET name = ?, version = ?, image = ?, json = ? WHERE id = ?')
        .run(command.name, command.version ?? '', command.image, JSON.stringify(stored), id);
      return { command: stored, removedWrappers: removed };
    })();
  }

  private insertWrapper(commandId: number, name: string): number {
    return this.db.prepare<[number, string], { id: number }>('INSERT INTO wrappers (command_id, name) VALUES (?, ?) RETURNING id')
      .get(commandId, name)!.id;
  }

  /** Deletes a command with its wrappers and their enablement; returns the deleted wrapper ids. */
  delete(id: number): number[] {
    const old = this.require(id);
    this.db.prepare('DELETE FROM commands WHERE id = ?').run(id);
    return old.xnat.map((w) => w.id);
  }

  /** The command owning a wrapper (404 when none). */
  commandOfWrapper(wrapperId: number): Command {
    return this.wrapperById(wrapperId).command;
  }

  list(): Command[] {
    return (this.db.prepare('SELECT id, json FROM commands ORDER BY id').all() as CommandRow[])
      .map((r) => JSON.parse(r.json) as Command);
  }

  get(id: number): Command | undefined {
    const row = this.db.prepare('SELECT id, json FROM commands WHERE id = ?').get(id) as CommandRow | undefined;
    return row ? (JSON.parse(row.json) as Command) : undefined;
  }

  require(id: number): Command {
    const c = this.get(id);
    if (!c) throw new XcsError('command.not-found', `No command with id ${id}`, { path: String(id) });
    return c;
  }

  /**
   * A setup or wrapup command by its reference `[registry[:port]/]repo/image:tag[:command-name]` (reference
   * §1.12, with our deviation: a registry port does not break the split). With a name: that command of the
   * image; without: the image's only command. Null when none; an error when several could be meant.
   * Unlike XNAT, nothing is pulled: the command must be registered (REST or the image's labels).
   */
  findByImage(ref: string): Command | null {
    const { image, commandName } = parseImageCommandRef(ref);
    const images = image.slice(image.lastIndexOf('/') + 1).includes(':') ? [image] : [image, `${image}:latest`];
    const rows = this.db.prepare(`SELECT id, json FROM commands WHERE image IN ${sqlList(images)} ORDER BY id`)
      .all(...images) as CommandRow[];
    const sameImage = rows.map((r) => JSON.parse(r.json) as Command);
    if (commandName !== null) return sameImage.find((c) => c.name === commandName) ?? null;
    if (sameImage.length > 1) {
      throw new XcsError('resolution.setup.ambiguous',
        `Found multiple commands for image ${image}. Could not distinguish because I was not given a command name. (Input: ${ref})`,
        { path: ref, hint: `name one: ${sameImage.map((c) => `${image}:${c.name}`).join(', ')}` });
    }
    return sameImage[0] ?? null;
  }

  wrapperById(wrapperId: number): RegisteredWrapper {
    const found = this.findWrapper(wrapperId);
    if (!found) throw new XcsError('wrapper.not-found', `No wrapper with id ${wrapperId}`, { path: String(wrapperId) });
    return found;
  }

  /** The wrapper with this id and its command, or undefined. */
  findWrapper(wrapperId: number): RegisteredWrapper | undefined {
    const row = this.db.prepare('SELECT command_id FROM wrappers WHERE id = ?').get(wrapperId) as { command_id: number } | undefined;
    const command = row ? this.get(row.command_id) : undefined;
    const wrapper = command?.xnat.find((w) => w.id === wrapperId);
    return command && wrapper ? { command, wrapper } : undefined;
  }

  wrapperByName(commandId: number, name: string): RegisteredWrapper {
    const command = this.require(commandId);
    const wrapper = command.xnat.find((w) => w.name === name);
    if (!wrapper) {
      throw new XcsError('wrapper.not-found', `Command ${commandId} has no wrapper named "${name}"`, { path: name });
    }
    return { command, wrapper };
  }

  setEnabled(wrapperId: number, enabled: boolean, project: string | null): void {
    this.wrapperById(wrapperId);
    if (project === null) {
      this.db.prepare('UPDATE wrappers SET enabled = ? WHERE id = ?').run(enabled ? 1 : 0, wrapperId);
    } else {
      this.db.prepare(`INSERT INTO wrapper_projects (wrapper_id, project, enabled) VALUES (?, ?, ?)
          ON CONFLICT(wrapper_id, project) DO UPDATE SET enabled = excluded.enabled`).run(wrapperId, project, enabled ? 1 : 0);
    }
  }

  enabledForSite(wrapperId: number): boolean {
    const row = this.db.prepare('SELECT enabled FROM wrappers WHERE id = ?').get(wrapperId) as { enabled: number } | undefined;
    return row?.enabled === 1;
  }

  enabledForProject(wrapperId: number, project: string): boolean {
    const row = this.db.prepare('SELECT enabled FROM wrapper_projects WHERE wrapper_id = ? AND project = ?')
      .get(wrapperId, project) as { enabled: number } | undefined;
    return row?.enabled === 1;
  }

  /** Projects whose flag enables the wrapper (the site flag aside), sorted. */
  enabledProjects(wrapperId: number): string[] {
    return (this.db.prepare('SELECT project FROM wrapper_projects WHERE wrapper_id = ? AND enabled = 1 ORDER BY project')
      .all(wrapperId) as Array<{ project: string }>).map((r) => r.project);
  }
}

/** XNAT's message (§1.10); the hint names the command already registered. */
function duplicateCommand(command: Command, existingId: number): XcsError {
  return new XcsError('command.duplicate', 'This command duplicates a command already in the database.', {
    path: '/name',
    hint: `command ${existingId} already has name "${command.name}", version "${command.version ?? ''}" and image ${command.image}; ` +
      `update it with POST /xapi/commands/${existingId}`,
  });
}
