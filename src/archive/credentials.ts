/**
 * HTTP sessions (`JSESSIONID`) and alias tokens, as a chain of credentials that die together.
 *
 * - Neither is stored usable: a session row holds the sha256 of its cookie, a token row the sha256 of its secret.
 * - A credential minted while signed in with an alias token (a session opened, another token issued) records
 *   that token as its `parent`: it never outlives the parent's expiry, inherits its scope, and invalidating the
 *   parent invalidates it (and its own children) at once.
 * - `revokeAll(login)` ends every session and token of a user (password change, account disabled).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ArchiveDb } from './db.ts';
import { sameDigest, sha256 } from './passwords.ts';
import type { RunScope } from './permissions.ts';

export interface AliasToken {
  alias: string;
  secret: string;
  /** Epoch milliseconds. */
  expires: number;
}

/** Who a valid credential stands for, and what confines it. */
export interface CredentialHolder {
  login: string;
  /** The alias token behind the credential (itself, or the one a session was opened with). */
  token?: string;
  scope?: RunScope;
}

export interface MintOptions {
  /** The alias token the caller authenticated with: the new credential dies with it. */
  parent?: string;
  /** Confines the credential to a run (inherited from `parent` when that has one). */
  scope?: RunScope;
}

function parseScope(json: string | null): RunScope | undefined {
  return json ? (JSON.parse(json) as RunScope) : undefined;
}

export class CredentialStore {
  readonly #db: Kysely<ArchiveDb>;
  readonly #now: () => number;

  constructor(db: Kysely<ArchiveDb>, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** The parent's limits: a child never outlives it and keeps its scope. Undefined when the parent is gone. */
  async #inherit(expires: number, opts: MintOptions): Promise<{ expires: number; scope?: RunScope; parent: string | null } | undefined> {
    if (!opts.parent) return { expires, scope: opts.scope, parent: null };
    const p = await this.#db.selectFrom('alias_tokens').select(['expires', 'scope']).where('alias', '=', opts.parent).executeTakeFirst();
    if (!p || p.expires <= this.#now()) return undefined;
    return { expires: Math.min(expires, p.expires), scope: parseScope(p.scope) ?? opts.scope, parent: opts.parent };
  }

  async issueAliasToken(login: string, ttlSeconds: number, opts: MintOptions = {}): Promise<AliasToken | undefined> {
    const limits = await this.#inherit(this.#now() + Math.max(1, ttlSeconds) * 1000, opts);
    if (!limits) return undefined;
    const alias = `xcs-alias-${randomBytes(9).toString('hex')}`;
    const secret = randomBytes(24).toString('base64url');
    await this.#db.insertInto('alias_tokens').values({
      alias, secret_hash: sha256(secret), login, expires: limits.expires, parent: limits.parent,
      scope: limits.scope ? JSON.stringify(limits.scope) : null,
    }).execute();
    await this.purgeExpired();
    return { alias, secret, expires: limits.expires };
  }

  /** The holder of a valid alias/secret pair. */
  async aliasHolder(alias: string, secret: string): Promise<CredentialHolder | undefined> {
    const row = await this.#db.selectFrom('alias_tokens').selectAll().where('alias', '=', alias).executeTakeFirst();
    if (!row || row.expires <= this.#now() || !sameDigest(row.secret_hash, sha256(secret))) return undefined;
    return { login: row.login, token: row.alias, scope: parseScope(row.scope) };
  }

  /** Invalidates a token and everything minted from it, down the chain. */
  async invalidateAliasToken(alias: string): Promise<void> {
    const chain = [alias];
    for (let i = 0; i < chain.length; i++) {
      const children = await this.#db.selectFrom('alias_tokens').select('alias').where('parent', '=', chain[i]).execute();
      for (const c of children) if (!chain.includes(c.alias)) chain.push(c.alias);
    }
    await this.#db.transaction().execute(async (tx) => {
      await tx.deleteFrom('http_sessions').where('parent', 'in', chain).execute();
      await tx.deleteFrom('alias_tokens').where('alias', 'in', chain).execute();
    });
  }

  /** Starts an HTTP session; returns the cookie value (only its hash is stored). */
  async createSession(login: string, ttlSeconds: number, opts: MintOptions = {}): Promise<string | undefined> {
    const limits = await this.#inherit(this.#now() + ttlSeconds * 1000, opts);
    if (!limits) return undefined;
    const token = randomBytes(24).toString('hex').toUpperCase();
    await this.#db.insertInto('http_sessions').values({
      token_hash: sha256(token), login, expires: limits.expires, parent: limits.parent,
      scope: limits.scope ? JSON.stringify(limits.scope) : null,
    }).execute();
    return token;
  }

  async sessionHolder(token: string): Promise<CredentialHolder | undefined> {
    const row = await this.#db.selectFrom('http_sessions').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
    if (!row || row.expires <= this.#now()) return undefined;
    return { login: row.login, token: row.parent ?? undefined, scope: parseScope(row.scope) };
  }

  async endSession(token: string): Promise<void> {
    await this.#db.deleteFrom('http_sessions').where('token_hash', '=', sha256(token)).execute();
  }

  /** Ends every session and invalidates every token of `login`. */
  async revokeAll(login: string): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      const aliases = (await tx.selectFrom('alias_tokens').select('alias').where('login', '=', login).execute()).map((r) => r.alias);
      await tx.deleteFrom('http_sessions').where('login', '=', login).execute();
      // Tokens minted from them belong to the same user, but a session or token of another user opened with one
      // cannot exist; the parent sweep keeps that true should the rule ever change.
      if (aliases.length > 0) await tx.deleteFrom('http_sessions').where('parent', 'in', aliases).execute();
      await tx.deleteFrom('alias_tokens').where('login', '=', login).execute();
    });
  }

  async purgeExpired(): Promise<void> {
    const now = this.#now();
    await this.#db.deleteFrom('alias_tokens').where('expires', '<=', now).execute();
    await this.#db.deleteFrom('http_sessions').where('expires', '<=', now).execute();
  }
}
