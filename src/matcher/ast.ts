/**
 * The syntax tree of Jayway-style JSONPath expressions and filter bodies. Every node keeps the
 * [start, end) span of the source text it came from, so explanations and errors can quote it.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Span {
  start: number;
  end: number;
}

export type PathSegment =
  | { kind: 'member'; names: string[] }
  | { kind: 'wildcard' }
  | { kind: 'index'; indexes: number[] }
  | { kind: 'slice'; start: number | null; end: number | null }
  | { kind: 'filter'; expr: FilterExpr }
  | { kind: 'deep'; inner: PathSegment };

export interface PathExpr extends Span {
  /** `$` = the document root, `@` = the item under test in a filter. */
  root: '$' | '@';
  segments: PathSegment[];
  /** True when the path can only ever select one node (no wildcard, deep scan, filter, slice or list). */
  definite: boolean;
}

export type CompareOp =
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '=~'
  | 'in'
  | 'nin'
  | 'subsetof'
  | 'anyof'
  | 'noneof'
  | 'size'
  | 'empty';

export interface RegexLiteral extends Span {
  kind: 'regex';
  /** The pattern as written between the slashes (Java syntax). */
  pattern: string;
  /** The flags as written after the closing slash; unknown characters are ignored, as Jayway does. */
  flags: string;
}

export type Operand =
  | ({ kind: 'path'; path: PathExpr } & Span)
  | ({ kind: 'literal'; value: JsonValue } & Span)
  | RegexLiteral;

export type FilterExpr =
  | ({ kind: 'or'; left: FilterExpr; right: FilterExpr } & Span)
  | ({ kind: 'and'; left: FilterExpr; right: FilterExpr } & Span)
  | ({ kind: 'not'; operand: FilterExpr } & Span)
  | ({ kind: 'compare'; op: CompareOp; left: Operand; right: Operand } & Span)
  | ({ kind: 'exists'; path: PathExpr } & Span)
  | ({ kind: 'constant'; value: boolean } & Span);
