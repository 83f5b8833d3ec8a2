/**
 * Limits on unpacking uploaded zips and tars, against archive bombs: a few kilobytes that inflate to
 * terabytes, or millions of entries. Imaging data compresses a few times (DICOM, NIfTI: 2–10×), never
 * hundreds, so an entry inflating more than `maxRatio` times (once past `ratioFloorBytes`, below which
 * ratios mean nothing) is refused; so is an archive whose entries add up to more than `maxTotalBytes` or
 * number more than `maxEntries`. Zip sizes are read from the central directory before anything is written
 * (yauzl's `validateEntrySizes` then holds every entry to its declared size); gzip streams are measured as
 * they inflate. Limits come from server options, `xcs serve` flags or environment variables.
 */
import { Transform } from 'node:stream';
import { XcsError } from '../core/errors.ts';

export interface UnpackLimits {
  /** Most times an entry (or a gzip stream) may inflate. */
  maxRatio: number;
  /** Entries smaller than this unpacked are not ratio-checked (a tiny file of zeros is harmless). */
  ratioFloorBytes: number;
  /** Most bytes all entries of one archive may unpack to. */
  maxTotalBytes: number;
  /** Most entries (files) one archive may hold. */
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  maxTotalBytes: 256 * 1024 ** 3,
  maxEntries: 200_000,
};

/** Environment variables read by `unpackLimitsFromEnv` (and documented with `xcs serve`). */
export const UNPACK_ENV = {
  maxRatio: 'XCS_UNPACK_MAX_RATIO',
  maxTotalBytes: 'XCS_UNPACK_MAX_BYTES',
  maxEntries: 'XCS_UNPACK_MAX_ENTRIES',
} as const;

export function resolveUnpackLimits(given: Partial<UnpackLimits> = {}): UnpackLimits {
  const out = { ...DEFAULT_UNPACK_LIMITS };
  for (const k of Object.keys(out) as Array<keyof UnpackLimits>) {
    const v = given[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Checks one limit value given by a person (flag or environment); `where` names it in the error. */
export function parseLimit(text: string, where: string, min: number): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(n) || n < min) {
    throw new XcsError('config.bad-limit', `${where} must be a number of at least ${min}, not "${text}"`, { path: where });
  }
  return n;
}

/** The limits set in the environment (`XCS_UNPACK_MAX_RATIO`, `XCS_UNPACK_MAX_BYTES`, `XCS_UNPACK_MAX_ENTRIES`). */
export function unpackLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<UnpackLimits> {
  const out: Partial<UnpackLimits> = {};
  for (const [k, name] of Object.entries(UNPACK_ENV) as Array<[keyof typeof UNPACK_ENV, string]>) {
    const v = env[name];
    if (v !== undefined && v !== '') out[k] = parseLimit(v, name, 1);
  }
  return out;
}

function tooMany(limits: UnpackLimits, name: string): XcsError {
  return new XcsError('archive.unpack.too-many-entries', `the archive holds more than ${limits.maxEntries} files; nothing was stored`,
    { path: name, hint: `the server accepts at most ${limits.maxEntries} files per archive (${UNPACK_ENV.maxEntries})` });
}

function tooBig(limits: UnpackLimits, name: string): XcsError {
  return new XcsError('archive.unpack.too-large', `the unpacked archive is larger than ${limits.maxTotalBytes} bytes; nothing was stored`,
    { path: name, hint: `the server unpacks at most ${limits.maxTotalBytes} bytes per archive (${UNPACK_ENV.maxTotalBytes})` });
}

function bomb(limits: UnpackLimits, name: string, ratio: number): XcsError {
  return new XcsError('archive.unpack.ratio',
    `the archive (at "${name}") inflates ${Math.round(ratio)} times, more than the limit of ${limits.maxRatio} (an archive bomb?); nothing was stored`,
    { path: name, hint: `imaging data compresses a few times; the limit is set with ${UNPACK_ENV.maxRatio}` });
}

/** Counts entries and bytes of one archive against the limits; every check throws a 413 `XcsError`. */
export class UnpackBudget {
  entries = 0;
  bytes = 0;
  compressed = 0;
  constructor(readonly limits: UnpackLimits) {}

  /**
   * An entry whose sizes are known before unpacking (zip central directory). The ratio is checked for the
   * entry and for the archive so far (many small entries of zeros, each under the floor, add up).
   */
  addEntry(name: string, compressedSize: number, uncompressedSize: number): void {
    this.addFile(name);
    this.compressed += compressedSize;
    const { ratioFloorBytes: floor, maxRatio } = this.limits;
    if (uncompressedSize > floor && uncompressedSize > maxRatio * Math.max(compressedSize, 1)) {
      throw bomb(this.limits, name, uncompressedSize / Math.max(compressedSize, 1));
    }
    this.addBytes(name, uncompressedSize);
    if (this.bytes > floor && this.bytes > maxRatio * Math.max(this.compressed, 1)) {
      throw bomb(this.limits, name, this.bytes / Math.max(this.compressed, 1));
    }
  }

  /** An entry whose size is learnt while unpacking (tar): count it, then meter its bytes. */
  addFile(name: string): void {
    if (++this.entries > this.limits.maxEntries) throw tooMany(this.limits, name);
  }

  addBytes(name: string, n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxTotalBytes) throw tooBig(this.limits, name);
  }

  /** A pass-through stream adding what flows through it to the total, failing as soon as it passes. */
  meter(name: string): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        try {
          this.addBytes(name, chunk.length);
          done(null, chunk);
        } catch (e) {
          done(e as Error);
        }
      },
    });
  }
}

/**
 * Streams around a decompressor: `input` counts compressed bytes going in, `output` inflated bytes coming
 * out, failing once the output passes the floor and `maxRatio` times the input read so far.
 */
export function ratioGuard(limits: UnpackLimits, name: string): { input: Transform; output: Transform } {
  let inBytes = 0;
  let outBytes = 0;
  const input = new Transform({
    transform: (chunk: Buffer, _enc, done) => { inBytes += chunk.length; done(null, chunk); },
  });
  const output = new Transform({
    transform: (chunk: Buffer, _enc, done) => {
      outBytes += chunk.length;
      if (outBytes > limits.ratioFloorBytes && outBytes > limits.maxRatio * Math.max(inBytes, 1)) {
        done(bomb(limits, name, outBytes / Math.max(inBytes, 1)));
      } else done(null, chunk);
    },
  });
  return { input, output };
}

/** Entries whose compressed sizes add up to more than the zip itself share data: a known bomb construction. */
export function checkNoOverlap(totalCompressed: number, zipSize: number): void {
  if (totalCompressed > zipSize) {
    throw new XcsError('archive.zip.overlapping', 'the zip\'s entries overlap (their data adds up to more than the file); nothing was stored',
      { hint: 'send a zip made by an ordinary tool' });
  }
}
