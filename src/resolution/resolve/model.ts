/**
 * The shapes resolution works with: the error it throws, its arguments, the input tree (wrapper
 * inputs above the command inputs they provide) and the candidates each node resolves to.
 */
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandInput, WrapperDerivedInput, WrapperInput } from '../../command/model.ts';
import type { JsonValue } from '../../matcher/index.ts';
import type { XnatObjectSource } from '../source.ts';
import { CHILD_KINDS, type ChildKind, type XnatObject } from '../xnat-model.ts';
import type { Explanation, ResolveOptions } from '../types.ts';

export class ResolutionError extends XcsError {
  constructor(
    code: string,
    message: string,
    readonly explanation: Explanation,
    path?: string,
    hint?: string,
  ) {
    super(code, message, { path, hint });
  }
}

export interface ResolveArgs {
  command: Command;
  /** Wrapper name or id. */
  wrapper: string | number;
  /** The launch values, by input name (wrapper or command inputs). */
  inputs: Record<string, string>;
  source: XnatObjectSource;
  user?: string | null;
  project?: string | null;
  options?: ResolveOptions;
}

export interface TreeNode {
  name: string;
  key: string;
  kind: 'external' | 'derived' | 'command';
  type: string;
  required: boolean;
  multiple: boolean;
  sensitive: boolean;
  wrapperInput: WrapperInput | null;
  derived: WrapperDerivedInput | null;
  commandInput: CommandInput | null;
  children: TreeNode[];
}

export interface Candidate {
  value: string | null;
  object: XnatObject | null;
  children: NodeResult[];
}

export interface NodeResult {
  node: TreeNode;
  candidates: Candidate[];
}

export interface WrapperValue {
  node: TreeNode;
  value: string | null;
  object: XnatObject | null;
  /** A `multiple` input that resolved to several values: it cannot provide a mount's files (§2.13). */
  several?: boolean;
}

export const MATCH_KEYS: Record<string, string[]> = {
  Subject: ['uri', 'id', 'label', 'directory'],
  Session: ['uri', 'id', 'label', 'directory'],
  SubjectAssessor: ['uri', 'id', 'label', 'directory'],
  ProjectAsset: ['uri', 'id', 'label', 'directory'],
  Scan: ['uri', 'id', 'directory'],
  Assessor: ['uri', 'id', 'label'],
  Resource: ['uri', 'id', 'label'],
  File: ['uri'],
  'File[]': ['uri'],
};

export function blank(s: string | null | undefined): s is null | undefined | '' {
  return s === null || s === undefined || s.trim() === '';
}

export function text(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The collections a matcher or property mentions: what must be loaded for it to see them. */
export function neededKinds(...texts: (string | null | undefined)[]): Set<ChildKind> {
  const out = new Set<ChildKind>();
  for (const t of texts) if (t) for (const k of CHILD_KINDS) if (t.includes(k)) out.add(k);
  return out;
}
