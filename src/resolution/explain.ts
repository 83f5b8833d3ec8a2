/** Renders an explanation for people: one block per input, one line per candidate. */
import type { Explanation } from './types.ts';

export function explanationText(ex: Explanation): string {
  const lines: string[] = [];
  for (const i of ex.inputs) {
    const parent = i.parent !== undefined ? ` from ${i.parent}` : '';
    lines.push(`${i.kind} input "${i.name}" (${i.type})${parent}${i.source ? `, value from ${i.source}` : ''}`);
    if (i.matcher) lines.push(`  matcher: ${i.matcher}`);
    for (const c of i.candidates) {
      lines.push(`  ${c.accepted ? 'accepted' : 'rejected'} ${c.label}${c.uri ? ` <${c.uri}>` : ''}`);
      for (const r of c.reasons) lines.push(`    because ${r}`);
    }
    lines.push(`  => ${i.values.length === 0 ? '(no value)' : i.values.map((v) => (v === null ? 'null' : v)).join(', ')}`);
    if (i.note) lines.push(`  note: ${i.note}`);
  }
  return lines.join('\n');
}
