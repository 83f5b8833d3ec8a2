/**
 * The validation rules of a normalised command: every rule of XNAT's `Command.validate()` (reference §1.11),
 * with XNAT's meaning and order, plus our own checks that catch what would go wrong at launch. Every
 * finding names the JSON pointer of the field, a stable code and how to fix it. XNAT's rules are errors;
 * our own are warnings unless the command would certainly fail, so every command XNAT accepts stays valid.
 *
 * Input: the output of `normalise.ts` (enumerated fields may still hold unknown strings; that is judged here).
 */
import type { Command, CommandInput, CommandWrapper, WrapperDerivedInput, WrapperExternalInput } from './model.ts';
import { COMMAND_TYPES, MULTIPLE_DELIMITERS, OUTPUT_HANDLER_TYPES, VISIBILITIES, WRAPPER_INPUT_TYPES_ACCEPTED, replacementKeyOf } from './model.ts';
import { type DiagnosticSink, listOf, pointer, q } from './diagnostics.ts';
import { isImageReference } from './image-reference.ts';
import { validateRunPolicy } from './validate-run-policy.ts';
import { validateTests } from './validate-tests.ts';
import { CALLBACK_NETWORK_HINT, callbackUse } from './calls-back.ts';

/** Checks the syntax of a matcher (after template tokens are neutralised); provided by the matcher engine. */
export type MatcherSyntaxCheck = (source: string) => { ok: true } | { ok: false; message: string; position: number };

export interface ValidateOptions {
  /** Items replaced by placeholders during normalisation (already reported); skipped here. */
  placeholders?: WeakSet<object>;
  matcherCheck?: MatcherSyntaxCheck;
  /** A blank image is a warning, not an error (a command file whose image comes from a label or ?image=). */
  imageOptional?: boolean;
}

const IMAGE_WITH_TAG = /.+:[a-zA-Z0-9_.-]+$/;
const NAME_CHARS = /^[A-Za-z0-9_-]*$/;
const RESERVED_ENV = ['XNAT_USER', 'XNAT_PASS', 'XNAT_HOST'];
const SELECT_TYPES = ['select-one', 'select-many'];
const SELECT_NOTE =
  'Command inputs that get their values from wrapper inputs should not be select types ' +
  '(they render as a select automatically when the wrapper input resolves to several values).';
const TEMPLATE_TOKEN = /#[A-Za-z0-9_-]+#|\[[A-Za-z0-9_-]+\]|\^[^^]*\^/;

const isBlank = (s: string | null | undefined): boolean => s === null || s === undefined || s.trim() === '';

function duplicates(names: string[]): Set<number> {
  const seen = new Set<string>();
  const dups = new Set<number>();
  names.forEach((n, i) => {
    if (seen.has(n)) dups.add(i);
    seen.add(n);
  });
  return dups;
}

export function validateNormalised(cmd: Command, sink: DiagnosticSink, options: ValidateOptions = {}): void {
  const skip = (o: object): boolean => options.placeholders?.has(o) ?? false;
  const type = cmd.type as string;

  if (isBlank(cmd.name)) sink.error('/name', 'command.name.blank', 'the command has no name; give it a non-blank "name"');
  if (isBlank(cmd.image) && options.imageOptional) {
    sink.warning('/image', 'command.image.missing',
      'the command has no image. That is fine in an org.nrg.commands image label (XNAT fills in the image on import), ' +
      'but POST /xapi/commands then needs ?image=name:tag; set "image" to be explicit');
  } else if (isBlank(cmd.image)) {
    sink.error('/image', 'command.image.blank', 'the command has no image; set "image" to a Docker image with a tag, e.g. "xnat/dcm2niix:1.0"');
  } else if (!isImageReference(cmd.image)) {
    sink.error('/image', 'command.image.invalid', `image ${q(cmd.image)} is not a Docker image reference; write it as [host[:port]/]repository:tag ` +
      '(lower-case repository, e.g. "xnat/dcm2niix:1.0"), or an image id');
  } else if (!IMAGE_WITH_TAG.test(cmd.image)) {
    sink.error('/image', 'command.image.missing-tag', `image ${q(cmd.image)} has no version tag; write it as name:tag, e.g. ${q(`${cmd.image}:latest`)}`);
  }

  if (type === 'docker') validateDocker(cmd, sink, skip, options);
  else if (type === 'docker-setup' || type === 'docker-wrapup') validateSpecial(cmd, type, sink);
  else sink.error('/type', 'command.type.unknown', `type ${q(type)} is not a command type; use one of ${listOf(COMMAND_TYPES)}`);

  if (!(VISIBILITIES as readonly string[]).includes(cmd.visibility)) {
    sink.error('/visibility', 'command.visibility.unknown', `visibility ${q(cmd.visibility)} is unknown; use one of ${listOf(VISIBILITIES)} (lower case)`);
  }
  validateRunPolicy(cmd, sink);
  validateTests(cmd, sink);
  const callback = callbackUse(cmd);
  if (callback.variables.length > 0) {
    sink.warning(callback.paths[0], 'command.calls-back',
      `the command calls XNAT back (it uses ${callback.variables.join(', ')}); ${CALLBACK_NETWORK_HINT}`);
  }
}

