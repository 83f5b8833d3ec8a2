/**
 * Users, project roles, HTTP sessions and alias tokens, and the permission rule every endpoint applies.
 *
 * Permission rule (XNAT's defaults, applied to every `/data` object through the project it belongs to):
 * - site administrators may do everything;
 * - a project's owners may read, create, edit and delete in it (and manage its users);
 * - members may read, create and edit, but not delete;
 * - collaborators may only read;
 * - any other signed-in user depends on the project's accessibility: `public` — read everything (`list` and
 *   `read`); `protected` — see the project itself (`list`: listings and its own record) but none of its data;
 *   `private` (the default) — nothing, the project is invisible; guests are refused at login whatever it is;
 * - any enabled user may create a new project and becomes its owner.
 * Passwords are hashed with scrypt (Node's crypto; no native dependency). Alias tokens are what
 * containers get as `XNAT_USER`/`XNAT_PASS`: they authenticate as the user who launched them until they
 * expire or are invalidated.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { XcsError } from '../core/errors.ts';
import type { ArchiveDb, UsersTable } from './db.ts';

export type ProjectRole = 'owner' | 'member' | 'collaborator';
export const PROJECT_ROLES: readonly ProjectRole[] = ['owner', 'member', 'collaborator'];
/** `list` is seeing that a project exists (listings, its own record); `read` is reading its data. */
export type Action = 'list' | 'read' | 'create' | 'edit' | 'delete';
export type Accessibility = 'public' | 'protected' | 'private';
export const ACCESSIBILITIES: readonly Accessibility[] = ['public', 'protected', 'private'];

