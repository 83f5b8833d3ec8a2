/**
 * XCS's own version, from package.json, read once. This module sits two folders below the checkout, as every
 * bundled chunk does (`dist/cli/`), so the same relative URL finds package.json from the sources and the bundle.
 */
import { readFileSync } from 'node:fs';

export const XCS_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
