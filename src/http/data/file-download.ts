/**
 * How archive bytes are sent to browsers. Anyone who may upload to a resource (a project member) chooses a
 * file's name and content, and the files are served on the console's origin: a file a browser renders as a
 * page (HTML, SVG, XML, JavaScript…) would run its script with the session of whoever opens it. So a file is
 * a download (`Content-Disposition: attachment`) under a type no browser renders, except a short list of
 * types that cannot carry script (raster images, plain text), shown inline. Every such response also carries
 * `nosniff` and a sandboxing CSP (`server-headers.ts`), so even a mislabelled file runs nothing.
 */
import type { FastifyReply } from 'fastify';

/** Types shown in the browser: none of them can run script or load anything. */
const INLINE: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif',
  txt: 'text/plain; charset=utf-8', log: 'text/plain; charset=utf-8',
};

/**
 * Types of downloads a client may want to tell apart. Anything a browser renders as a document (html, htm,
 * xhtml, svg, xml, xsl, js, mjs, css…) is deliberately absent: it goes out as `application/octet-stream`.
 */
const DOWNLOAD: Record<string, string> = {
  json: 'application/json', csv: 'text/csv; charset=utf-8', pdf: 'application/pdf', zip: 'application/zip',
  gz: 'application/gzip', tgz: 'application/gzip', dcm: 'application/dicom', nii: 'application/octet-stream',
};

export interface FileDelivery {
  contentType: string;
  inline: boolean;
}

/** How a file of this name is delivered: its type, and whether the browser may show it in place. */
export function deliveryOf(name: string): FileDelivery {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const ext = base.includes('.') ? base.slice(base.lastIndexOf('.') + 1).toLowerCase() : '';
  const inline = INLINE[ext];
  if (inline) return { contentType: inline, inline: true };
  return { contentType: DOWNLOAD[ext] ?? 'application/octet-stream', inline: false };
}

/**
 * A `Content-Disposition` value naming `name` (its last segment): an ASCII fallback with anything unsafe in
 * a quoted string replaced by `_`, and the exact name in RFC 5987 form for clients that read it.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1) || 'download';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const exact = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/** Sets the type and disposition of an archive file download. */
export function fileHeaders(reply: FastifyReply, name: string): FastifyReply {
  const d = deliveryOf(name);
  return reply.type(d.contentType).header('Content-Disposition', contentDisposition(d.inline ? 'inline' : 'attachment', name));
}

/** Sets the type and disposition of a zip download. */
export function zipHeaders(reply: FastifyReply, name: string): FastifyReply {
  return reply.type('application/zip').header('Content-Disposition', contentDisposition('attachment', `${name}.zip`));
}
