/**
 * The body of `PUT /xapi/users/{login}` (XNAT's user shape): `password`, `firstName`, `lastName`, `email`, and the
 * administrators' `enabled`, `verified`, `admin`. `username` may be sent back as read but must match. Fields equal
 * to the current value are dropped, so a body read with GET can be sent back with one change. Every error names
 * its field.
 */
import { XcsError } from '../core/errors.ts';
import type { User } from '../archive/users.ts';

export interface UserPatch {
  password?: string;
  profile: Partial<Pick<User, 'firstName' | 'lastName' | 'email'>>;
  flags: Partial<Record<'enabled' | 'verified' | 'admin', boolean>>;
}

const TEXT_FIELDS = ['firstName', 'lastName', 'email'] as const;
const FLAG_FIELDS = ['enabled', 'verified', 'admin'] as const;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_TEXT = 255;

function bad(field: string, message: string): XcsError {
  return new XcsError('users.bad-field', `"${field}" ${message}`, { status: 400, path: field });
}

export function parseUserPatch(body: unknown, current: User): UserPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new XcsError('users.bad-request', 'the body must be a JSON object of user fields', { status: 400, path: '/',
      hint: 'e.g. {"firstName": "Ada", "password": "…"}' });
  }
  const b = body as Record<string, unknown>;
  const known = new Set<string>(['username', 'password', ...TEXT_FIELDS, ...FLAG_FIELDS]);
  for (const k of Object.keys(b)) {
    if (!known.has(k)) throw bad(k, `is not a user field (known: ${[...known].join(', ')})`);
  }
  if (b.username !== undefined && b.username !== current.login) {
    throw bad('username', `cannot be changed (this user is "${current.login}")`);
  }
  const patch: UserPatch = { profile: {}, flags: {} };
  if (b.password !== undefined) {
    if (typeof b.password !== 'string' || b.password === '') throw bad('password', 'must be a non-empty string');
    patch.password = b.password;
  }
  for (const f of TEXT_FIELDS) {
    const v = b[f];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw bad(f, 'must be a string');
    // eslint-disable-next-line no-control-regex
    if (v.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(v)) throw bad(f, `must be at most ${MAX_TEXT} characters, without control characters`);
    if (f === 'email' && v !== '' && !EMAIL.test(v)) throw bad(f, `"${v}" is not an email address`);
    if (v !== current[f]) patch.profile[f] = v;
  }
  const currentFlags = { enabled: current.enabled, verified: current.verified, admin: current.siteAdmin };
  for (const f of FLAG_FIELDS) {
    const v = b[f];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw bad(f, 'must be true or false');
    if (v !== currentFlags[f]) patch.flags[f] = v;
  }
  return patch;
}
