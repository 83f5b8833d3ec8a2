/** Settings read from the environment, with errors that name the variable. */
import { XcsError } from './errors.ts';

/** A positive whole number from `process.env[name]`; undefined when unset or empty. */
export function positiveIntFromEnv(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new XcsError('config.invalid', `${name} must be a positive integer, not "${v}"`, { path: name });
  return n;
}
