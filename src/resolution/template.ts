/**
 * Template resolution (§2.10): `^...^` JSONPath spans, then replacement keys.
 *
 * Deviation: every `^...^` span is evaluated, non-greedily (XNAT evaluates only the first, greedy,
 * span). Kept from XNAT: a blank template or an empty replacement map leaves the text untouched,
 * `^$...^` reads the command JSON and `^wrapper:$...^` the wrapper JSON, and a path with several
 * results is an error. Keys are replaced longest first, so overlapping keys give one stable result
 * (XNAT's order is that of a hash map).
 */
import { XcsError } from '../core/errors.ts';
import { query, type JsonValue } from '../matcher/index.ts';

export interface TemplateRoots {
  command: JsonValue;
  wrapper: JsonValue;
}

export type ReplacementMap = Map<string, string | null>;

function scalarText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Replaces every `^path^` / `^wrapper:path^` span by the single value it selects. */
export function substituteJsonPath(text: string, roots: TemplateRoots): string {
  return text.replace(/\^(wrapper:)?(.+?)\^/g, (span, wrapperPrefix: string | undefined, path: string) => {
    const trimmed = path.trim();
    if (!trimmed.startsWith('$')) return span;
    let found: JsonValue[];
    try {
      found = query(trimmed, wrapperPrefix ? roots.wrapper : roots.command);
    } catch {
      return span;
    }
    if (found.length === 0 || found[0] === null) return span;
    if (found.length > 1) {
      throw new XcsError(
        'resolution.template.ambiguous',
        `JSONPath search "${trimmed}" returned multiple results: ${found.map(scalarText).join(', ')}. Cannot determine value to replace.`,
        { path: trimmed },
      );
    }
    return scalarText(found[0]);
  });
}

/** Replaces every occurrence of each key (longest key first); null values become "". */
export function replaceKeys(text: string, map: ReplacementMap): string {
  let out = text;
  const keys = [...map.keys()].filter((k) => k !== '').sort((a, b) => b.length - a.length);
  for (const k of keys) if (out.includes(k)) out = out.split(k).join(map.get(k) ?? '');
  return out;
}

export function resolveTemplate(text: string | null, map: ReplacementMap, roots: TemplateRoots): string | null {
  if (text === null || text.trim() === '' || map.size === 0) return text;
  return replaceKeys(substituteJsonPath(text, roots), map);
}
