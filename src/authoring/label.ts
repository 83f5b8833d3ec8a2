/**
 * The `org.nrg.commands` label of an image: the commands as one compact JSON array, written as a
 * Dockerfile LABEL instruction, and that instruction rewritten in place in a Dockerfile.
 *
 * Escaping: the value is double-quoted; inside double quotes Docker's word parser removes a backslash
 * only before `"`, `$` and another backslash, and expands `$NAME`. So exactly those three characters
 * are escaped and nothing else changes — JSON's own escapes (`\n`, `\u00e9`) survive as the two
 * characters they are. Single quotes would need no escaping, but matchers are full of them.
 */
import { XcsError } from '../core/errors.ts';
import { COMMANDS_LABEL } from '../command/image-labels.ts';

/** Keys kept out of the label: authoring data an installed command has no use for. */
export const AUTHORING_ONLY_KEYS = ['xcs-tests'] as const;

/** The label's value: the commands, compact, in order, without authoring-only keys. */
export function labelValue(commands: Record<string, unknown>[]): string {
  const stripped = commands.map((c) => {
    const copy = { ...c };
    for (const k of AUTHORING_ONLY_KEYS) delete copy[k];
    return copy;
  });
  return JSON.stringify(stripped);
}

/** `value` as a double-quoted Dockerfile word. */
export function dockerfileQuote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

export function labelInstruction(commands: Record<string, unknown>[]): string {
  return `LABEL ${COMMANDS_LABEL}=${dockerfileQuote(labelValue(commands))}`;
}

interface Instruction {
  /** Index of its first and last physical line. */
  first: number;
  last: number;
  text: string;
}

/** Dockerfile instructions with their line spans (continuation lines joined, comments skipped). */
function instructions(lines: string[]): Instruction[] {
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*(#|$)/.test(line)) {
      i += 1;
      continue;
    }
    const first = i;
    let text = line;
    while (/\\\s*$/.test(lines[i]) && i + 1 < lines.length) {
      i += 1;
      text = `${text.replace(/\\\s*$/, '')}\n${lines[i]}`;
    }
    out.push({ first, last: i, text });
    i += 1;
  }
  return out;
}

const OUR_LABEL = new RegExp(`^\\s*LABEL\\s+["']?${COMMANDS_LABEL.replace(/\./g, '\\.')}["']?\\s*=`, 'i');

/**
 * `dockerfile` with its `org.nrg.commands` LABEL replaced by `instruction` (or, when it has none,
 * the instruction added at the end). Everything else is kept byte for byte. A LABEL that sets other
 * labels too is refused: splitting it could change them.
 */
export function rewriteDockerfile(dockerfile: string, instruction: string, where = 'Dockerfile'): { text: string; replaced: boolean } {
  const eol = dockerfile.includes('\r\n') ? '\r\n' : '\n';
  const lines = dockerfile.split(/\r?\n/);
  const ours = instructions(lines).filter((ins) => OUR_LABEL.test(ins.text));
  const mixed = instructions(lines).filter((ins) => !OUR_LABEL.test(ins.text) && /^\s*LABEL\s/i.test(ins.text) && ins.text.includes(COMMANDS_LABEL));
  if (mixed.length > 0) {
    throw new XcsError('label.dockerfile.mixed', `${where} line ${mixed[0].first + 1}: the ${COMMANDS_LABEL} label is set in a LABEL instruction that sets other labels too`, {
      path: `${where}:${mixed[0].first + 1}`,
      hint: `give ${COMMANDS_LABEL} a LABEL instruction of its own, then run xcs label --dockerfile again`,
    });
  }
  if (ours.length > 1) {
    throw new XcsError('label.dockerfile.several', `${where} sets ${COMMANDS_LABEL} ${ours.length} times (lines ${ours.map((o) => o.first + 1).join(', ')}); the last one wins in the image`, {
      path: `${where}:${ours[1].first + 1}`, hint: 'remove all but one, then run xcs label --dockerfile again',
    });
  }
  if (ours.length === 0) {
    const body = dockerfile.endsWith(eol) || dockerfile === '' ? dockerfile : dockerfile + eol;
    return { text: `${body}${instruction}${eol}`, replaced: false };
  }
  const [only] = ours;
  const next = [...lines.slice(0, only.first), instruction, ...lines.slice(only.last + 1)];
  return { text: next.join(eol), replaced: true };
}
