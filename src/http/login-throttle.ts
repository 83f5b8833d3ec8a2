/**
 * Back-off for password guessing: after `maxFailures` failed sign-ins within `windowMs` for one login (from
 * anywhere), or `maxAddressFailures` from one address (whatever the login), further sign-ins of that login or
 * from that address are refused for `lockoutMs` — with the right password too, or the lock would tell a guesser
 * when they hit. Unknown logins are counted like known ones, so a lock says nothing about existence.
 *
 * {@link LoginThrottle} is what the server needs; {@link MemoryLoginThrottle} keeps counts in this process's
 * memory (a restart forgets them; several processes would each count alone — a shared-database implementation
 * of the same interface is the way to run more than one).
 */
import { XcsError } from '../core/errors.ts';

export interface Lock {
  /** What is locked: the login, or the address the attempts came from. */
  scope: 'login' | 'address';
  /** Whole seconds until sign-ins are accepted again (at least 1). */
  retryAfterSeconds: number;
}

export interface LoginThrottle {
  /** The lock that refuses this sign-in now, if any. */
  locked(login: string, address: string): Lock | undefined;
  /** A failed sign-in; answers the lock it caused, if it caused one. */
  failed(login: string, address: string): Lock | undefined;
  /** A successful sign-in: the login's failures are forgotten (the address's are not: one valid account must not reset them). */
  succeeded(login: string): void;
  /** Lifts a login's lock and forgets its failures; answers whether there was any. */
  unlockLogin(login: string): boolean;
  /** The same for an address. */
  unlockAddress(address: string): boolean;
  /** A login's state, for administrators. */
  loginState(login: string): { failures: number; retryAfterSeconds: number };
}

export interface LoginThrottleOptions {
  /** Failures of one login within the window that lock it (default 5). */
  maxFailures?: number;
  /** Failures from one address within the window that lock it (default 20: offices share one address). */
  maxAddressFailures?: number;
  /** Window failures are counted over (default 15 minutes). */
  windowMs?: number;
  /** How long a lock lasts (default: the window). */
  lockoutMs?: number;
  /** Logins and addresses remembered at most, each (default 10,000); the oldest unlocked go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  /** Times of the failures in the window, oldest first, at most the limit. */
  failures: number[];
  lockedUntil: number;
}

const DEFAULTS = { maxFailures: 5, maxAddressFailures: 20, windowMs: 15 * 60_000, maxEntries: 10_000 };

/** Bounded: at most `maxEntries` logins and as many addresses, each with at most its limit of timestamps. */
export class MemoryLoginThrottle implements LoginThrottle {
  readonly #maxFailures: number;
  readonly #maxAddressFailures: number;
  readonly #windowMs: number;
  readonly #lockoutMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #logins = new Map<string, Entry>();
  readonly #addresses = new Map<string, Entry>();

  constructor(opts: LoginThrottleOptions = {}) {
    this.#maxFailures = Math.max(1, opts.maxFailures ?? DEFAULTS.maxFailures);
    this.#maxAddressFailures = Math.max(1, opts.maxAddressFailures ?? DEFAULTS.maxAddressFailures);
    this.#windowMs = Math.max(1, opts.windowMs ?? DEFAULTS.windowMs);
    this.#lockoutMs = Math.max(1, opts.lockoutMs ?? this.#windowMs);
    this.#maxEntries = Math.max(1, opts.maxEntries ?? DEFAULTS.maxEntries);
    this.#now = opts.now ?? Date.now;
  }

  locked(login: string, address: string): Lock | undefined {
    const now = this.#now();
    const byLogin = this.#logins.get(login);
    if (byLogin && byLogin.lockedUntil > now) return { scope: 'login', retryAfterSeconds: seconds(byLogin.lockedUntil - now) };
    const byAddress = this.#addresses.get(address);
    if (byAddress && byAddress.lockedUntil > now) return { scope: 'address', retryAfterSeconds: seconds(byAddress.lockedUntil - now) };
    return undefined;
  }

  failed(login: string, address: string): Lock | undefined {
    const now = this.#now();
    const l = this.#count(this.#logins, login, this.#maxFailures, now);
    const a = this.#count(this.#addresses, address, this.#maxAddressFailures, now);
    if (l) return { scope: 'login', retryAfterSeconds: seconds(this.#lockoutMs) };
    if (a) return { scope: 'address', retryAfterSeconds: seconds(this.#lockoutMs) };
    return undefined;
  }

  succeeded(login: string): void {
    const e = this.#logins.get(login);
    if (e && e.lockedUntil <= this.#now()) this.#logins.delete(login);
  }

  unlockLogin(login: string): boolean {
    return this.#logins.delete(login);
  }

  unlockAddress(address: string): boolean {
    return this.#addresses.delete(address);
  }

  loginState(login: string): { failures: number; retryAfterSeconds: number } {
    const now = this.#now();
    const e = this.#logins.get(login);
    if (!e) return { failures: 0, retryAfterSeconds: 0 };
    return { failures: e.failures.filter((t) => t > now - this.#windowMs).length,
      retryAfterSeconds: e.lockedUntil > now ? seconds(e.lockedUntil - now) : 0 };
  }

  /** Records a failure of `key`; answers whether it locked it. */
  #count(map: Map<string, Entry>, key: string, limit: number, now: number): boolean {
    let e = map.get(key);
    if (e) map.delete(key);
    else {
      this.#makeRoom(map, now);
      e = { failures: [], lockedUntil: 0 };
    }
    map.set(key, e);
    if (e.lockedUntil > now) return false;
    e.failures = e.failures.filter((t) => t > now - this.#windowMs);
    e.failures.push(now);
    if (e.failures.length < limit) return false;
    e.failures = [];
    e.lockedUntil = now + this.#lockoutMs;
    return true;
  }

  /**
   * Keeps a map under its bound: entries with nothing current go first, then the least recently failed
   * unlocked ones; locks go last, so flooding with fresh names does not lift a lock before most else is gone.
   */
  #makeRoom(map: Map<string, Entry>, now: number): void {
    if (map.size < this.#maxEntries) return;
    for (const [k, e] of map) {
      if (e.lockedUntil <= now && !e.failures.some((t) => t > now - this.#windowMs)) map.delete(k);
    }
    for (const [k, e] of map) {
      if (map.size < this.#maxEntries) return;
      if (e.lockedUntil <= now) map.delete(k);
    }
    for (const k of map.keys()) {
      if (map.size < this.#maxEntries) return;
      map.delete(k);
    }
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Throttle settings from the environment: `XCS_LOGIN_MAX_FAILURES`, `XCS_LOGIN_ADDRESS_MAX_FAILURES`, `XCS_LOGIN_WINDOW_SECONDS`, `XCS_LOGIN_LOCKOUT_SECONDS`. */
export function throttleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoginThrottleOptions {
  const read = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new XcsError('config.login-throttle', `${name} must be a whole number of at least 1, not "${v}"`, { path: name });
    }
    return n;
  };
  const window = read('XCS_LOGIN_WINDOW_SECONDS');
  const lockout = read('XCS_LOGIN_LOCKOUT_SECONDS');
  return {
    maxFailures: read('XCS_LOGIN_MAX_FAILURES'),
    maxAddressFailures: read('XCS_LOGIN_ADDRESS_MAX_FAILURES'),
    windowMs: window === undefined ? undefined : window * 1000,
    lockoutMs: lockout === undefined ? undefined : lockout * 1000,
  };
}