function validateSpecial(cmd: Command, type: 'docker-setup' | 'docker-wrapup', sink: DiagnosticSink): void {
  const kind = type === 'docker-setup' ? 'setup' : 'wrapup';
  const parts: [string, number, string][] = [
    ['mounts', cmd.mounts.length, 'mounts'],
    ['inputs', cmd.inputs.length, 'inputs'],
    ['outputs', cmd.outputs.length, 'outputs'],
    ['xnat', cmd.xnat.length, 'wrappers'],
    ['environment-variables', Object.keys(cmd['environment-variables']).length, 'environment variables'],
    ['ports', Object.keys(cmd.ports).length, 'ports'],
    ['secrets', cmd.secrets.length, 'secrets'],
  ];
  for (const [key, count, words] of parts) {
    if (count > 0) {
      sink.error(`/${key}`, `command.${kind}.forbidden-field`,
        `${kind} commands cannot declare any ${words}; they get exactly an "input" mount at /input and an "output" mount at /output. Remove ${q(key)}`);
    }
  }
}

/** Limits Docker knows (`docker run --ulimit`); any other name makes the container fail to start. */
const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack'];

/** A ulimit the container can start with: a known name, integer limits (-1 or "unlimited" = none), soft ≤ hard. */
function validateUlimit(name: string, value: string, sink: DiagnosticSink): void {
  const at = pointer('/ulimits', name);
  const parts = value.split(':').map((p) => p.trim());
  if (value === '' || parts.length > 2) {
    // XNAT's message, then how to fix it.
    sink.error(at, 'command.ulimit.invalid', `incorrect ulimit format: ${value}. Should be "name" : "softlimit:hardlimit" or "name" : "limit"`);
    return;
  }
  if (!ULIMIT_NAMES.includes(name)) {
    sink.error(at, 'command.ulimit.unknown-name', `ulimit ${q(name)} is not a limit Docker knows, so the container cannot start; use one of ${listOf(ULIMIT_NAMES)}`);
  }
  const nums = parts.map((p) => (p === 'unlimited' || p === '-1' ? Infinity : /^\d+$/.test(p) ? Number(p) : NaN));
  if (nums.some((n) => Number.isNaN(n))) {
    sink.error(at, 'command.ulimit.not-a-number', `ulimit ${q(name)} has value ${q(value)}; each limit must be a whole number, -1 or "unlimited"`);
  } else if (nums.length === 2 && nums[0] > nums[1]) {
    sink.error(at, 'command.ulimit.soft-above-hard', `ulimit ${q(name)} has its soft limit ${parts[0]} above its hard limit ${parts[1]}, so the container cannot start; swap them`);
  }
}

