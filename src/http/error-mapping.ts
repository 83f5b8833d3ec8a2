/**
 * What a failure looks like when it reaches a client. Errors must never show where the server keeps its
 * files: an `XcsError` has any server directory in its message, path or hint replaced; a file-system error
 * (`ENOENT`, `ENAMETOOLONG`, `ENOSPC`…, whose message always names the absolute path) becomes a clear
 * message without it; anything else unexpected is a bare "internal error" (the details go to the log).
 */
import { XcsError, isXcsError, type ErrorDetail } from '../core/errors.ts';
import { BackendErrorCode } from '../backends/types.ts';
import { ResolutionError } from '../resolution/index.ts';

/**
 * HTTP statuses of the codes that layers below http throw (they know no HTTP and choose no status): the one place
 * a lower layer's failure becomes a status. An error http made itself with a status keeps it; a resolution
 * failure is the launch's (400) whatever code it carries; any other code not listed is a server fault (500).
 */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  'bad-document': 400, 'conflict': 409, 'internal': 500, 'not-found': 404, 'parent-missing': 400,
  'archive.bad-file-name': 400, 'archive.bad-label': 400, 'archive.commit.lost-file': 500,
  'archive.commit.not-staged': 400, 'archive.conflict': 409, 'archive.name-too-long': 400, 'archive.not-found': 404,
  'archive.resource.relabel': 400, 'archive.stage.not-regular': 400, 'archive.unpack.ratio': 413,
  'archive.unpack.too-large': 413, 'archive.unpack.too-many-entries': 413, 'archive.upload.too-large': 413,
  'archive.upload.truncated': 400, 'archive.uri.bad-escape': 400, 'archive.uri.not-object': 400,
  'archive.uri.unknown': 404, 'archive.xml.bad-id': 400, 'archive.xml.invalid': 400, 'archive.xml.malformed': 400,
  'archive.xml.no-id': 400, 'archive.xml.no-label': 400, 'archive.xsi.bad-syntax': 400,
  'archive.xsi.not-assessor': 400, 'archive.xsi.unknown-scan-type': 400, 'archive.xsi.unknown-session-type': 400,
  'archive.zip.duplicate': 400, 'archive.zip.invalid': 400, 'archive.zip.overlapping': 400,
  'auth.forbidden': 403, 'auth.required': 401, 'auth.run-token': 403, 'auth.token.parent-gone': 401,
  'command.duplicate': 400, 'command.not-found': 404,
  'database.nul-character': 400,
  'dicom.import.bad-archive': 400, 'dicom.import.no-project': 404, 'dicom.import.no-source': 400,
  'dicom.import.store-failed': 500, 'dicom.import.unsafe-entry': 400, 'dicom.import.unsupported-format': 415,
  'docker.unreachable': 503,
  'image.name-blank': 400, 'image.not-found': 404,
  'launch.failed': 500, 'launch.ipc-mode-not-allowed': 403, 'launch.network-not-allowed': 403,
  'launch.root-missing': 400, 'launch.runtime-not-allowed': 403,
  'matcher.syntax': 400,
  'resolution.input.illegal-value': 400, 'resolution.setup.ambiguous': 400, 'resolution.template.ambiguous': 400,
  'resolution.wrapper.not-found': 404,
  'run.already-finished': 409, 'run.finalizing': 409, 'run.not-finished': 409, 'run.not-found': 404,
  'run.not-relaunchable': 409,
  'users.bad-login': 400, 'users.exists': 409, 'users.no-password': 400, 'users.not-found': 404,
  'wrapper.disabled': 400, 'wrapper.not-found': 404,
  'xapi.command.not-found': 404, 'xapi.mapping.not-convertible': 400, 'xapi.mapping.not-found': 404,
  'xapi.orchestration.not-found': 404, 'xapi.project.not-found': 404, 'xapi.subscription.invalid': 400,
  'xapi.webhook.invalid': 400, 'xapi.webhook.forbidden-host': 400, 'xapi.wrapper.not-found': 404,
  // The container backends' codes.
  [BackendErrorCode.unavailable]: 503,
  [BackendErrorCode.imageMissing]: 404,
  [BackendErrorCode.notFound]: 404,
  [BackendErrorCode.nameConflict]: 409,
  [BackendErrorCode.imageInUse]: 409,
  [BackendErrorCode.mountMissing]: 400,
  [BackendErrorCode.mountForbidden]: 400,
  [BackendErrorCode.invalidSpec]: 400,
  [BackendErrorCode.invalidReference]: 400,
  [BackendErrorCode.pullFailed]: 502,
  [BackendErrorCode.unsupported]: 501,
  [BackendErrorCode.kindUnavailable]: 400,
};

