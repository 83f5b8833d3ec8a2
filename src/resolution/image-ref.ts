/**
 * Setup/wrapup command references: `[registry[:port]/]repo/image:tag[:command-name]`.
 *
 * Deviation: XNAT splits the whole reference on `:` and takes the first two parts as the image, which
 * breaks `registry:5000/repo/img:tag`. We split only the part after the last `/`.
 */
export interface ImageCommandRef {
  /** The image with its tag (`registry:5000/repo/img:tag`), or without when none was given. */
  image: string;
  /** The command name, or null when the reference names only the image. */
  commandName: string | null;
}

export function parseImageCommandRef(ref: string): ImageCommandRef {
  const slash = ref.lastIndexOf('/');
  const head = ref.slice(0, slash + 1);
  const parts = ref.slice(slash + 1).split(':');
  if (parts.length <= 2) return { image: ref, commandName: null };
  return { image: `${head}${parts[0]}:${parts[1]}`, commandName: parts.slice(2).join(':') };
}
