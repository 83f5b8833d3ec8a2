/** Derived-input parsers (reference §2.5). */
import { compileJavaRegex } from '../../matcher/regex.ts';
import { evaluateXPath, XPathUnsupported } from '../xpath.ts';

/**
 * §2.5 parser: XPath over the value read as XML first (its string, "" when nothing is selected); when
 * that cannot be evaluated (the value is not XML, the expression not an XPath we support), a regex that
 * must match the whole value, which is then returned unchanged.
 */
export function parseValue(value: string, parser: string): string | null {
  try {
    return evaluateXPath(parser, value);
  } catch (e) {
    if (!(e instanceof XPathUnsupported)) throw e;
  }
  try {
    return compileJavaRegex(parser, '').test(value) ? value : null;
  } catch {
    return null;
  }
}
