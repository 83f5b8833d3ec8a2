/**
 * Translates what the Docker engine (through docker-modem) throws into `XcsError`s with stable codes and
 * hints. The engine's own message is kept as the cause so nothing is lost.
 */
import { XcsError } from '../../core/errors.ts';
import { BackendErrorCode } from '../types.ts';

/** The shape of a docker-modem failure: HTTP status + engine message, or a socket error code. */
export interface EngineFailure {
  statusCode?: number;
  code?: string;
  message: string;
  json?: unknown;
}

function asFailure(e: unknown): EngineFailure {
  if (e instanceof Error) {
    const x = e as Error & { statusCode?: unknown; code?: unknown; json?: unknown };
    return {
      message: x.message,
      ...(typeof x.statusCode === 'number' ? { statusCode: x.statusCode } : {}),
      ...(typeof x.code === 'string' ? { code: x.code } : {}),
      json: x.json,
    };
  }
  return { message: String(e) };
}

/** The engine's message without docker-modem's "(HTTP code 404) no such container - " wrapping. */
export function engineMessage(e: unknown): string {
  const f = asFailure(e);
  if (f.json !== null && typeof f.json === 'object' && 'message' in f.json && typeof f.json.message === 'string') {
    return f.json.message;
  }
  return f.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function statusOf(e: unknown): number | undefined {
  return asFailure(e).statusCode;
}

const SOCKET_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH']);

export function isUnavailable(e: unknown): boolean {
  const f = asFailure(e);
  return f.statusCode === undefined && f.code !== undefined && SOCKET_ERRORS.has(f.code);
}

/** The engine refused the request's API version (`client version 1.41 is too new/old`): nothing was done. */
export function isVersionRefusal(e: unknown): boolean {
  return statusOf(e) === 400 && /client version \S+ is too (new|old)/i.test(engineMessage(e));
}

export function unavailable(e: unknown, where: string): XcsError {
  return new XcsError(BackendErrorCode.unavailable, `The Docker engine at ${where} does not answer (${asFailure(e).code ?? engineMessage(e)})`, {
    path: where,
    hint: 'Start it (bash scripts/docker-harness.sh engine) or check the server settings\' host',
    cause: e,
  });
}

/** A mount source the engine could not find, named from its message. */
const MOUNT_MISSING = /(?:bind source path does not exist|no such file or directory)[^/]*(\/[^\s"']*)?/i;

/** Maps a failure of create/start for the container `subject` (its spec name or id). */
export function containerFailure(e: unknown, action: 'create' | 'start', subject: string, image?: string): XcsError {
  if (e instanceof XcsError) return e; // already explained (an engine found unusable while negotiating)
  const message = engineMessage(e);
  const status = statusOf(e);
  if (isUnavailable(e)) return unavailable(e, 'the configured socket');
  if (status === 404 && /no such image|pull access denied|not found/i.test(message) && action === 'create') {
    return new XcsError(BackendErrorCode.imageMissing, `Image "${image ?? '?'}" is not on the Docker engine`, {
      path: image,
      hint: 'Build or load it first (docker build / docker load); XCS never pulls implicitly',
      cause: e,
    });
  }
  if (status === 404 && action === 'start') return notFound(e, subject);
  if (status === 409 && action === 'create') {
    return new XcsError(BackendErrorCode.nameConflict, `A container named "${subject}" already exists`, {
      path: subject,
      hint: 'Find it with findByName() and adopt or remove it',
      cause: e,
    });
  }
  const mount = MOUNT_MISSING.exec(message);
  if (mount !== null && /mount|bind|volume/i.test(message)) {
    const where = mount[1];
    return new XcsError(BackendErrorCode.mountMissing, `Mount source ${where === undefined ? '' : `"${where}" `}does not exist`, {
      ...(where === undefined ? { path: subject } : { path: where }),
      hint: 'The host directory was removed or never staged; re-stage the inputs and launch again',
      cause: e,
    });
  }
  if (action === 'start') {
    return new XcsError(BackendErrorCode.startFailed, `Container ${subject} did not start: ${message}`, {
      path: subject,
      hint: /executable file not found|no such file/i.test(message)
        ? 'The command (or the image\'s entrypoint) names a program the image does not have'
        : 'See the engine\'s message',
      cause: e,
    });
  }
  return new XcsError(BackendErrorCode.createFailed, `Container ${subject} could not be created: ${message}`, {
    path: subject,
    cause: e,
  });
}

export function notFound(e: unknown, id: string): XcsError {
  return new XcsError(BackendErrorCode.notFound, `No container ${id} on the Docker engine`, { path: id, cause: e });
}

/** A failed inspection or removal of the image `ref`. */
export function imageFailure(e: unknown, what: 'inspection' | 'removal', ref: string): XcsError {
  if (e instanceof XcsError) return e; // already explained (an engine found unusable while negotiating)
  const status = statusOf(e);
  const message = engineMessage(e);
  if (status === 404) {
    return new XcsError(BackendErrorCode.imageMissing, `No image ${ref} on the Docker engine`, { path: ref, cause: e });
  }
  if (status === 400) {
    return new XcsError(BackendErrorCode.invalidReference, `The Docker engine refused "${ref}": ${message}`, { path: ref, cause: e });
  }
  if (status === 409) {
    return new XcsError(BackendErrorCode.imageInUse, `Image ${ref} is in use: ${message}`, {
      path: ref, hint: 'remove the containers that use it, or pass ?force=true', cause: e,
    });
  }
  return new XcsError(BackendErrorCode.requestFailed, `Docker image ${what} of ${ref} failed: ${message}`, { path: ref, cause: e });
}

/** A pull the engine or the registry refused (the engine's message says which). */
export function pullFailed(e: unknown, ref: string): XcsError {
  if (e instanceof XcsError) return e; // already explained (an engine found unusable while negotiating)
  return new XcsError(BackendErrorCode.pullFailed, `Could not pull image ${ref}: ${engineMessage(e)}`, { path: ref, cause: e });
}

/** Any other failed request. */
export function requestFailed(e: unknown, what: string, id: string): XcsError {
  if (e instanceof XcsError) return e; // already explained (an engine found unusable while negotiating)
  if (isUnavailable(e)) return unavailable(e, 'the configured socket');
  if (statusOf(e) === 404) return notFound(e, id);
  return new XcsError(BackendErrorCode.requestFailed, `Docker ${what} of ${id} failed: ${engineMessage(e)}`, { path: id, cause: e });
}
