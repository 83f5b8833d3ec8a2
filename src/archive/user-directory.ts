/**
 * Users as every layer above the archive sees them: accounts, credentials (passwords, alias tokens, sessions),
 * project roles and the permission rule (`can`). An interface so that another directory — PostgreSQL, or a remote
 * XNAT answering for its own users — can stand in for the embedded SQLite one (`UserStore`, `users.ts`). Every
 * method is asynchronous (a network directory answers later) except `onCredentialsChange`, a subscription.
 */
import type { AliasToken, CredentialHolder, MintOptions } from './credentials.ts';
import type { Accessibility, Action, PermissionTarget, ProjectRole } from './permissions.ts';
import type { NewUser, User } from './users.ts';

export interface UserDirectory {
  /* Accounts. */
  addUser(spec: NewUser): Promise<User>;
  getUser(login: string): Promise<User | undefined>;
  /** 404 when there is no such user. */
  requireUser(login: string): Promise<User>;
  listUsers(): Promise<User[]>;
  enabledAdmins(): Promise<number>;
  countUsers(): Promise<number>;
  setPassword(login: string, password: string): Promise<void>;
  updateUser(login: string, patch: Partial<Omit<User, 'login'>>): Promise<User>;
  /** Calls `listener` with the login after a user's password or account changes; returns the unsubscribe function. */
  onCredentialsChange(listener: (login: string) => void): () => void;

  /* Credentials. */
  /** The user and a stamp that changes with the password (remembered logins are checked against it). */
  passwordStamp(login: string): Promise<{ user: User; stamp: string } | undefined>;
  /** The enabled user a login/password or alias/secret pair stands for (confined by the token's scope, if any). */
  authenticate(login: string, password: string): Promise<User | undefined>;
  issueAliasToken(login: string, ttlSeconds: number, opts?: MintOptions): Promise<AliasToken>;
  invalidateAliasToken(alias: string): Promise<void>;
  aliasHolder(alias: string, secret: string): Promise<CredentialHolder | undefined>;
  createSession(login: string, ttlSeconds?: number, opts?: MintOptions): Promise<string>;
  sessionUser(token: string): Promise<User | undefined>;
  endSession(token: string): Promise<void>;
  revokeCredentials(login: string): Promise<void>;

  /* Project roles and permissions. */
  setRole(project: string, login: string, role: ProjectRole | null): Promise<void>;
  roleOf(login: string, project: string): Promise<ProjectRole | undefined>;
  projectUsers(project: string): Promise<Array<{ login: string; role: ProjectRole }>>;
  projectsOf(login: string): Promise<Map<string, ProjectRole>>;
  dropProject(project: string): Promise<void>;
  /** The permission rule every endpoint applies (`permissions.ts`). */
  can(user: User | null | undefined, action: Action, target: PermissionTarget): Promise<boolean>;
  projectExists(project: string): Promise<boolean>;
  accessibilityOf(project: string): Promise<Accessibility>;
}
