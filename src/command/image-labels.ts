/**
 * Commands from image labels (reference §1.13): read the `org.nrg.commands` label of a local image through
 * the Docker Engine API, parse it (a JSON list of commands), and validate each command as XNAT's import
 * would: `image` becomes the reference the image was inspected by (no `:latest` defaulting) and `hash` the
 * image id.
 */
import Docker from 'dockerode';
import { XcsError } from '../core/errors.ts';
import type { Diagnostic } from './diagnostics.ts';
import { parseCommandText, type ParseResult } from './index.ts';

export const COMMANDS_LABEL = 'org.nrg.commands';

export interface ImageCommandsReport {
  /** The reference the image was inspected by, which the commands' `image` is set to. */
  image: string;
  /** The image id (`sha256:...`). */
  imageId: string;
  /** Whether the image has an `org.nrg.commands` label. */
  hasLabel: boolean;
  /** The parsed and validated label; empty when there is no label. */
  result: ParseResult;
}

interface DockerLikeError {
  statusCode?: number;
  message?: string;
}

/** A dockerode client for `DOCKER_HOST`, or the local socket. */
export function defaultDocker(): Docker {
  return new Docker();
}

/**
 * Reads and validates the commands of a local image. Throws `XcsError` `image.not-found` (status 404) when
 * the image is not present locally, `docker.unreachable` (503) when the engine does not answer.
 */
export async function readImageCommands(image: string, docker: Docker = defaultDocker()): Promise<ImageCommandsReport> {
  if (image.trim() === '') throw new XcsError('image.name-blank', 'no image name given', { status: 400 });
  let info: Docker.ImageInspectInfo;
  try {
    info = await docker.getImage(image).inspect();
  } catch (e) {
    const err = e as DockerLikeError;
    if (err.statusCode === 404) {
      throw new XcsError('image.not-found', `image ${JSON.stringify(image)} is not present in the local Docker engine`, {
        path: image,
        status: 404,
        hint: 'check the name and tag with `docker images`; XCS never pulls in this command',
      });
    }
    throw new XcsError('docker.unreachable', `could not inspect image ${JSON.stringify(image)}: ${err.message ?? String(e)}`, {
      path: image,
      status: 503,
      cause: e,
    });
  }
  const label = info.Config?.Labels?.[COMMANDS_LABEL];
  if (label === undefined || label === null) {
    return { image, imageId: info.Id, hasLabel: false, result: { commands: [], errors: [], warnings: [], format: 'command-list' } };
  }
  const result = parseCommandText(label, { source: image, mode: 'label', image });
  if (result.format !== 'command-list' && result.errors.length === 0) {
    const note: Diagnostic = {
      path: '',
      code: 'image.label.not-a-list',
      message: `the ${COMMANDS_LABEL} label holds one command object; XNAT expects a JSON list of commands ([{...}])`,
      severity: 'warning',
    };
    result.warnings.push(note);
  }
  for (const c of result.commands) if (c.command) c.command.hash = info.Id;
  return { image, imageId: info.Id, hasLabel: true, result };
}