function validateDocker(cmd: Command, sink: DiagnosticSink, skip: (o: object) => boolean, options: ValidateOptions): void {
  for (const [name, value] of Object.entries(cmd.ulimits)) validateUlimit(name, value, sink);
  cmd.secrets.forEach((secret, i) => {
    if (skip(secret)) return;
    const env = secret.destination.identifier;
    const at = pointer('/secrets', i, 'destination', 'identifier');
    // XNAT's messages (§1.11), then how to fix it.
    if (RESERVED_ENV.includes(env)) {
      sink.error(at, 'command.secret.reserved-name', `Secrets use reserved environment variable name ${q(env)}: XNAT sets it for the container. Choose another name`);
    }
    if (Object.prototype.hasOwnProperty.call(cmd['environment-variables'], env)) {
      sink.error(at, 'command.secret.env-conflict', `Secrets and environment variables both request name ${q(env)}: remove one of them`);
    }
    if (isBlank(env)) sink.error(at, 'command.secret.identifier-blank', 'secret destination needs an environment variable name in "identifier"');
    if (isBlank(secret.source.identifier)) {
      sink.error(pointer('/secrets', i, 'source', 'identifier'), 'command.secret.identifier-blank', 'secret source needs a system property name in "identifier"');
    }
    if (secret.source.type as string !== 'system-property') {
      sink.error(pointer('/secrets', i, 'source', 'type'), 'command.secret.unknown-type', `secret source type ${q(secret.source.type)} is unknown; use "system-property"`);
    }
    if (secret.destination.type as string !== 'environment-variable') {
      sink.error(pointer('/secrets', i, 'destination', 'type'), 'command.secret.unknown-type', `secret destination type ${q(secret.destination.type)} is unknown; use "environment-variable"`);
    }
  });

  const mountNames = cmd.mounts.map((m) => m.name);
  const mountDups = duplicates(mountNames);
  cmd.mounts.forEach((m, i) => {
    if (skip(m)) return;
    const at = pointer('/mounts', i);
    if (mountDups.has(i)) sink.error(`${at}/name`, 'command.mount.duplicate-name', `mount name ${q(m.name)} is used twice; mount names must be unique`);
    if (isBlank(m.name)) sink.error(`${at}/name`, 'command.mount.name-blank', 'the mount has no name; give it a non-blank "name"');
    if (isBlank(m.path)) {
      sink.error(`${at}/path`, 'command.mount.path-blank', `mount ${q(m.name)} has no path; set "path" to an absolute path in the container, e.g. "/input"`);
    } else if (!m.path.trimStart().startsWith('/') && !TEMPLATE_TOKEN.test(m.path)) {
      sink.error(`${at}/path`, 'command.mount.path-not-absolute', `mount path ${q(m.path)} is not absolute; Docker refuses relative container paths. Write ${q(`/${m.path.trim()}`)}`);
    } else if (/^\/+$/.test(m.path.trim())) {
      sink.error(`${at}/path`, 'command.mount.path-root', `mount ${q(m.name)} is at "/", which would hide the image's whole filesystem and cannot start; mount it at a directory such as "/input"`);
    } else if (m.path !== m.path.trim()) {
      sink.warning(`${at}/path`, 'command.mount.path-whitespace', `mount path ${q(m.path)} has leading or trailing spaces, which become part of the path; remove them`);
    }
  });

  const inputsByName = new Map<string, CommandInput>();
  const inputDups = duplicates(cmd.inputs.map((x) => x.name));
  cmd.inputs.forEach((input, i) => {
    if (skip(input)) return;
    if (!inputsByName.has(input.name)) inputsByName.set(input.name, input);
    validateCommandInput(input, pointer('/inputs', i), inputDups.has(i), sink);
  });

  const outputNames = cmd.outputs.map((o) => o.name);
  const outputDups = duplicates(outputNames);
  cmd.outputs.forEach((o, i) => {
    if (skip(o)) return;
    const at = pointer('/outputs', i);
    if (outputDups.has(i)) sink.error(`${at}/name`, 'command.output.duplicate-name', `output name ${q(o.name)} is used twice; output names must be unique`);
    if (!isBlank(o.mount) && !mountNames.includes(o.mount)) {
      sink.error(`${at}/mount`, 'command.output.unknown-mount', `output ${q(o.name)} refers to mount ${q(o.mount)}, which the command does not declare. Known mounts: ${listOf(mountNames)}`);
    }
    if (isBlank(o.name)) sink.error(`${at}/name`, 'command.output.name-blank', 'the output has no name; give it a non-blank "name"');
    if (isBlank(o.mount)) sink.error(`${at}/mount`, 'command.output.mount-blank', `output ${q(o.name)} has no mount; set "mount" to the name of the command mount that holds it`);
    if (!NAME_CHARS.test(o.name)) sink.error(`${at}/name`, 'command.output.name-invalid', `output name ${q(o.name)} may contain only letters, digits, _ and -`);
  });

  const wrapperDups = duplicates(cmd.xnat.map((w) => w.name));
  cmd.xnat.forEach((w, i) => {
    if (skip(w)) return;
    validateWrapper(cmd, w, pointer('/xnat', i), wrapperDups.has(i), inputsByName, sink, skip, options);
  });

  validateCommandLineKeys(cmd, sink);
}

