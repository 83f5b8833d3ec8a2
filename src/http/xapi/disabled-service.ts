/**
 * What a container-service endpoint answers when the server runs without its container backend (it could not be
 * opened at start-up: the archive is still served). Those routes are not registered then; rather than a 404 that
 * reads like a wrong URL, the not-found handler answers 503 for their paths, saying why in terms anyone may read.
 * The backend's own reason (its address, the socket error) goes to the server's log and to administrators through
 * `GET /health/ready`, not to whoever asks here.
 */
import { XcsError } from '../../core/errors.ts';

const CONTAINER_SERVICE_PATHS = new RegExp([
  '^/xapi/containers?(/|$)',
  '^/xapi/projects/[^/]+/containers(/|$)',
  '^/xapi/(.+/)?launch$',
  '^/xapi/dashboard$',
  '^/xapi/notifications/',
  '^/xapi/provenance/',
  '^/xapi/docker/server/pull-on-init$',
].join('|'));

/** Whether `path` (no query) is one of the routes that exist only with a running container backend. */
export function isContainerServicePath(path: string): boolean {
  return CONTAINER_SERVICE_PATHS.test(path);
}

export function containerServiceDisabled(path: string): XcsError {
  return new XcsError('container-service.disabled',
    'the container service is not running on this server: its container backend could not be opened when the server started',
    { status: 503, path, hint: 'an administrator finds the reason in the server\'s log; start the container engine (or select another backend), then restart xcs' });
}
