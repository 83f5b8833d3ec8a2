/**
 * How an XNAT command line becomes a process (reference §8). XNAT never gives a kept entrypoint a shell: the
 * line is split into arguments by these rules, so quoting means the same here as in XNAT.
 */

/**
 * Splits a command line into arguments: a backslash escapes the next character except inside single quotes;
 * single or double quotes start/end a quoted run (dropped; the other quote is literal inside); unquoted
 * whitespace ends a non-empty argument; empty arguments are never produced; an unterminated quote runs to the end.
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: '"' | "'" | null = null;
  let escaped = false;
  for (const ch of line) {
    if (escaped) {
      current += ch;
      escaped = false;
    } else if (ch === '\\' && quote !== "'") {
      escaped = true;
    } else if (quote !== null) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (/\s/.test(ch)) {
      if (current.length > 0) args.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.length > 0) args.push(current);
  return args;
}

/** The process a container runs, independent of any engine. */
export interface ProcessCommand {
  /** true: the image's entrypoint must be cleared. */
  resetEntrypoint: boolean;
  /** The arguments (after the entrypoint when it is kept). */
  args: string[];
}

/** XNAT's rule: override ⇒ no entrypoint and `/bin/sh -c <line>`; keep ⇒ the split line after the entrypoint. */
export function processCommand(commandLine: string, overrideEntrypoint: boolean): ProcessCommand {
  if (overrideEntrypoint) return { resetEntrypoint: true, args: ['/bin/sh', '-c', commandLine] };
  return { resetEntrypoint: false, args: splitCommandLine(commandLine) };
}
