/**
 * The XPath half of a derived input's `parser` (§2.5): XNAT evaluates the parser as an XPath over the
 * pulled string read as XML (in practice `datatype-string`, the item's XML), and only when that fails
 * (not XML, not an XPath) tries it as a regular expression.
 *
 * We implement the subset real commands use — location paths of child (`/`) and descendant (`//`)
 * steps with name tests, `*`, `text()`, `node()`, `@attr`, `.`, `..` and predicates `[n]`, `[last()]`,
 * `[@a]`, `[@a='v']`, `[child='v']` — and return XPath's `string()` of the first selected node, "" when
 * nothing is selected (as Java's `XPathExpression.evaluate` does). Anything outside the subset throws
 * `XPathUnsupported`, which callers treat like an evaluation error: the regex fallback is tried.
 */

export interface XmlElement {
  kind: 'element';
  name: string;
  attributes: Map<string, string>;
  children: XmlNode[];
  parent: XmlElement | XmlDocument;
}
export interface XmlText {
  kind: 'text';
  text: string;
  parent: XmlElement;
}
export interface XmlDocument {
  kind: 'document';
  children: XmlElement[];
}
type XmlNode = XmlElement | XmlText;
interface XmlAttr {
  kind: 'attr';
  name: string;
  value: string;
}
type Node = XmlDocument | XmlNode | XmlAttr;

export class XPathUnsupported extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new XPathUnsupported(`unknown entity ${all}`);
    return v;
  });
}

const NAME = /^[A-Za-z_:][\w.:-]*/;

/** A small well-formedness-checking XML reader; returns null for text that is not one XML document. */
export function parseXml(text: string): XmlDocument | null {
  const doc: XmlDocument = { kind: 'document', children: [] };
  let i = 0;
  let current: XmlElement | XmlDocument = doc;
  try {
    while (i < text.length) {
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i);
        if (end < 0) return null;
        i = end + 2;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i);
        if (end < 0) return null;
        i = end + 3;
      } else if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i);
        if (end < 0 || current.kind !== 'element') return null;
        current.children.push({ kind: 'text', text: text.slice(i + 9, end), parent: current });
        i = end + 3;
      } else if (text.startsWith('<!', i)) {
        // A DOCTYPE without an internal subset; one with `[` is beyond this reader.
        const end = text.indexOf('>', i);
        if (end < 0 || text.slice(i, end).includes('[')) return null;
        i = end + 1;
      } else if (text.startsWith('</', i)) {
        const m = NAME.exec(text.slice(i + 2));
        if (!m || current.kind !== 'element' || m[0] !== current.name) return null;
        i += 2 + m[0].length;
        while (/\s/.test(text[i] ?? '')) i++;
        if (text[i] !== '>') return null;
        i++;
        current = current.parent;
      } else if (text[i] === '<') {
        const m = NAME.exec(text.slice(i + 1));
        if (!m) return null;
        if (current.kind === 'document' && current.children.length > 0) return null;
        const el: XmlElement = { kind: 'element', name: m[0], attributes: new Map(), children: [], parent: current };
        i += 1 + m[0].length;
        for (;;) {
          const ws = /^\s*/.exec(text.slice(i)) as RegExpExecArray;
          i += ws[0].length;
          if (text.startsWith('/>', i) || text[i] === '>') break;
          if (ws[0].length === 0) return null;
          const a = /^([A-Za-z_:][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(i));
          if (!a) return null;
          el.attributes.set(a[1], decode(a[3] ?? a[4] ?? ''));
          i += a[0].length;
        }
        if (current.kind === 'document') current.children.push(el);
        else current.children.push(el);
        if (text.startsWith('/>', i)) i += 2;
        else {
          i += 1;
          current = el;
        }
      } else {
        const end = text.indexOf('<', i);
        const raw = text.slice(i, end < 0 ? text.length : end);
        if (current.kind === 'document') {
          if (raw.trim() !== '') return null;
        } else current.children.push({ kind: 'text', text: decode(raw), parent: current });
        i += raw.length;
      }
    }
  } catch (e) {
    if (e instanceof XPathUnsupported) return null;
    throw e;
  }
  return current === doc && doc.children.length === 1 ? doc : null;
}

type Test = { kind: 'name'; name: string } | { kind: 'any' } | { kind: 'text' } | { kind: 'node' } | { kind: 'attr'; name: string };
type Predicate = { kind: 'index'; n: number } | { kind: 'last' } | { kind: 'has-attr'; name: string } | { kind: 'eq'; test: Test; value: string };
interface Step {
  axis: 'child' | 'descendant' | 'self' | 'parent' | 'attribute';
  test: Test;
  predicates: Predicate[];
}

function parseTest(s: string): Test {
  if (s === '*') return { kind: 'any' };
  if (s === 'text()') return { kind: 'text' };
  if (s === 'node()') return { kind: 'node' };
  if (s.startsWith('@')) {
    const n = s.slice(1);
    if (n !== '*' && !/^[A-Za-z_][\w.-]*$/.test(n)) throw new XPathUnsupported(s);
    return { kind: 'attr', name: n };
  }
  if (!/^[A-Za-z_][\w.-]*$/.test(s)) throw new XPathUnsupported(s);
  return { kind: 'name', name: s };
}

