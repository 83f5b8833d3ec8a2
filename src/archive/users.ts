/**
 * Users and project roles, with the permission rule every endpoint applies (`./permissions.ts`), passwords
 * (`./passwords.ts`) and credentials — HTTP sessions and alias tokens (`./credentials.ts`). Alias tokens are what
 * containers get as `XNAT_USER`/`XNAT_PASS`: they authenticate as the user who launched them, confined to the
 * run's scope, until they expire or are invalidated (with everything minted from them).
 */
import type { Kysely } from 'kysely';
import { XcsError } from '../core/errors.ts';
import type { ArchiveDb, UsersTable } from './db.ts';
import { isUniqueViolation } from './portable-sql.ts';
import { CredentialStore, type AliasToken, type CredentialHolder, type MintOptions } from './credentials.ts';
import { hashPassword, verifyDummyPassword, verifyPassword } from './passwords.ts';
import type { UserDirectory } from './user-directory.ts';
import { roleAllows, scopeAllows, type Accessibility, type Action, type PermissionTarget, type ProjectRole, type RunScope } from './permissions.ts';

export { hashPassword, verifyPassword } from './passwords.ts';
export { ACCESSIBILITIES, PROJECT_ROLES, assertNotScoped, roleAllows } from './permissions.ts';
export type { Accessibility, Action, PermissionTarget, ProjectRole, RunScope } from './permissions.ts';
export type { AliasToken, MintOptions } from './credentials.ts';
export type { UserDirectory } from './user-directory.ts';

export interface User {
  login: string;
  email: string;
  firstName: string;
  lastName: string;
  enabled: boolean;
  verified: boolean;
  /** Always false for a run's token, whatever its user is. */
  siteAdmin: boolean;
  /** Set when the caller signed in with a run's token (or a session opened with one): what confines it. */
  scope?: RunScope;
  /** The alias token behind the caller's credentials, if any: what it mints dies with it. */
  token?: string;
  /** Set by the server when the caller sent the password itself (Basic login:password), not a session or token. */
  byPassword?: boolean;
}

export interface NewUser {
  login: string;
  password: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  verified?: boolean;
  siteAdmin?: boolean;
}

const LOGIN_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Whether `login` could name a user (letters, digits, `. _ @ -`, at most 64, not starting with a sign). */
export function isLoginSyntax(login: string): boolean {
  return LOGIN_SYNTAX.test(login);
}
/** Sessions last this long unless their parent token ends first. */
const SESSION_TTL_SECONDS = 3600 * 8;

function toUser(row: UsersTable): User {
  return {
    login: row.login, email: row.email, firstName: row.first_name, lastName: row.last_name,
    enabled: row.enabled === 1, verified: row.verified === 1, siteAdmin: row.site_admin === 1,
  };
}

/** The embedded archive's users (SQLite): the first `UserDirectory`. */
export class UserStore implements UserDirectory {
  readonly #db: Kysely<ArchiveDb>;
  readonly #credentials: CredentialStore;
  readonly #credentialListeners = new Set<(login: string) => void>();

  constructor(db: Kysely<ArchiveDb>) {
    this.#db = db;
    this.#credentials = new CredentialStore(db);
  }

  async addUser(spec: NewUser): Promise<User> {
    if (!LOGIN_SYNTAX.test(spec.login)) {
      throw new XcsError('users.bad-login', `"${spec.login}" is not a valid login (letters, digits, . _ @ -; at most 64)`,
        { path: 'username' });
    }
    if (!spec.password) {
      throw new XcsError('users.no-password', 'a password is required', { path: 'password' });
    }
    if (await this.getUser(spec.login)) {
      throw new XcsError('users.exists', `user "${spec.login}" already exists`, { path: spec.login });
    }
    const row = {
      login: spec.login, password_hash: await hashPassword(spec.password), email: spec.email ?? '',
      first_name: spec.firstName ?? '', last_name: spec.lastName ?? '', enabled: spec.enabled === false ? 0 : 1,
      verified: spec.verified === false ? 0 : 1, site_admin: spec.siteAdmin ? 1 : 0, created: new Date().toISOString(),
    };
    try {
      await this.#db.insertInto('users').values(row).execute();
    } catch (e) {
      // Added meanwhile by another request or replica.
      if (isUniqueViolation(e)) throw new XcsError('users.exists', `user "${spec.login}" already exists`, { path: spec.login });
      throw e;
    }
    return (await this.getUser(spec.login))!;
  }

