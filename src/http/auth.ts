/**
 * Who is calling: HTTP Basic (login:password, or an alias token's alias:secret) or the `JSESSIONID`
 * cookie from `/data/JSESSION`. Guests are refused (401) except on routes marked `config: {public: true}`.
 * Requests from other origins are refused first (`csrf.ts`); Basic sign-ins go through the login throttle
 * (`login-throttle.ts`: 429 with `Retry-After` once locked) and every failure is logged (`security-log.ts`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XcsError } from '../core/errors.ts';
import type { User, UserDirectory } from '../archive/users.ts';
import { checkCookieChange, checkRequestOrigin } from './csrf.ts';
import { MemoryLoginThrottle, type Lock, type LoginThrottle } from './login-throttle.ts';
import { stderrSecurityLog, type SecurityLog } from './security-log.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; null only on public routes. */
    user: User | null;
    /** The session token the request came with, if any. */
    sessionToken?: string;
  }
  interface FastifyContextConfig {
    /** The route answers guests too. */
    public?: boolean;
  }
}

export function cookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function basic(header: string | undefined): { login: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { login: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function unauthenticated(message = 'authentication required'): XcsError {
  return new XcsError('auth.required', message, { status: 401 });
}

export type CredentialSource = Pick<UserDirectory, 'authenticate' | 'passwordStamp'> & Partial<Pick<UserDirectory, 'onCredentialsChange'>>;

export interface CredentialCacheOptions {
  /** Remembered logins at most; the least recently used goes first. */
  maxEntries?: number;
  ttlMs?: number;
  /**
   * A remembered login is checked against the user's row again (password stamp, enabled and admin flags) once
   * this long has passed: how long a change made by another process can go unnoticed.
   */
  recheckMs?: number;
  /** Password checks (scrypt) running at once. */
  maxConcurrentChecks?: number;
  /** Clock for expiry (tests). */
  now?: () => number;
}

interface Remembered {
  user: User;
  /** `passwordStamp` when the password was checked. */
  stamp: string;
  until: number;
  checkedAt: number;
}

/**
 * Successful password logins, remembered because XNAT clients send Basic auth on every request and a scrypt
 * check costs tens of milliseconds of a libuv thread plus 16 MiB of native memory that glibc keeps per thread
 * afterwards. The store announces its own password and account changes, which drop the user's entries at
 * once. Changes made by another process on the same database (`xcs admin`) are caught by reading the user's
 * row again at most `recheckMs` after the last read — not on every request, as a read through kysely costs
 * about a third of a cached listing request: an entry counts only while the password stamp is the one it was
 * checked against and the account is enabled. Keys are an HMAC under a per-process random key, so memory
 * holds neither passwords nor fast unsalted hashes of them. Concurrent checks of the same credentials share
 * one scrypt run (50 clients starting together would otherwise run 50), and at most `maxConcurrentChecks`
 * run at once, leaving libuv threads for file I/O. Alias tokens are not remembered: checking one is a hash
 * comparison, and their expiry must be seen at once.
 */
export class CredentialCache {
  readonly #source: CredentialSource;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #recheckMs: number;
  readonly #maxChecks: number;
  readonly #now: () => number;
  readonly #unsubscribe: () => void;
  readonly #hmacKey = randomBytes(32);
  /** In least-recently-used-first order (re-inserted on use). */
  readonly #entries = new Map<string, Remembered>();
  readonly #inflight = new Map<string, Promise<User | undefined>>();
  /** Counts announced changes: a row read before a change must not be remembered after it. */
  #changes = 0;
  #checking = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(source: CredentialSource, opts: CredentialCacheOptions = {}) {
    this.#source = source;
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 1000);
    this.#ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.#recheckMs = opts.recheckMs ?? 1000;
    this.#maxChecks = opts.maxConcurrentChecks ?? 2;
    this.#now = opts.now ?? Date.now;
    this.#unsubscribe = source.onCredentialsChange?.((login) => this.forget(login)) ?? (() => undefined);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Drops every remembered login of `login`. */
  forget(login: string): void {
    this.#changes++;
    for (const [key, entry] of this.#entries) if (entry.user.login === login) this.#entries.delete(key);
  }

  /** Stops listening to the store's announcements. */
  close(): void {
    this.#unsubscribe();
  }

  async authenticate(login: string, password: string): Promise<User | undefined> {
    // The login's length keeps (login, password) pairs that concatenate alike apart.
    const key = createHmac('sha256', this.#hmacKey).update(`${login.length}:${login}:${password}`).digest('base64');
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      const now = this.#now();
      if (hit.until > now) {
        if (now - hit.checkedAt < this.#recheckMs) {
          this.#remember(key, hit);
          return { ...hit.user };
        }
        const changes = this.#changes;
        const current = await this.#source.passwordStamp(hit.user.login);
        if (current && current.stamp === hit.stamp) {
          if (!current.user.enabled) return undefined;
          if (changes === this.#changes) this.#remember(key, { ...hit, user: current.user, checkedAt: now });
          return { ...current.user };
        }
      }
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#check(key, login, password).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #check(key: string, login: string, password: string): Promise<User | undefined> {
    const changes = this.#changes;
    // Read before checking: should the password change meanwhile, the entry carries the older stamp and fails.
    const before = await this.#source.passwordStamp(login);
    await this.#acquire();
    let user: User | undefined;
    try {
      user = await this.#source.authenticate(login, password);
    } finally {
      this.#release();
    }
    // Unknown logins (alias tokens, or no one: checked against a dummy hash, as slow as a password) are not remembered.
    if (user && before && user.login === before.user.login && changes === this.#changes) {
      const now = this.#now();
      this.#remember(key, { user: { ...user }, stamp: before.stamp, until: now + this.#ttlMs, checkedAt: now });
    }
    return user;
  }

  #remember(key: string, entry: Remembered): void {
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, entry);
  }

  async #acquire(): Promise<void> {
    if (this.#checking < this.#maxChecks) {
      this.#checking++;
      return;
    }
    // The releasing check hands its slot over, so the count stays as it is.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#checking--;
  }
}

/**
 * Asks for Basic credentials, except from scripts in a page (`X-Requested-With: XMLHttpRequest`, sent by the
 * web console): a challenge there makes the browser open its own login dialog over the console's sign-in form.
 */
function challenge(request: FastifyRequest, reply: FastifyReply): void {
  // The browser's EventSource (the console's live stream) cannot send X-Requested-With, but says what it accepts.
  const fromPage = request.headers['x-requested-with'] === 'XMLHttpRequest'
    || (request.headers.accept ?? '').includes('text/event-stream');
  if (!fromPage) reply.header('WWW-Authenticate', 'Basic realm="XNAT"');
}

/** The `JSESSIONID` cookie: script-proof, same-site only, and over https only when the request came over https. */
export function sessionCookie(request: FastifyRequest, token: string): string {
  const https = request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
  return `JSESSIONID=${token}; Path=/; HttpOnly; SameSite=Strict${https ? '; Secure' : ''}`;
}

/** Clears the `JSESSIONID` cookie (with the same attributes, so every browser replaces it). */
export function clearedSessionCookie(request: FastifyRequest): string {
  return sessionCookie(request, '').replace('; Path=/', '; Path=/; Max-Age=0');
}

export interface AuthOptions {
  /** Back-off for failed sign-ins (default: in memory, {@link MemoryLoginThrottle} defaults). */
  throttle?: LoginThrottle;
  /** Where failed sign-ins are reported (default: JSON lines on stderr). */
  securityLog?: SecurityLog;
}

function tooManyFailures(lock: Lock, login: string): XcsError {
  const what = lock.scope === 'login' ? `login "${login}"` : 'your address';
  return new XcsError('auth.locked', `too many failed sign-ins for ${what}: try again in ${lock.retryAfterSeconds} seconds`, {
    status: 429, path: lock.scope === 'login' ? login : undefined,
    hint: lock.scope === 'login' ? `a site administrator can lift the lock now: DELETE /xapi/users/${encodeURIComponent(login)}/lockout`
      : 'a site administrator can lift the lock now: DELETE /xapi/lockouts/addresses/{address}',
  });
}

export function registerAuth(app: FastifyInstance, users: UserDirectory, opts: AuthOptions = {}): LoginThrottle {
  const credentials = new CredentialCache(users);
  const throttle = opts.throttle ?? new MemoryLoginThrottle();
  const log = opts.securityLog ?? stderrSecurityLog;
  const report = (request: FastifyRequest, login: string, reason: string) => log({
    event: 'sign-in.failed', login: login.length > 200 ? `${login.slice(0, 200)}…` : login, address: request.ip,
    time: new Date().toISOString(), reason, method: request.method, path: request.url.split('?')[0].slice(0, 300),
  });
  app.addHook('onClose', async () => credentials.close());
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request, reply) => {
    checkRequestOrigin(request);
    const creds = basic(request.headers.authorization);
    let user: User | undefined;
    if (creds) {
      const lock = throttle.locked(creds.login, request.ip);
      if (lock) {
        report(request, creds.login, `locked-${lock.scope}`);
        reply.header('Retry-After', String(lock.retryAfterSeconds));
        throw tooManyFailures(lock, creds.login);
      }
      user = await credentials.authenticate(creds.login, creds.password);
      if (!user) {
        report(request, creds.login, 'wrong-credentials');
        const now = throttle.failed(creds.login, request.ip);
        if (now) {
          reply.header('Retry-After', String(now.retryAfterSeconds));
          throw tooManyFailures(now, creds.login);
        }
        challenge(request, reply);
        throw unauthenticated('wrong login or password');
      }
      // Changing one's own password asks for the password itself, not a session or token (users-routes.ts).
      if (!user.token) user = { ...user, byPassword: true };
      throttle.succeeded(creds.login);
    } else {
      const token = cookies(request).JSESSIONID;
      if (token) {
        user = await users.sessionUser(token);
        if (user) {
          request.sessionToken = token;
          // A session opened with a run's token lives in a container, never in a browser: no page can ride it, and
          // calling-back scripts write with the cookie alone (the origin check above still applies).
          if (!user.scope) checkCookieChange(request);
        }
      }
    }
    request.user = user ?? null;
    if (!user && request.routeOptions.config?.public !== true) {
      challenge(request, reply);
      throw unauthenticated();
    }
  });
  return throttle;
}