export interface User {
  login: string;
  email: string;
  firstName: string;
  lastName: string;
  enabled: boolean;
  verified: boolean;
  siteAdmin: boolean;
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

/** What a permission is asked about: an object of a project, or the site itself (creating projects). */
export type PermissionTarget = { project: string } | { site: true };

export interface AliasToken {
  alias: string;
  secret: string;
  /** Epoch milliseconds. */
  expires: number;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
/** Checked against when the login is unknown, so that an unknown login costs the same scrypt run as a wrong password. */
const DUMMY_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$HnRAl+XxDUWiyyJrbu5TEA==$j3HgaHv5Fz4lQTqze3bhzM1Wr5UCH6VEtV0oWGHL8sM=`;
const LOGIN_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p), expected.length);
  return timingSafeEqual(key, expected);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function toUser(row: UsersTable): User {
  return {
    login: row.login, email: row.email, firstName: row.first_name, lastName: row.last_name,
    enabled: row.enabled === 1, verified: row.verified === 1, siteAdmin: row.site_admin === 1,
  };
}

export class UserStore {
  readonly #db: Kysely<ArchiveDb>;
  readonly #credentialListeners = new Set<(login: string) => void>();

  constructor(db: Kysely<ArchiveDb>) {
    this.#db = db;
  }

  async addUser(spec: NewUser): Promise<User> {
    if (!LOGIN_SYNTAX.test(spec.login)) {
      throw new XcsError('users.bad-login', `"${spec.login}" is not a valid login (letters, digits, . _ @ -; at most 64)`,
        { status: 400, path: 'username' });
    }
    if (!spec.password) {
      throw new XcsError('users.no-password', 'a password is required', { status: 400, path: 'password' });
    }
    if (await this.getUser(spec.login)) {
      throw new XcsError('users.exists', `user "${spec.login}" already exists`, { status: 409, path: spec.login });
    }
    await this.#db.insertInto('users').values({
      login: spec.login, password_hash: await hashPassword(spec.password), email: spec.email ?? '',
      first_name: spec.firstName ?? '', last_name: spec.lastName ?? '', enabled: spec.enabled === false ? 0 : 1,
      verified: spec.verified === false ? 0 : 1, site_admin: spec.siteAdmin ? 1 : 0, created: new Date().toISOString(),
    }).execute();
    return (await this.getUser(spec.login))!;
  }

  async getUser(login: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async requireUser(login: string): Promise<User> {
    const u = await this.getUser(login);
    if (!u) throw new XcsError('users.not-found', `no user "${login}"`, { status: 404, path: login });
    return u;
  }

  async listUsers(): Promise<User[]> {
    return (await this.#db.selectFrom('users').selectAll().orderBy('login').execute()).map(toUser);
  }

  async countUsers(): Promise<number> {
    const r = await this.#db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async setPassword(login: string, password: string): Promise<void> {
    await this.requireUser(login);
    if (!password) throw new XcsError('users.no-password', 'a password is required', { status: 400, path: 'password' });
    await this.#db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('login', '=', login).execute();
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
   * returns the enabled user it stands for. Servers remember successful logins (`CredentialCache` in
   * `http/auth.ts`).
   */
  async authenticate(login: string, password: string): Promise<User | undefined> {
    let user: User | undefined;
    const row = await this.#db.selectFrom('users').selectAll().where('login', '=', login).executeTakeFirst();
    if (row) {
      if (await verifyPassword(password, row.password_hash)) user = toUser(row);
    } else {
      user = await this.#authenticateAlias(login, password);
      if (!user) await verifyPassword(password, DUMMY_HASH);
    }
    return user?.enabled ? user : undefined;
  }

  async #authenticateAlias(alias: string, secret: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('alias_tokens').selectAll().where('alias', '=', alias).executeTakeFirst();
    if (!row || row.expires <= Date.now()) return undefined;
    const a = Buffer.from(row.secret_hash, 'hex');
    const b = Buffer.from(sha256(secret), 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return this.getUser(row.login);
  }

  /** A token pair that authenticates as `login` (Basic `alias:secret`) for `ttlSeconds`. */
  async issueAliasToken(login: string, ttlSeconds: number): Promise<AliasToken> {
    await this.requireUser(login);
    const alias = `xcs-alias-${randomBytes(9).toString('hex')}`;
    const secret = randomBytes(24).toString('base64url');
    const expires = Date.now() + Math.max(1, ttlSeconds) * 1000;
    await this.#db.insertInto('alias_tokens').values({ alias, secret_hash: sha256(secret), login, expires }).execute();
    await this.#db.deleteFrom('alias_tokens').where('expires', '<=', Date.now()).execute();
    return { alias, secret, expires };
  }

  async invalidateAliasToken(alias: string): Promise<void> {
    await this.#db.deleteFrom('alias_tokens').where('alias', '=', alias).execute();
  }

  /** Starts an HTTP session (`JSESSIONID`); returns its token. */
  async createSession(login: string, ttlSeconds = 3600 * 8): Promise<string> {
    const token = randomBytes(24).toString('hex').toUpperCase();
    await this.#db.insertInto('http_sessions').values({ token, login, expires: Date.now() + ttlSeconds * 1000 }).execute();
    return token;
  }

  async sessionUser(token: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('http_sessions').selectAll().where('token', '=', token).executeTakeFirst();
    if (!row || row.expires <= Date.now()) return undefined;
    const u = await this.getUser(row.login);
    return u?.enabled ? u : undefined;
  }

  async endSession(token: string): Promise<void> {
    await this.#db.deleteFrom('http_sessions').where('token', '=', token).execute();
  }

  /** Gives `login` a role in `project`, replacing any other; `null` removes it. */
  async setRole(project: string, login: string, role: ProjectRole | null): Promise<void> {
    await this.requireUser(login);
    await this.#db.deleteFrom('project_roles').where('project', '=', project).where('login', '=', login).execute();
    if (role) await this.#db.insertInto('project_roles').values({ project, login, role }).execute();
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

export function roleAllows(role: ProjectRole | undefined, action: Action): boolean {
  switch (role) {
    case 'owner': return true;
    case 'member': return action !== 'delete';
    case 'collaborator': return action === 'read' || action === 'list';
    default: return false;
  }
}