function validateCommandInput(input: CommandInput, at: string, duplicate: boolean, sink: DiagnosticSink): void {
  const name = input.name;
  if (duplicate) sink.error(`${at}/name`, 'command.input.duplicate-name', `input name ${q(name)} is used twice; input names must be unique`);
  if (isBlank(name)) sink.error(`${at}/name`, 'command.input.name-blank', 'the input has no name; give it a non-blank "name"');
  else if (!NAME_CHARS.test(name)) sink.error(`${at}/name`, 'command.input.name-invalid', `input name ${q(name)} may contain only letters, digits, _ and -`);
  const delimiter = input['multiple-delimiter'];
  if (delimiter !== null && !(MULTIPLE_DELIMITERS as readonly string[]).includes(delimiter)) {
    sink.error(`${at}/multiple-delimiter`, 'command.input.multiple-delimiter-invalid', `multiple-delimiter ${q(delimiter)} is unknown; use one of ${listOf(MULTIPLE_DELIMITERS)}`);
  }
  const selectValues = input['select-values'];
  const isSelect = SELECT_TYPES.includes(input.type);
  if (isSelect && selectValues.length === 0) {
    sink.error(`${at}/select-values`, 'command.input.select-values-missing', `input ${q(name)} has type ${q(input.type)} but lists no "select-values"; list the allowed values. ${SELECT_NOTE}`);
  } else if (!isSelect && selectValues.length > 0) {
    sink.error(`${at}/select-values`, 'command.input.select-values-unexpected', `input ${q(name)} has "select-values" but type ${q(input.type)}; make it select-one or select-many, or remove "select-values"`);
  }
  const dflt = input['default-value'];
  if (dflt === null || selectValues.length === 0) return;
  const many = input.type === 'select-many' ? parseStringArray(dflt) : undefined;
  if (many !== undefined) {
    if (many.some((v) => !selectValues.includes(v))) {
      sink.error(`${at}/default-value`, 'command.input.default-not-in-select-values', `one or more default values in ${dflt} are not in select-values ${q(selectValues)}`);
    }
  } else if (!selectValues.includes(dflt)) {
    sink.error(`${at}/default-value`, 'command.input.default-not-in-select-values', `default value ${q(dflt)} is not one of the select-values ${q(selectValues)}`);
  }
}

