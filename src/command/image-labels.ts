/**
 * Commands from image labels (reference §1.13): read the `org.nrg.commands` label of a local image through
 * the container backend's image inspection (given by the caller: this layer knows no engine), parse it (a JSON list of commands), and validate each command as XNAT's import
 * would: `image` becomes the reference the image was inspected by (no `:latest` defaulting) and `hash` the
 * image id.
 */
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

/** What reading a label needs of the container backend (`ContainerBackend.inspectImage` fits). */
export interface ImageInspector {
  /** The image's id and labels, or null when the engine does not have it. */
  inspectImage(ref: string): Promise<{ id: string; labels: Record<string, string> } | null>;
}

/**
 * Reads and validates the commands of a local image. Throws `XcsError` `image.not-found` (status 404) when
 * the image is not present locally, `docker.unreachable` (503) when the engine does not answer.
 */
export async function readImageCommands(image: string, images: ImageInspector): Promise<ImageCommandsReport> {
  if (image.trim() === '') throw new XcsError('image.name-blank', 'no image name given');
  let info: { id: string; labels: Record<string, string> } | null;
  try {
    info = await images.inspectImage(image);
  } catch (e) {
    throw new XcsError('docker.unreachable', `could not inspect image ${JSON.stringify(image)}: ${e instanceof Error ? e.message : String(e)}`, {
      path: image,
      cause: e,
    });
  }
  if (info === null) {
    throw new XcsError('image.not-found', `image ${JSON.stringify(image)} is not present in the local Docker engine`, {
      path: image,
      hint: 'check the name and tag with `docker images`; XCS never pulls in this command',
    });
  }
  const label = info.labels[COMMANDS_LABEL];
  if (label === undefined || label === null) {
    return { image, imageId: info.id, hasLabel: false, result: { commands: [], errors: [], warnings: [], format: 'command-list' } };
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
  for (const c of result.commands) if (c.command) c.command.hash = info.id;
  return { image, imageId: info.id, hasLabel: true, result };
}