function parsePredicate(p: string): Predicate {
  const t = p.trim();
  if (/^\d+$/.test(t)) return { kind: 'index', n: Number(t) };
  if (t === 'last()') return { kind: 'last' };
  const eq = /^(@?[A-Za-z_][\w.-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")$/.exec(t);
  if (eq) return { kind: 'eq', test: parseTest(eq[1]), value: eq[2] ?? eq[3] ?? '' };
  if (/^@[A-Za-z_][\w.-]*$/.test(t)) return { kind: 'has-attr', name: t.slice(1) };
  throw new XPathUnsupported(`predicate [${p}]`);
}

/** Parses a location path of the supported subset; throws `XPathUnsupported` otherwise. */
export function parseXPath(expr: string): { absolute: boolean; steps: Step[] } {
  let s = expr.trim();
  if (s === '') throw new XPathUnsupported('empty');
  const absolute = s.startsWith('/');
  const steps: Step[] = [];
  let descendant = false;
  if (absolute) {
    if (s.startsWith('//')) {
      descendant = true;
      s = s.slice(2);
      if (s === '') throw new XPathUnsupported(expr);
    } else s = s.slice(1);
  }
  while (s.length > 0) {
    const m = /^(\.\.|\.|@\*|@[A-Za-z_][\w.-]*|\*|text\(\)|node\(\)|[A-Za-z_][\w.-]*)/.exec(s);
    if (!m) throw new XPathUnsupported(s);
    s = s.slice(m[0].length);
    const predicates: Predicate[] = [];
    while (s.startsWith('[')) {
      const end = s.indexOf(']');
      if (end < 0) throw new XPathUnsupported(s);
      predicates.push(parsePredicate(s.slice(1, end)));
      s = s.slice(end + 1);
    }
    const tok = m[0];
    if (tok === '.' || tok === '..') {
      if (predicates.length > 0 || descendant) throw new XPathUnsupported(tok);
      steps.push({ axis: tok === '.' ? 'self' : 'parent', test: { kind: 'node' }, predicates });
    } else {
      const test = parseTest(tok);
      const axis = test.kind === 'attr' ? 'attribute' : descendant ? 'descendant' : 'child';
      if (test.kind === 'attr' && descendant) throw new XPathUnsupported(tok);
      steps.push({ axis, test, predicates });
    }
    descendant = false;
    if (s.startsWith('//')) {
      descendant = true;
      s = s.slice(2);
    } else if (s.startsWith('/')) s = s.slice(1);
    else if (s.length > 0) throw new XPathUnsupported(s);
    else break;
    if (s.length === 0) throw new XPathUnsupported(`${expr} ends with a separator`);
  }
  return { absolute, steps };
}

function childrenOf(n: Node): XmlNode[] {
  return n.kind === 'document' || n.kind === 'element' ? n.children : [];
}

function descendantsOf(n: Node, out: XmlNode[]): XmlNode[] {
  for (const c of childrenOf(n)) {
    out.push(c);
    descendantsOf(c, out);
  }
  return out;
}

function passes(n: Node, t: Test): boolean {
  switch (t.kind) {
    case 'name':
      return n.kind === 'element' && n.name === t.name;
    case 'any':
      return n.kind === 'element';
    case 'text':
      return n.kind === 'text';
    case 'node':
      return n.kind !== 'attr';
    case 'attr':
      return n.kind === 'attr' && (t.name === '*' || n.name === t.name);
  }
}

/** XPath `string()` of a node: an element's descendant text in document order. */
function stringValue(n: Node): string {
  if (n.kind === 'attr') return n.value;
  if (n.kind === 'text') return n.text;
  return descendantsOf(n, [])
    .filter((x): x is XmlText => x.kind === 'text')
    .map((x) => x.text)
    .join('');
}

function select(n: Node, t: Test): Node[] {
  if (t.kind === 'attr') return n.kind === 'element' ? [...n.attributes].map(([name, value]) => ({ kind: 'attr', name, value }) as XmlAttr).filter((a) => passes(a, t)) : [];
  return childrenOf(n).filter((c) => passes(c, t));
}

function applyPredicates(nodes: Node[], predicates: Predicate[]): Node[] {
  let out = nodes;
  for (const p of predicates) {
    if (p.kind === 'index') out = out.length >= p.n && p.n >= 1 ? [out[p.n - 1]] : [];
    else if (p.kind === 'last') out = out.length > 0 ? [out[out.length - 1]] : [];
    else if (p.kind === 'has-attr') out = out.filter((n) => n.kind === 'element' && n.attributes.has(p.name));
    else out = out.filter((n) => select(n, p.test).some((x) => stringValue(x) === p.value));
  }
  return out;
}

/**
 * Evaluates `expr` over the XML text as Java's `XPathExpression.evaluate(InputSource)` does: the
 * string-value of the first selected node, "" when none. Throws `XPathUnsupported` when the text is not
 * XML or the expression is outside the supported subset.
 */
export function evaluateXPath(expr: string, xml: string): string {
  const doc = parseXml(xml);
  if (!doc) throw new XPathUnsupported('not XML');
  // Java evaluates against the document node, so relative paths start there too.
  const { steps } = parseXPath(expr);
  let context: Node[] = [doc];
  for (const step of steps) {
    const next: Node[] = [];
    for (const c of context) {
      let found: Node[];
      if (step.axis === 'self') found = [c];
      else if (step.axis === 'parent') found = c.kind === 'document' || c.kind === 'attr' ? [] : [c.parent];
      else if (step.axis === 'descendant') {
        // `//x[1]` is `/descendant-or-self::node()/child::x[1]`: the predicate counts per parent.
        const parents: Node[] = [c, ...descendantsOf(c, [])];
        found = parents.flatMap((p) => applyPredicates(select(p, step.test), step.predicates));
        for (const f of found) if (!next.includes(f)) next.push(f);
        continue;
      } else found = select(c, step.test);
      for (const f of applyPredicates(found, step.predicates)) if (!next.includes(f)) next.push(f);
    }
    context = next;
  }
  return context.length > 0 ? stringValue(context[0]) : '';
}