function parseStringArray(text: string): string[] | undefined {
  if (!text.trimStart().startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Matchers repeat across commands and files; their syntax verdict depends on the text only. */
const matcherVerdicts = new Map<string, ReturnType<MatcherSyntaxCheck>>();

function validateWrapperInputCommon(
  input: WrapperExternalInput | WrapperDerivedInput,
  at: string,
  cmd: Command,
  sink: DiagnosticSink,
  options: ValidateOptions,
): void {
  const name = input.name;
  if (isBlank(name)) sink.error(`${at}/name`, 'wrapper.input.name-blank', 'the wrapper input has no name; give it a non-blank "name"');
  if (!WRAPPER_INPUT_TYPES_ACCEPTED.includes(input.type)) {
    sink.error(`${at}/type`, 'wrapper.input.unknown-type', `wrapper input ${q(name)} has unknown type ${q(input.type)}; use one of ${listOf(WRAPPER_INPUT_TYPES_ACCEPTED)} (case matters)`);
  }
  if (!isBlank(input['via-setup-command']) && isBlank(input['provides-files-for-command-mount'])) {
    sink.error(`${at}/via-setup-command`, 'wrapper.input.via-setup-without-mount', `wrapper input ${q(name)} sets "via-setup-command" but provides no files for a command mount; add "provides-files-for-command-mount" or remove "via-setup-command"`);
  }
  if (!isBlank(name) && !NAME_CHARS.test(name)) sink.error(`${at}/name`, 'wrapper.input.name-invalid', `wrapper input name ${q(name)} may contain only letters, digits, _ and -`);

  const target = input['provides-value-for-command-input'];
  if (!isBlank(target) && !cmd.inputs.some((x) => x.name === target)) {
    sink.warning(`${at}/provides-value-for-command-input`, 'wrapper.input.unknown-command-input',
      `wrapper input ${q(name)} provides a value for command input ${q(target)}, which the command does not declare, so the value goes nowhere. Known command inputs: ${listOf(cmd.inputs.map((x) => x.name))}`);
  }
  const mount = input['provides-files-for-command-mount'];
  if (!isBlank(mount) && !cmd.mounts.some((m) => m.name === mount)) {
    sink.warning(`${at}/provides-files-for-command-mount`, 'wrapper.input.unknown-mount',
      `wrapper input ${q(name)} provides files for mount ${q(mount)}, which the command does not declare, so no files are staged. Known mounts: ${listOf(cmd.mounts.map((m) => m.name))}`);
  }
  const matcher = input.matcher;
  if (options.matcherCheck && !isBlank(matcher) && matcher !== null) {
    const neutral = neutraliseTemplates(matcher);
    let result = matcherVerdicts.get(neutral);
    if (result === undefined) {
      try {
        result = options.matcherCheck(neutral);
      } catch (e) {
        result = { ok: false, message: e instanceof Error ? e.message : String(e), position: 0 };
      }
      if (matcherVerdicts.size > 5000) matcherVerdicts.clear();
      matcherVerdicts.set(neutral, result);
    }
    if (!result.ok) {
      sink.error(`${at}/matcher`, 'wrapper.input.matcher-syntax', `matcher ${q(matcher)} is not a valid JSONPath filter: ${result.message} (at character ${result.position + 1})`);
    }
  }
}

function validateWrapper(
  cmd: Command,
  w: CommandWrapper,
  at: string,
  duplicate: boolean,
  commandInputs: Map<string, CommandInput>,
  sink: DiagnosticSink,
  skip: (o: object) => boolean,
  options: ValidateOptions,
): void {
  const wname = q(w.name);
  if (duplicate) sink.error(`${at}/name`, 'wrapper.duplicate-name', `wrapper name ${wname} is used twice; wrapper names must be unique within a command`);

  const isSelectTarget = (target: string | null): boolean => {
    const ci = target === null ? undefined : commandInputs.get(target);
    return ci !== undefined && (SELECT_TYPES.includes(ci.type) || ci['select-values'].length > 0);
  };

  const declared = new Map<string, WrapperExternalInput | WrapperDerivedInput>();
  const derivedNames = new Set<string>();
  w['external-inputs'].forEach((input, i) => {
    if (skip(input)) return;
    const p = pointer(at, 'external-inputs', i);
    if (declared.has(input.name)) sink.error(`${p}/name`, 'wrapper.external-input.duplicate-name', `wrapper ${wname}: external input name ${q(input.name)} is used twice; wrapper input names must be unique`);
    declared.set(input.name, input);
    if (isSelectTarget(input['provides-value-for-command-input'])) {
      sink.error(`${p}/provides-value-for-command-input`, 'wrapper.input.provides-select', `wrapper ${wname}: external input ${q(input.name)} provides values for command input ${q(input['provides-value-for-command-input'])}, which is a select type. ${SELECT_NOTE}`);
    }
    validateWrapperInputCommon(input, p, cmd, sink, options);
  });

  w['derived-inputs'].forEach((input, i) => {
    if (skip(input)) return;
    const p = pointer(at, 'derived-inputs', i);
    const parent = input['derived-from-wrapper-input'];
    if (declared.has(input.name)) sink.error(`${p}/name`, 'wrapper.derived-input.duplicate-name', `wrapper ${wname}: derived input name ${q(input.name)} is used twice; wrapper input names must be unique`);
    if (!isBlank(parent) && parent === input.name) {
      sink.error(`${p}/derived-from-wrapper-input`, 'wrapper.derived-input.self-parent', `wrapper ${wname}: derived input ${q(input.name)} is derived from itself; name another wrapper input declared before it`);
    } else if (!isBlank(parent) && !declared.has(parent)) {
      sink.error(`${p}/derived-from-wrapper-input`, 'wrapper.derived-input.unknown-parent', `wrapper ${wname}: derived input ${q(input.name)} is derived from ${q(parent)}, which is not a wrapper input declared before it. Known inputs: ${listOf([...declared.keys()])}`);
    }
    declared.set(input.name, input);
    derivedNames.add(input.name);
    if (isSelectTarget(input['provides-value-for-command-input'])) {
      sink.error(`${p}/provides-value-for-command-input`, 'wrapper.input.provides-select', `wrapper ${wname}: derived input ${q(input.name)} provides values for command input ${q(input['provides-value-for-command-input'])}, which is a select type. ${SELECT_NOTE}`);
    }
    validateWrapperInputCommon(input, p, cmd, sink, options);
    if (isBlank(parent)) sink.error(`${p}/derived-from-wrapper-input`, 'wrapper.derived-input.parent-blank', `derived input ${q(input.name)} does not say what it is derived from; set "derived-from-wrapper-input" to an earlier wrapper input`);
    if (input.multiple && !isBlank(input['provides-files-for-command-mount'])) {
      sink.error(`${p}/multiple`, 'wrapper.derived-input.multiple-with-files', `derived input ${q(input.name)} is "multiple", so it cannot provide files for a command mount; mount its parent instead`);
    }
    if (input.multiple && isBlank(input['provides-value-for-command-input'])) {
      sink.error(`${p}/multiple`, 'wrapper.derived-input.multiple-without-value', `derived input ${q(input.name)} is "multiple", so it must provide values for a command input; set "provides-value-for-command-input"`);
    }
  });

  const outputNames = cmd.outputs.map((o) => o.name);
  const handlerNames: string[] = [];
  const handled = new Set<string>();
  w['output-handlers'].forEach((h, i) => {
    if (skip(h)) return;
    const p = pointer(at, 'output-handlers', i);
    const accepts = h['accepts-command-output'];
    const parent = h['as-a-child-of'];
    handled.add(accepts);
    if (!isBlank(accepts) && !outputNames.includes(accepts)) {
      sink.error(`${p}/accepts-command-output`, 'wrapper.output-handler.unknown-output', `wrapper ${wname}: output handler ${q(h.name)} refers to command output ${q(accepts)}, which the command does not declare. Known outputs: ${listOf(outputNames)}`);
    }
    if (!isBlank(parent)) {
      const input = declared.get(parent);
      if (input === undefined && !handlerNames.includes(parent)) {
        sink.error(`${p}/as-a-child-of`, 'wrapper.output-handler.unknown-parent', `wrapper ${wname}: output handler ${q(h.name)} uploads "as-a-child-of" ${q(parent)}, which is neither a wrapper input nor an earlier output handler. Known inputs: ${listOf([...declared.keys()])}. Known handlers (so far): ${listOf(handlerNames)}`);
      } else if (input !== undefined && derivedNames.has(parent)) {
        const d = input as WrapperDerivedInput;
        if (d.multiple) {
          sink.error(`${p}/as-a-child-of`, 'wrapper.output-handler.parent-multiple', `wrapper ${wname}: output handler ${q(h.name)} uploads "as-a-child-of" ${q(parent)}, but that input allows multiple values; upload to a single-valued input`);
        } else if (d['derived-from-xnat-object-property'] !== null && d['derived-from-xnat-object-property'] !== 'uri') {
          sink.error(`${p}/as-a-child-of`, 'wrapper.output-handler.parent-not-uri', `wrapper ${wname}: output handler ${q(h.name)} uploads "as-a-child-of" ${q(parent)}, but that input's value is its ${q(d['derived-from-xnat-object-property'])} property; the upload needs a "uri". Use the object input itself`);
        }
      }
    }
    if (handlerNames.includes(h.name)) sink.error(`${p}/name`, 'wrapper.output-handler.duplicate-name', `wrapper ${wname}: output handler name ${q(h.name)} is used twice; handler names must be unique`);
    handlerNames.push(h.name);
    if (isBlank(h.name)) sink.error(`${p}/name`, 'wrapper.output-handler.name-blank', 'the output handler has no name; give it a non-blank "name"');
    if (isBlank(accepts)) sink.error(`${p}/accepts-command-output`, 'wrapper.output-handler.output-blank', `output handler ${q(h.name)} needs "accepts-command-output": the name of a command output`);
    if (isBlank(parent)) sink.error(`${p}/as-a-child-of`, 'wrapper.output-handler.parent-blank', `output handler ${q(h.name)} needs "as-a-child-of": the wrapper input whose object receives the upload`);
    const htype = h.type as string;
    if (!(OUTPUT_HANDLER_TYPES as readonly string[]).includes(htype)) {
      sink.error(`${p}/type`, 'wrapper.output-handler.unknown-type', `output handler ${q(h.name)} has unknown type ${q(htype)}; use one of ${listOf(OUTPUT_HANDLER_TYPES)} (case matters)`);
    } else if (htype === 'Resource' && isBlank(h.label)) {
      sink.error(`${p}/label`, 'wrapper.output-handler.label-blank', `output handler ${q(h.name)} creates a Resource, so it needs a "label" (the resource name, e.g. "NIFTI")`);
    }
    if (!NAME_CHARS.test(h.name)) sink.error(`${p}/name`, 'wrapper.output-handler.name-invalid', `output handler name ${q(h.name)} may contain only letters, digits, _ and -`);
  });

  cmd.outputs.forEach((o) => {
    if (!handled.has(o.name)) {
      sink.error(`${at}/output-handlers`, 'wrapper.output.unhandled', `wrapper ${wname}: command output ${q(o.name)} is not handled by any output handler; add a handler with "accepts-command-output": ${q(o.name)}`);
    }
  });
  if (isBlank(w.name)) sink.error(`${at}/name`, 'wrapper.name-blank', 'the wrapper has no name; give it a non-blank "name"');
}

/** Warns about #KEY# tokens of the command line that no input defines: they reach the container literally. */
function validateCommandLineKeys(cmd: Command, sink: DiagnosticSink): void {
  const line = cmd['command-line'];
  if (line === null || !line.includes('#')) return;
  const keys = new Set<string>();
  for (const input of cmd.inputs) keys.add(replacementKeyOf(input));
  for (const w of cmd.xnat) {
    for (const input of [...w['external-inputs'], ...w['derived-inputs']]) keys.add(replacementKeyOf(input));
  }
  const reported = new Set<string>();
  for (const m of line.matchAll(/#[A-Za-z0-9_-]+#/g)) {
    const token = m[0];
    if (keys.has(token) || reported.has(token)) continue;
    reported.add(token);
    sink.warning('/command-line', 'command.command-line.unknown-key', `the command line uses ${token}, but no input has that replacement key, so it stays in the command line as is; define an input named ${q(token.slice(1, -1))} or remove it`);
  }
}

/**
 * Template tokens (#key# and ^jsonpath^) are replaced before a matcher is evaluated, so their syntax is not
 * the matcher's: each becomes a neutral literal, `x` inside a quoted string and `0` outside one.
 */
export function neutraliseTemplates(matcher: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < matcher.length; i++) {
    const c = matcher[i];
    if (quote !== null) {
      if (c === '\\') {
        out += matcher.slice(i, i + 2);
        i++;
        continue;
      }
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    }
    if (c === '#' || c === '^') {
      const re = c === '#' ? /^#[A-Za-z0-9_-]+#/ : /^\^[^^]+\^/;
      const m = re.exec(matcher.slice(i));
      if (m) {
        out += quote === null ? '0' : 'x';
        i += m[0].length - 1;
        continue;
      }
    }
    out += c;
  }
  return out;
}