  async getUser(login: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async requireUser(login: string): Promise<User> {
    const u = await this.getUser(login);
    if (!u) throw new XcsError('users.not-found', `no user "${login}"`, { path: login });
    return u;
  }

  async listUsers(): Promise<User[]> {
    return (await this.#db.selectFrom('users').selectAll().orderBy('login').execute()).map(toUser);
  }

  async enabledAdmins(): Promise<number> {
    const r = await this.#db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('site_admin', '=', 1).where('enabled', '=', 1).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async countUsers(): Promise<number> {
    const r = await this.#db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async setPassword(login: string, password: string): Promise<void> {
    await this.requireUser(login);
    if (!password) throw new XcsError('users.no-password', 'a password is required', { path: 'password' });
    await this.#db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('login', '=', login).execute();
    await this.#credentials.revokeAll(login);
    this.#credentialsChanged(login);
  }

  async updateUser(login: string, patch: Partial<Omit<User, 'login'>>): Promise<User> {
    await this.requireUser(login);
    const set: Partial<UsersTable> = {};
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.firstName !== undefined) set.first_name = patch.firstName;
    if (patch.lastName !== undefined) set.last_name = patch.lastName;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.verified !== undefined) set.verified = patch.verified ? 1 : 0;
    if (patch.siteAdmin !== undefined) set.site_admin = patch.siteAdmin ? 1 : 0;
    if (Object.keys(set).length > 0) await this.#db.updateTable('users').set(set).where('login', '=', login).execute();
    // A disabled account keeps no way in: its sessions and tokens end now, not when they expire.
    if (patch.enabled === false) await this.#credentials.revokeAll(login);
    this.#credentialsChanged(login);
    return this.requireUser(login);
  }

  /**
   * Calls `listener` with the login after this store changes a user's password or account (enabled, admin…),
   * so that remembered logins are dropped at once. Changes made by other processes on the same data directory
   * (`xcs admin`) are not announced: `passwordStamp` reveals those. Returns the unsubscribe function.
   */
  onCredentialsChange(listener: (login: string) => void): () => void {
    this.#credentialListeners.add(listener);
    return () => this.#credentialListeners.delete(listener);
  }

  #credentialsChanged(login: string): void {
    for (const listener of this.#credentialListeners) listener(login);
  }

