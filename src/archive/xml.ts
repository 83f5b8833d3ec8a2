/**
 * Just enough of XNAT's XML documents to create an assessor or scan from one: the root element's name
 * and attributes, and the text of leaf elements (by local name, first occurrence). The document itself
 * is kept verbatim by the caller.
 */
import { XcsError } from '../core/errors.ts';

export interface XmlRoot {
  element: string;
  attributes: Record<string, string>;
  /** Leaf element text by local name (`xnat:date` → `date`). */
  leaves: Record<string, string>;
}

function unescape(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      case 'amp': return '&';
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

export function parseXmlRoot(xml: string): XmlRoot {
  const body = xml.replace(/^\uFEFF/, '').replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '');
  const m = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/.exec(body);
  if (!m || body.slice(0, m.index).trim() !== '') {
    throw new XcsError('archive.xml.invalid', 'the document is not XML with a root element', { status: 400 });
  }
  const attributes: Record<string, string> = {};
  for (const a of m[2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    attributes[a[1]] = unescape(a[2] ?? a[3] ?? '');
  }
  const leaves: Record<string, string> = {};
  for (const l of body.matchAll(/<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(?:\s[^>]*)?>([^<]*)<\/\1?\2>/g)) {
    if (!(l[2] in leaves)) leaves[l[2]] = unescape(l[3].trim());
  }
  return { element: m[1], attributes, leaves };
}