/** The status a request that failed with `err` is answered with. */
export function httpStatusOf(err: XcsError): number {
  if (err.statusGiven) return err.status;
  if (err instanceof ResolutionError) return 400;
  return STATUS_OF_CODE[err.code] ?? 500;
}

/** The codes the table gives a status (for tests). */
export function codesWithStatus(): ReadonlyMap<string, number> {
  return new Map(Object.entries(STATUS_OF_CODE));
}

interface FsErrorLike {
  code: string;
  syscall?: string;
}

function isFsError(e: unknown): e is FsErrorLike {
  const err = e as { code?: unknown; syscall?: unknown; errno?: unknown } | null;
  return typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code) && (typeof err.syscall === 'string' || typeof err.errno === 'number');
}

/** Clear messages for the file-system errors a request can run into; statuses say whose side the fault is on. */
const FS_ERRORS: Record<string, { status: number; message: string; hint?: string }> = {
  ENAMETOOLONG: { status: 400, message: 'a file or directory name is too long: at most 255 bytes per name component',
    hint: 'shorten the name (each part between "/" at most 255 bytes in UTF-8)' },
  ENOENT: { status: 404, message: 'a file the request needs does not exist on the server' },
  ENOTDIR: { status: 409, message: 'a file stands where the request needs a directory' },
  EISDIR: { status: 409, message: 'a directory stands where the request needs a file' },
  EEXIST: { status: 409, message: 'a file of that name already exists' },
  ENOTEMPTY: { status: 409, message: 'a directory the request replaces is not empty' },
  EACCES: { status: 500, message: 'the server is not allowed to read or write a file it needs', hint: 'check the data directory\'s owner and permissions' },
  EPERM: { status: 500, message: 'the server is not allowed to read or write a file it needs', hint: 'check the data directory\'s owner and permissions' },
  EROFS: { status: 503, message: 'the server\'s data directory is read-only' },
  ENOSPC: { status: 507, message: 'the server\'s disk is full', hint: 'free space on the data directory\'s disk, then try again' },
  EDQUOT: { status: 507, message: 'the server\'s disk quota is exhausted' },
  EMFILE: { status: 503, message: 'the server has too many open files; try again later' },
  ENFILE: { status: 503, message: 'the server has too many open files; try again later' },
};

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces every path under one of `roots` (directories of this machine) by `[server path]`. */
export function pathScrubber(roots: string[]): (text: string) => string {
  const kept = [...new Set(roots.map((r) => r.replace(/\/+$/, '')).filter((r) => r.length > 1))].sort((a, b) => b.length - a.length);
  if (kept.length === 0) return (t) => t;
  const re = new RegExp(`(?<![\\w./-])(?:${kept.map(escapeRegExp).join('|')})(?:/[^\\s'"\`,;:)]*)?(?![\\w.-])`, 'g');
  return (text) => text.replace(re, '[server path]');
}

/** The error to answer `err` with; `scrub` removes server paths from what the client sees. */
export function toClientError(err: unknown, scrub: (text: string) => string): { error: XcsError; log: boolean } {
  if (isXcsError(err)) {
    const inner = err.cause;
    // An XcsError made around an fs error keeps its code and status; its text is cleaned like any other.
    const details: ErrorDetail[] = err.details.map((d) => ({ ...d, message: scrub(d.message), ...(d.path ? { path: scrub(d.path) } : {}) }));
    const error = new XcsError(err.code, scrub(err.message), {
      status: httpStatusOf(err), details, ...(err.path === undefined ? {} : { path: scrub(err.path) }),
      ...(err.hint === undefined ? {} : { hint: scrub(err.hint) }), cause: inner,
    });
    return { error, log: error.status >= 500 };
  }
  if (isFsError(err)) {
    const known = FS_ERRORS[err.code];
    const error = known
      ? new XcsError(`fs.${err.code.toLowerCase()}`, known.message, { status: known.status, ...(known.hint ? { hint: known.hint } : {}) })
      : new XcsError('http.internal', `internal error (file system: ${err.code})`, { status: 500 });
    return { error, log: error.status >= 500 };
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { error: new XcsError('http.body.too-large', `the request body is larger than this endpoint accepts (${scrub(String(e.message))})`,
      { status: 413, hint: 'JSON bodies may have at most 16 MiB; send files as uploads' }), log: false };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = typeof e.code === 'string' ? e.code : 'bad-request';
    return { error: new XcsError(`http.${code.toLowerCase()}`, scrub(String(e.message)), { status: e.statusCode }), log: false };
  }
  return { error: new XcsError('http.internal', 'internal error; the server log has the details', { status: 500 }), log: true };
}