  /**
   * The user `login` names (not aliases) with an opaque stamp that changes whenever the password does, in
   * any process (`xcs admin user passwd` while a server runs): a remembered login is valid only while the
   * stamp is unchanged, and `user` carries the current enabled/admin flags.
   */
  async passwordStamp(login: string): Promise<{ user: User; stamp: string } | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    return row ? { user: toUser(row), stamp: row.password_hash } : undefined;
  }

  /**
   * Checks a login/password pair (scrypt: tens of milliseconds and 16 MiB each) or an alias/secret pair;
   * returns the enabled user it stands for (confined by the token's scope, if any). Servers remember successful
   * logins (`CredentialCache` in `http/auth.ts`).
   */
  async authenticate(login: string, password: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    if (row) {
      const user = toUser(row);
      // The password is checked even for a disabled account, so that the answer's timing says nothing.
      return (await verifyPassword(password, row.password_hash)) && user.enabled ? user : undefined;
    }
    const holder = await this.#credentials.aliasHolder(login, password);
    // An unknown login costs the same scrypt run as a wrong password: no timing oracle for who exists.
    if (!holder) await verifyDummyPassword(password);
    return holder ? this.#holderUser(holder) : undefined;
  }

  /** The enabled user a credential stands for, as confined as the credential is. */
  async #holderUser(holder: CredentialHolder): Promise<User | undefined> {
    const u = await this.getUser(holder.login);
    if (!u?.enabled) return undefined;
    const user: User = { ...u };
    if (holder.token) user.token = holder.token;
    if (holder.scope) {
      user.scope = holder.scope;
      user.siteAdmin = false;
    }
    return user;
  }

  /**
   * A token pair that authenticates as `login` (Basic `alias:secret`) for `ttlSeconds` — or less, when minted
   * with a `parent` token that ends sooner. Undefined when the parent is no longer valid.
   */
  async issueAliasToken(login: string, ttlSeconds: number, opts: MintOptions = {}): Promise<AliasToken> {
    await this.requireUser(login);
    const t = await this.#credentials.issueAliasToken(login, ttlSeconds, opts);
    if (!t) throw new XcsError('auth.token.parent-gone', 'the token this one would be issued from is no longer valid');
    return t;
  }

  /** Invalidates the token and every session and token minted from it. */
  async invalidateAliasToken(alias: string): Promise<void> {
    await this.#credentials.invalidateAliasToken(alias);
  }

  /** The holder of an alias/secret pair, without the user's account (`authenticate` checks that). */
  async aliasHolder(alias: string, secret: string): Promise<CredentialHolder | undefined> {
    return this.#credentials.aliasHolder(alias, secret);
  }

  /**
   * Starts an HTTP session (`JSESSIONID`); returns its cookie value, of which only a hash is stored. A session
   * opened with a token (`opts.parent`) keeps its scope and ends with it.
   */
  async createSession(login: string, ttlSeconds = SESSION_TTL_SECONDS, opts: MintOptions = {}): Promise<string> {
    const token = await this.#credentials.createSession(login, ttlSeconds, opts);
    if (!token) throw new XcsError('auth.token.parent-gone', 'the token this session would be opened with is no longer valid');
    return token;
  }

  async sessionUser(token: string): Promise<User | undefined> {
    const holder = await this.#credentials.sessionHolder(token);
    return holder ? this.#holderUser(holder) : undefined;
  }

  async endSession(token: string): Promise<void> {
    await this.#credentials.endSession(token);
  }

  /** Ends every session and invalidates every alias token of `login`. */
  async revokeCredentials(login: string): Promise<void> {
    await this.#credentials.revokeAll(login);
    this.#credentialsChanged(login);
  }

  /** Gives `login` a role in `project`, replacing any other; `null` removes it. */
  async setRole(project: string, login: string, role: ProjectRole | null): Promise<void> {
    await this.requireUser(login);
    if (!role) {
      await this.#db.deleteFrom('project_roles').where('project', '=', project).where('login', '=', login).execute();
      return;
    }
    // One statement: two replicas setting a role at once leave one of them, never a duplicate-key failure.
    await this.#db.insertInto('project_roles').values({ project, login, role })
      .onConflict((oc) => oc.columns(['project', 'login']).doUpdateSet({ role })).execute();
  }

  async roleOf(login: string, project: string): Promise<ProjectRole | undefined> {
    const row = await this.#db.selectFrom('project_roles').select('role')
      .where('project', '=', project).where('login', '=', login).executeTakeFirst();
    return row?.role as ProjectRole | undefined;
  }

  async projectUsers(project: string): Promise<Array<{ login: string; role: ProjectRole }>> {
    const rows = await this.#db.selectFrom('project_roles').select(['login', 'role']).where('project', '=', project)
      .orderBy('login').execute();
    return rows.map((r) => ({ login: r.login, role: r.role as ProjectRole }));
  }

  /** Projects `login` has any role in. */
  async projectsOf(login: string): Promise<Map<string, ProjectRole>> {
    const rows = await this.#db.selectFrom('project_roles').select(['project', 'role']).where('login', '=', login).execute();
    return new Map(rows.map((r) => [r.project, r.role as ProjectRole]));
  }

  async dropProject(project: string): Promise<void> {
    await this.#db.deleteFrom('project_roles').where('project', '=', project).execute();
  }

  async can(user: User | null | undefined, action: Action, target: PermissionTarget): Promise<boolean> {
    if (!user || !user.enabled) return false;
    if (user.scope) {
      // A run's token: within its scope, what its user may do (an administrator's run reads as one).
      if (!scopeAllows(user.scope, action, target)) return false;
      return this.can(await this.getUser(user.login), action, target);
    }
    if (user.siteAdmin) return true;
    if ('site' in target) return action === 'create' || action === 'read';
    const role = await this.roleOf(user.login, target.project);
    if (roleAllows(role, action)) return true;
    if (role !== undefined || (action !== 'read' && action !== 'list')) return false;
    const access = await this.accessibilityOf(target.project);
    return access === 'public' || (access === 'protected' && action === 'list');
  }

  async projectExists(project: string): Promise<boolean> {
    return (await this.#db.selectFrom('projects').select('id').where('id', '=', project).executeTakeFirst()) !== undefined;
  }

  /** A project's accessibility; anything unknown (or a missing project) counts as `private`. */
  async accessibilityOf(project: string): Promise<Accessibility> {
    const row = await this.#db.selectFrom('projects').select('accessibility').where('id', '=', project).executeTakeFirst();
    const v = row?.accessibility.toLowerCase();
    return v === 'public' || v === 'protected' ? v : 'private';
  }
}
