/**
 * Typed failures shared by every part of XCS. Each carries a stable code (for
 * programs), a message for people, and the path or object it concerns.
 */
export interface ErrorDetail {
  /** Stable, machine-readable code, e.g. `command.image.missing-tag`. */
  code: string;
  /** What is wrong and, where possible, how to fix it. */
  message: string;
  /** JSON pointer, file path, URI or object id the error is about. */
  path?: string;
}

export interface XcsErrorOptions {
  path?: string;
  hint?: string;
  /**
   * HTTP status, for http's own errors only: layers below http never set it (they know no HTTP; checked by
   * `test/error-status.test.ts`), http's error handler chooses the status of their codes (`http/error-mapping.ts`).
   */
  status?: number;
  details?: ErrorDetail[];
  cause?: unknown;
}

export class XcsError extends Error {
  readonly code: string;
  readonly path?: string;
  readonly hint?: string;
  /** The status given at construction, else 500; what a client is answered with is `httpStatusOf` (http). */
  readonly status: number;
  /** Whether a status was given (by http): it then wins over the table of statuses by code. */
  readonly statusGiven: boolean;
  readonly details: ErrorDetail[];

  constructor(code: string, message: string, options: XcsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'XcsError';
    this.code = code;
    this.path = options.path;
    this.hint = options.hint;
    this.status = options.status ?? 500;
    this.statusGiven = options.status !== undefined;
    this.details = options.details ?? [];
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.path === undefined ? {} : { path: this.path }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details.length === 0 ? {} : { details: this.details }),
    };
  }
}

export function isXcsError(e: unknown): e is XcsError {
  return e instanceof XcsError;
}

/** A message for any thrown value, for places that must report rather than rethrow. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
