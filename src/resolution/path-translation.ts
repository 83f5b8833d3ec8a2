/**
 * XNAT's host-path translation: the engine sees the data under another prefix. Deviation: only a leading prefix is
 * replaced (XNAT replaces every occurrence). Resolution translates every mount source with it, and staging the
 * places it makes itself (copies of archive inputs in the build area).
 */
export interface PathTranslation {
  xnatPrefix: string;
  dockerPrefix: string;
}

export function translateHostPath(hostPath: string, t: PathTranslation | null | undefined): string {
  if (!t || t.xnatPrefix.trim() === '' || !hostPath.startsWith(t.xnatPrefix)) return hostPath;
  return t.dockerPrefix + hostPath.slice(t.xnatPrefix.length);
}
