/**
 * Public API of the command model: parse command JSON the way XNAT does, report better.
 *
 *   parseCommandText(text, {source})  text of a command file or an `org.nrg.commands` label -> ParseResult
 *   parseCommandValue(value)          an already-parsed JSON value -> ParseResult
 *   validateCommand(value)            one command object -> ValidatedCommand
 *   commandJsonSchema()               the JSON Schema (2020-12) of the command format (input form)
 *   findWrapper(command, nameOrId)    a wrapper by name or id
 *
 * A document may hold one command object or a JSON list of them (the image-label form). Each command is
 * normalised (types coerced, defaults applied, legacy keys mapped: see model.ts) and validated; a command is
 * valid when it has no errors, and only then is its normalised `command` returned. Warnings never make a
 * command invalid. Paths in diagnostics are JSON pointers into the parsed document; a command's own
 * pointers are prefixed with its `pointerPrefix` (`/2` for the third command of a list, "" for a single one).
 * None of these functions throws, whatever it is given.
 */
import { checkMatcherSyntax } from '../matcher/index.ts';
import { DiagnosticSink, type Diagnostic, q } from './diagnostics.ts';
import { parseLenientJson } from './lenient-json.ts';
import { COMMAND_INPUT_TYPES, WRAPPER_INPUT_TYPES, type Command } from './model.ts';
import { COMMAND_PLAN, normaliseObject, type NormaliseContext } from './normalise.ts';
import { validateNormalised } from './validate.ts';

export * from './model.ts';
export { SENSITIVE_MASK, sensitiveInputNames, sensitiveDefaults, maskCommand, maskWrapper, maskParams, keepMaskedDefaults, unmaskCommandBody } from './sensitive.ts';
export type { Diagnostic, Severity } from './diagnostics.ts';
export { resolvePointer } from './diagnostics.ts';
export { commandJsonSchema } from './json-schema.ts';

export type CommandFormat = 'command' | 'command-list' | 'pre-1.0';

export interface ValidatedCommand {
  /** The normalised command; null when the command is invalid. */
  command: Command | null;
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** JSON pointer of this command in the parsed document. */
  pointerPrefix: string;
}

export interface ParseResult {
  commands: ValidatedCommand[];
  /** Errors about the document itself (syntax, not an object or list); each command has its own too. */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  format: CommandFormat;
}

/**
 * How the command arrives, which decides how its `image` is treated (reference §1.1, §1.13):
 *  - `file` (default; `xcs validate`): a command file. A missing tag gets `:latest` with a warning (as on
 *    POST /xapi/commands); a missing image is only a warning, since labels and `?image=` supply it.
 *  - `rest`: POST /xapi/commands. `image` (the `?image=` parameter), when non-blank, replaces the body's;
 *    a missing tag becomes `:latest`; a blank image is an error.
 *  - `label`: import from an image's `org.nrg.commands` label. `image` (the name used to inspect the image)
 *    replaces the command's, without tag defaulting, so an untagged name is an error as in XNAT.
 */
export type ParseMode = 'file' | 'rest' | 'label';

export interface ParseOptions {
  /** Where the text came from (a file name, an image), for messages. */
  source?: string;
  mode?: ParseMode;
  /** The image reference that overrides the command's (`rest`: ?image=, `label`: the inspected name). */
  image?: string;
}

const matcherCheck = (source: string): ReturnType<typeof checkMatcherSyntax> => checkMatcherSyntax(source);

/** Parses the text of a command file or label. */
export function parseCommandText(text: string, options: ParseOptions = {}): ParseResult {
  if (typeof text !== 'string') {
    return docError('', 'command.document.not-text', 'expected the text of a JSON document');
  }
  const parsed = parseLenientJson(text);
  const warnings: Diagnostic[] = parsed.warnings.map((w) => ({
    path: w.path,
    code: 'command.json.lenient',
    message: `line ${w.line}, column ${w.column}: ${w.message}`,
    severity: 'warning',
  }));
  if (!parsed.ok) {
    const e = parsed.error;
    return {
      commands: [],
      errors: [{ path: '', code: 'command.json.syntax', message: `line ${e.line}, column ${e.column}: ${e.message}`, severity: 'error' }],
      warnings,
      format: 'command',
    };
  }
  const result = parseCommandValue(parsed.value, options);
  result.warnings.unshift(...warnings);
  return result;
}

/** Parses an already-read JSON value: one command object or a list of them. */
export function parseCommandValue(value: unknown, options: ParseOptions = {}): ParseResult {
  if (Array.isArray(value)) {
    const commands = value.map((item, i) => validateAt(item, `/${i}`, options));
    const errors: Diagnostic[] = [];
    if (value.length === 0) {
      errors.push({ path: '', code: 'command.document.empty-list', message: 'the list holds no commands; put command objects in it', severity: 'error' });
    }
    return { commands, errors, warnings: [], format: 'command-list' };
  }
  if (value === null || typeof value !== 'object') {
    return docError('', 'command.document.not-an-object', `expected a command object {...} or a list of them, found ${value === null ? 'null' : typeof value}`);
  }
  const one = validateAt(value, '', options);
  return { commands: [one], errors: [], warnings: [], format: isPre10(value) ? 'pre-1.0' : 'command' };
}

