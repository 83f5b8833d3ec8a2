/**
 * `pull-images-on-xnat-init`: at start-up, pull the images of the enabled commands (those with a wrapper enabled for
 * the site) so the first launch does not fail on a missing image, and report what could not be pulled.
 * Deviation: an image the engine already has is not pulled again (XNAT pulls every one): a site without a registry
 * keeps working, and nothing leaves the machine for images that are there.
 */
import type Docker from 'dockerode';
import { messageOf } from '../../core/errors.ts';
import type { CommandCatalog } from './catalog.ts';

export interface PullReport {
  /** ISO time the pull finished; null while it runs or when it never ran. */
  finished: string | null;
  pulled: string[];
  present: string[];
  failed: Array<{ image: string; message: string }>;
}

export function emptyPullReport(): PullReport {
  return { finished: null, pulled: [], present: [], failed: [] };
}

/** The images of commands with a wrapper enabled for the site (ids `sha256:…` are never pulled, as in XNAT). */
export async function enabledImages(catalog: CommandCatalog): Promise<string[]> {
  const images = new Set<string>();
  for (const c of await catalog.list()) {
    if (c.image.startsWith('sha256:')) continue;
    for (const w of c.xnat) {
      if (await catalog.siteEnabled(w.id)) images.add(c.image);
    }
  }
  return [...images].sort();
}

async function present(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

export async function pullEnabledImages(docker: Docker, catalog: CommandCatalog): Promise<PullReport> {
  const report = emptyPullReport();
  for (const image of await enabledImages(catalog)) {
    if (await present(docker, image)) {
      report.present.push(image);
      continue;
    }
    try {
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
      report.pulled.push(image);
    } catch (e) {
      report.failed.push({ image, message: messageOf(e) });
    }
  }
  report.finished = new Date().toISOString();
  return report;
}
