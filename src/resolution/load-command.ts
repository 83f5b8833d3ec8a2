/**
 * Adapter: reads command JSON text into normalised `Command`s through the command module
 * (src/command). Valid commands come back exactly as `parseCommandText` gives them (image tag
 * defaulted, XNAT defaults applied). A command that fails validation is still returned, normalised
 * but unvalidated, with its validation errors, so resolution can be tried and explained on it.
 */
import { XcsError } from '../core/errors.ts';
import { parseCommandText, type Command } from '../command/index.ts';
import { DiagnosticSink } from '../command/diagnostics.ts';
import { COMMAND_PLAN, normaliseObject } from '../command/normalise.ts';
import { parseLenientJson } from '../command/lenient-json.ts';

export interface LoadedCommand {
  command: Command;
  /** Validation errors (empty for a valid command). */
  errors: string[];
}

export function commandsFromText(textOfFile: string, where = 'command'): LoadedCommand[] {
  const result = parseCommandText(textOfFile, { source: where });
  if (result.commands.length === 0) {
    const e = result.errors[0];
    throw new XcsError(e?.code ?? 'command.invalid', `${where}: ${e?.message ?? 'no command found'}`, { path: where });
  }
  const raw = parseLenientJson(textOfFile);
  const docs: unknown[] = raw.ok ? (Array.isArray(raw.value) ? raw.value : [raw.value]) : [];
  return result.commands.map((c, i) => {
    if (c.command) return { command: c.command, errors: [] };
    const sink = new DiagnosticSink();
    const command = normaliseObject(docs[i], COMMAND_PLAN, '', { sink, placeholders: new WeakSet() }) as unknown as Command;
    return { command, errors: c.errors.map((d) => `${d.path || '/'}: ${d.message}`) };
  });
}