/** Normalises and validates one command object. */
export function validateCommand(value: unknown, options: ParseOptions = {}): ValidatedCommand {
  return validateAt(value, '', options);
}

function docError(path: string, code: string, message: string): ParseResult {
  return { commands: [], errors: [{ path, code, message, severity: 'error' }], warnings: [], format: 'command' };
}

function isPre10(value: object): boolean {
  return !Object.prototype.hasOwnProperty.call(value, 'image') &&
    (Object.prototype.hasOwnProperty.call(value, 'docker-image') || Object.prototype.hasOwnProperty.call(value, 'run'));
}

function validateAt(value: unknown, prefix: string, options: ParseOptions): ValidatedCommand {
  const sink = new DiagnosticSink(prefix);
  try {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && isPre10(value)) {
      reportPre10(value as Record<string, unknown>, sink);
      return { command: null, valid: false, errors: sink.errors, warnings: sink.warnings, pointerPrefix: prefix };
    }
    const ctx: NormaliseContext = { sink, placeholders: new WeakSet() };
    const command = normaliseObject(value, COMMAND_PLAN, '', ctx) as unknown as Command;
    if (ctx.placeholders.has(command)) {
      return { command: null, valid: false, errors: sink.errors, warnings: sink.warnings, pointerPrefix: prefix };
    }
    mapCommandInputTypes(command, sink);
    const mode = options.mode ?? 'file';
    applyImage(command, mode, options.image, sink);
    validateNormalised(command, sink, { placeholders: ctx.placeholders, matcherCheck, imageOptional: mode === 'file' });
    const valid = sink.errors.length === 0;
    if (valid) mapPersistedWrapperInputTypes(command);
    return { command: valid ? command : null, valid, errors: sink.errors, warnings: sink.warnings, pointerPrefix: prefix };
  } catch (e) {
    // A bug of ours must not lose the user's input: report it against the command.
    sink.error('', 'command.internal-error', `XCS failed while checking this command (${e instanceof Error ? e.message : String(e)}); please report it`);
    return { command: null, valid: false, errors: sink.errors, warnings: sink.warnings, pointerPrefix: prefix };
  }
}

function reportPre10(value: Record<string, unknown>, sink: DiagnosticSink): void {
  const field = Object.prototype.hasOwnProperty.call(value, 'docker-image') ? '/docker-image' : '/run';
  sink.error(field, 'command.format.pre-1.0',
    'this is the pre-1.0 command format (docker-image, run), which XNAT no longer reads. To convert it: rename ' +
    '"docker-image" to "image" (with a :tag), move "run"."command-line" to "command-line", turn "run"."mounts" ' +
    'into "mounts" entries {"name", "path", "writable"}, and describe XNAT inputs in an "xnat" wrapper');
}

/** XNAT persists an unknown command input type as `string` (and `File` as `file`); we say so. */
function mapCommandInputTypes(command: Command, sink: DiagnosticSink): void {
  command.inputs.forEach((input, i) => {
    const raw = input.type as string;
    if ((COMMAND_INPUT_TYPES as readonly string[]).includes(raw)) return;
    if (raw === 'File') {
      input.type = 'file';
      return;
    }
    sink.warning(`/inputs/${i}/type`, 'command.input.unknown-type',
      `input type ${q(raw)} is not a command input type, so XNAT treats the input as "string"; use one of ${COMMAND_INPUT_TYPES.join(', ')}`);
    input.type = 'string';
  });
}

/** XNAT's validator accepts lower-case `file` on wrapper inputs, but persistence stores it as `string`. */
function mapPersistedWrapperInputTypes(command: Command): void {
  for (const w of command.xnat) {
    for (const input of [...w['external-inputs'], ...w['derived-inputs']]) {
      if (!(WRAPPER_INPUT_TYPES as readonly string[]).includes(input.type)) input.type = 'string';
    }
  }
}

const HAS_TAG = /.+:[a-zA-Z0-9_.-]+$/;

function applyImage(command: Command, mode: ParseMode, image: string | undefined, sink: DiagnosticSink): void {
  const override = image !== undefined && image.trim() !== '' ? image.trim() : undefined;
  if (mode === 'label') {
    if (override !== undefined) command.image = override;
    return;
  }
  if (mode === 'rest' && override !== undefined) command.image = override;
  if (command.image.trim() !== '' && !HAS_TAG.test(command.image)) {
    if (mode === 'file') {
      sink.warning('/image', 'command.image.tag-defaulted',
        `image ${q(command.image)} has no tag; XNAT appends ":latest" when the command is posted. Write the tag explicitly, e.g. ${q(`${command.image}:latest`)}`);
    }
    command.image = `${command.image}:latest`;
  }
}
