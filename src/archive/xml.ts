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
    throw new XcsError('archive.xml.invalid', 'the document is not XML with a root element');
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

/**
 * Refuses a document that is not well-formed XML, saying where and why: `parseXmlRoot` only reads the root
 * and leaves, so without this a truncated or mis-nested upload would be stored as the assessor's document.
 */
export function checkWellFormed(xml: string): void {
  const text = xml.replace(/^\uFEFF/, '');
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const fail = (at: number, what: string): never => {
    const line = text.slice(0, at).split('\n').length;
    throw new XcsError('archive.xml.malformed', `the XML is malformed at line ${line}: ${what}`);
  };
  const checkEntities = (s: string, at: number) => {
    const bad = /&(?!(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
    if (bad) fail(at + bad.index, 'a bare "&" (write &amp;)');
  };
  const checkText = (s: string, at: number) => {
    checkEntities(s, at);
    if (stack.length === 0 && s.trim() !== '') fail(at, 'text outside the root element');
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    checkText(text.slice(i, end), i);
    if (lt < 0) break;
    const special: Array<[string, string]> = [['<?', '?>'], ['<!--', '-->'], ['<![CDATA[', ']]>'], ['<!DOCTYPE', '>']];
    const sp = special.find(([open]) => text.startsWith(open, lt));
    if (sp) {
      const close = text.indexOf(sp[1], lt + sp[0].length);
      if (close < 0) fail(lt, `"${sp[0]}" is never closed by "${sp[1]}"`);
      if (sp[0] === '<![CDATA[' && stack.length === 0) fail(lt, 'CDATA outside the root element');
      i = close + sp[1].length;
      continue;
    }
    const m = /^<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(text.slice(lt));
    if (!m) fail(lt, `a broken tag "${text.slice(lt, lt + 40).split('\n')[0]}"`);
    const [whole, closing, name, attrs, selfClosing] = m!;
    if (closing) {
      if (attrs || selfClosing) fail(lt, `the end tag </${name}> has attributes`);
      const open = stack.pop();
      if (open !== name) fail(lt, open ? `</${name}> closes <${open}>` : `</${name}> closes nothing`);
    } else {
      if (stack.length === 0 && ++roots > 1) fail(lt, `a second root element <${name}>`);
      const seen = new Set<string>();
      for (const a of attrs.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')/g)) {
        if (seen.has(a[1])) fail(lt, `the attribute "${a[1]}" appears twice on <${name}>`);
        seen.add(a[1]);
        checkEntities(a[2], lt);
      }
      if (!selfClosing) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (roots === 0) fail(text.length, 'no root element');
  if (stack.length > 0) fail(text.length, `<${stack[stack.length - 1]}> is never closed`);
}
