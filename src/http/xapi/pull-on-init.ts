/**
 * `pull-images-on-xnat-init`: at start-up, pull the images of the enabled commands (those with a wrapper enabled for
 * the site) so the first launch does not fail on a missing image, and report what could not be pulled.
 * Deviation: an image the engine already has is not pulled again (XNAT pulls every one): a site without a registry
 * keeps working, and nothing leaves the machine for images that are there.
 */
import { messageOf } from '../../core/errors.ts';
import type { CommandCatalog } from '../../runtime/index.ts';

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

/** What pulling needs of the engine (`images.ts` gives it for the configured Docker server). */
export interface ImageEngine {
  has(image: string): Promise<boolean>;
  /** Resolves once the image is pulled; rejects with the engine's reason. */
  pull(image: string): Promise<void>;
}

export async function pullEnabledImages(engine: ImageEngine, catalog: CommandCatalog): Promise<PullReport> {
  const report = emptyPullReport();
  for (const image of await enabledImages(catalog)) {
    if (await engine.has(image)) {
      report.present.push(image);
      continue;
    }
    try {
      await engine.pull(image);
      report.pulled.push(image);
    } catch (e) {
      report.failed.push({ image, message: messageOf(e) });
    }
  }
  report.finished = new Date().toISOString();
  return report;
}
