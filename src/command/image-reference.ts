/**
 * Docker's image reference grammar (`[host[:port]/]path[:tag][@digest]`, or an image id), checked before a
 * reference reaches the engine: the engine answers a malformed one with a 500, or — for a name holding `/..` —
 * with a redirect, and neither tells the user what they typed wrong.
 */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?|\\[[0-9A-Fa-f:]+\\](?::[0-9]+)?)';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}';
const NAMED = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);
const ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/** Whether `ref` is an image name (with optional host, tag and digest) or an image id. */
export function isImageReference(ref: string): boolean {
  if (ref.length === 0 || ref.length > 512) return false;
  return ID.test(ref) || NAMED.test(ref);
}
