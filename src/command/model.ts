/**
 * The command model: the single source of truth for the shape of an XNAT command.
 *
 * Each TypeBox schema below describes the NORMALISED command, i.e. what `parseCommand*` returns for a valid
 * command and what XNAT's `GET /xapi/commands/{id}` would return after persistence: keys are XNAT's kebab-case
 * keys, strings have been coerced to booleans and numbers, legacy spellings are mapped to the current ones and
 * XNAT's defaults are filled in. Each field's `default` annotation is the value used when the key is absent
 * or null; the comment next to it says why when it is not obvious.
 *
 * From the same schemas we derive
 *   - the TypeScript types (`Static<...>`), exported below;
 *   - the lenient normaliser (`normalise.ts` walks these schemas: `default`, `x-xcs-aliases`);
 *   - the published JSON Schema of the INPUT form (`json-schema.ts` loosens these schemas the way XNAT's
 *     JSON mapper does: string booleans, numeric strings, nulls, legacy keys).
 *
 * Custom annotations: `x-xcs-aliases` lists legacy key spellings XNAT still reads for a field; `x-xcs-open`
 * marks an enumeration whose unknown values XNAT stores as the default instead of rejecting them.
 */
import { Type, type Static, type TLiteral, type TSchema } from 'typebox';

// ---------------------------------------------------------------- enumerations (§1.9)

export const COMMAND_TYPES = ['docker', 'docker-setup', 'docker-wrapup'] as const;
export const VISIBILITIES = ['public', 'private', 'protected'] as const;
export const COMMAND_INPUT_TYPES = ['string', 'boolean', 'number', 'select-one', 'select-many', 'file'] as const;
export const MULTIPLE_DELIMITERS = ['quoted-space', 'space', 'comma', 'flag'] as const;
/** Wrapper input types. XNAT's validator also knows lower-case `file`, but persistence stores it as `string`. */
export const WRAPPER_INPUT_TYPES = [
  'string', 'boolean', 'number', 'Directory', 'File[]', 'File', 'Project', 'ProjectAsset', 'Subject',
  'SubjectAssessor', 'Session', 'Scan', 'Assessor', 'Resource', 'Config',
] as const;
/** Types XNAT's validator accepts on a wrapper input (the persisted types plus lower-case `file`). */
export const WRAPPER_INPUT_TYPES_ACCEPTED: readonly string[] = [...WRAPPER_INPUT_TYPES, 'file'];
export const OUTPUT_HANDLER_TYPES = ['Resource', 'Assessor', 'Scan'] as const;
export const SECRET_SOURCE_TYPES = ['system-property'] as const;
export const SECRET_DESTINATION_TYPES = ['environment-variable'] as const;

export type CommandType = (typeof COMMAND_TYPES)[number];
export type Visibility = (typeof VISIBILITIES)[number];
export type CommandInputType = (typeof COMMAND_INPUT_TYPES)[number];
export type MultipleDelimiter = (typeof MULTIPLE_DELIMITERS)[number];
export type WrapperInputType = (typeof WRAPPER_INPUT_TYPES)[number];
export type OutputHandlerType = (typeof OUTPUT_HANDLER_TYPES)[number];

// ---------------------------------------------------------------- field builders

function oneOf<const T extends readonly string[]>(values: T, description: string, dflt: T[number]) {
  return Type.Union(values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T[number]>], {
    description,
    default: dflt,
  });
}
function nullable<T extends TSchema>(schema: T, description: string, extra: Record<string, unknown> = {}) {
  return Type.Union([schema, Type.Null()], { description, default: null, ...extra });
}
const text = (description: string, extra: Record<string, unknown> = {}) =>
  Type.String({ description, default: '', ...extra });
const optText = (description: string, extra: Record<string, unknown> = {}) =>
  nullable(Type.String(), description, extra);
const flag = (description: string, dflt: boolean) => Type.Boolean({ description, default: dflt });
const optFlag = (description: string) => nullable(Type.Boolean(), description);
const list = <T extends TSchema>(items: T, description: string) => Type.Array(items, { description, default: [] });
const stringMap = (description: string) =>
  Type.Record(Type.String(), Type.String(), { description, default: {} });

// ---------------------------------------------------------------- command parts

export const CommandMountSchema = Type.Object(
  {
    name: text('Name of the mount; wrapper inputs and command outputs refer to it.'),
    // Absent, null or "false" => false (read-only).
    writable: flag('Whether the container may write to the mount. Accepts "true"/"false" strings.', false),
    path: text('Absolute path inside the container where the mount appears. Templated.'),
  },
  { title: 'Mount', description: 'A directory of the container that files are staged into or collected from.' },
);

export const CommandInputSchema = Type.Object(
  {
    name: text('Name of the input; only letters, digits, _ and -.'),
    label: optText('Label shown in the launch UI.'),
    description: optText('Help text shown in the launch UI.'),
    // Absent => string. On persistence XNAT stores any unknown type (e.g. "int") as string; `File` as file.
    type: { ...oneOf(COMMAND_INPUT_TYPES, 'Input type. `number` behaves like `string`.', 'string'), 'x-xcs-open': true },
    // Absent => false: command inputs are optional unless they say otherwise (unlike wrapper inputs).
    required: flag('Whether a value is required at launch. Default false.', false),
    matcher: optText('Stored and configurable, but never applied to command inputs by XNAT.'),
    'default-value': optText('Default value. For select-many may be a JSON array string such as ["a","b"].'),
    // Null means "#<name>#"; see `replacementKeyOf`.
    'replacement-key': optText('Token replaced by the value in templated fields. Default #<name>#.'),
    'command-line-flag': optText('Flag written before the value on the command line, e.g. --out.'),
    // Null is treated as a single space when the command line is built.
    'command-line-separator': optText('Separator between flag and value. Default " ".'),
    'true-value': optText('Text written for a boolean input that is true.'),
    'false-value': optText('Text written for a boolean input that is false.'),
    sensitive: optFlag('Whether the value is masked in the container API.'),
    'select-values': list(Type.String(), 'Allowed values of a select-one/select-many input.'),
    // Null (and, at run time, any unknown value) means space.
    'multiple-delimiter': nullable(
      oneOf(MULTIPLE_DELIMITERS, 'How several values are joined.', 'space'),
      'How several values are joined: quoted-space, space, comma or flag. Default space.',
    ),
  },
  { title: 'Command input', description: 'A value the command line or environment needs.' },
);

export const CommandOutputSchema = Type.Object(
  {
    name: text('Name of the output; output handlers refer to it.'),
    description: optText('What the output is.'),
    // Absent => false (XNAT persists null as false, whatever its docs say).
    required: flag('Whether the run fails when the output is missing. Default false.', false),
    mount: text('Name of the command mount that holds the output.'),
    path: optText('Path of the output, relative to the mount. Templated.'),
    glob: optText('Glob selecting files under path (XNAT stores it but ignores it; XCS honours it).'),
  },
  { title: 'Command output', description: 'Files the container leaves in a mount to be uploaded.' },
);

const wrapperInputFields = {
  name: text('Name of the input; only letters, digits, _ and -.'),
  label: optText('Label shown in the launch UI.'),
  description: optText('Help text shown in the launch UI.'),
  // Absent => string. Persistence stores unknown types (including lower-case "file") as string.
  type: oneOf(WRAPPER_INPUT_TYPES, 'Type of value: an XNAT object type (Session, Scan, Resource...) or a scalar.', 'string'),
  matcher: optText('Jayway JSONPath filter body selecting candidate objects, e.g. @.label == \'DICOM\'. Templated.'),
  'default-value': optText('Default value.'),
  'user-settable': optFlag('Whether the user may change the value at launch (null behaves as true).'),
  'replacement-key': optText('Token replaced by the value in templated fields. Default #<name>#.'),
  // Absent => true: XNAT reads `required == null || required` for wrapper inputs.
  required: flag('Whether the input must resolve to a value. Default true.', true),
  // Absent => true.
  'load-children': flag('Whether the children of the object are loaded for derived inputs. Default true.', true),
  sensitive: optFlag('Whether the value is masked in the container API.'),
  'provides-value-for-command-input': optText('Name of the command input that receives this value.'),
  'provides-files-for-command-mount': optText('Name of the command mount that receives this object\'s files.'),
  'via-setup-command': optText('Setup command preparing the files: repo/image:tag[:command-name].'),
};

export const WrapperExternalInputSchema = Type.Object(wrapperInputFields, {
  title: 'External wrapper input',
  description: 'A value given at launch: usually the XNAT object the wrapper runs on.',
});

export const WrapperDerivedInputSchema = Type.Object(
  {
    ...wrapperInputFields,
    'derived-from-wrapper-input': text('Name of the parent wrapper input (declared earlier).'),
    'derived-from-xnat-object-property': optText('Property of the object to use as the value, e.g. label, id, uri.'),
    // Absent => false.
    multiple: flag('Whether every matching object is used, not just one. Default false.', false),
    parser: optText('XPath or regular expression applied to the pulled string.'),
  },
  { title: 'Derived wrapper input', description: 'A value derived from another wrapper input (a child or property).' },
);

export const OutputHandlerSchema = Type.Object(
  {
    name: text('Name of the handler; only letters, digits, _ and -.'),
    'accepts-command-output': text('Name of the command output this handler uploads.'),
    'as-a-child-of': text('Wrapper input (or earlier handler) whose object receives the upload.', {
      'x-xcs-aliases': ['as-a-child-of-wrapper-input'],
    }),
    'via-wrapup-command': optText('Wrapup command run before upload: repo/image:tag[:command-name].'),
    // Absent => Resource.
    type: oneOf(OUTPUT_HANDLER_TYPES, 'What is created: Resource (default), Assessor or Scan.', 'Resource'),
    'xsi-type': optText('XSI type of the created object, for permission checks.'),
    label: optText('Resource label (templated); required for type Resource.'),
    format: optText('Resource format.'),
    description: optText('Resource description.'),
    content: optText('Resource content.'),
    tags: list(Type.String(), 'Resource tags (each templated).'),
  },
  { title: 'Output handler', description: 'Uploads a command output to the archive.' },
);

export const CommandWrapperSchema = Type.Object(
  {
    id: Type.Integer({ description: 'Server-assigned id; ignored on create.', default: 0 }),
    name: text('Name of the wrapper; unique within the command.'),
    label: optText('Label shown in the launch UI.'),
    description: optText('What the wrapper does.'),
    contexts: list(Type.String(), 'XSI types the wrapper can be launched on, e.g. xnat:imageSessionData.'),
    'external-inputs': list(WrapperExternalInputSchema, 'Inputs given at launch.'),
    'derived-inputs': list(WrapperDerivedInputSchema, 'Inputs derived from other wrapper inputs.'),
    'output-handlers': list(OutputHandlerSchema, 'How outputs are uploaded.'),
  },
  { title: 'Wrapper', description: 'How XNAT objects feed the command and where its outputs go (an `xnat` entry).' },
);

export const CommandSecretSchema = Type.Object(
  {
    source: Type.Object(
      {
        type: oneOf(SECRET_SOURCE_TYPES, 'Where the secret comes from.', 'system-property'),
        identifier: text('Name of the system property.'),
      },
      { title: 'Secret source', description: 'Where the secret value is read from.' },
    ),
    destination: Type.Object(
      {
        type: oneOf(SECRET_DESTINATION_TYPES, 'How the secret reaches the container.', 'environment-variable'),
        identifier: text('Name of the environment variable.'),
      },
      { title: 'Secret destination', description: 'How the secret is given to the container.' },
    ),
  },
  { title: 'Secret', description: 'A secret injected into the container at creation, never stored with it.' },
);

/** Failure classes a retry policy can name (XCS addition; `runtime/retry/retry-policy.ts` says which failures fall in each). */
export const RETRY_CLASSES = ['lost', 'oom', 'engine-error', 'exit-code', 'timeout'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number];
/** What `retry-on` means when absent: every class but `timeout` (a hung tool usually hangs again). */
export const DEFAULT_RETRY_ON: readonly RetryClass[] = ['lost', 'oom', 'engine-error', 'exit-code'];

// Numbers are `Number`, not `Integer`, so that 2.5 attempts is reported instead of silently truncated.
export const RetryPolicySchema = Type.Object(
  {
    'maximum-attempts': Type.Number({ description: 'Attempts in all, the first included: an integer from 1 to 20. Default 1 (no retry).', default: 1 }),
    'initial-interval': text('Delay before the first retry, e.g. "10s", "5m", "1h30m". Default "1s".', { default: '1s' }),
    'backoff-coefficient': Type.Number({ description: 'Each further delay is the previous one times this (at least 1). Default 2.', default: 2 }),
    'maximum-interval': optText('Longest delay between attempts. Default 100 times initial-interval.'),
    // Null means DEFAULT_RETRY_ON; the normaliser cannot carry a non-empty list as a default.
    'retry-on': nullable(Type.Array(Type.String()), `Failure classes retried: ${RETRY_CLASSES.join(', ')}. Default all but timeout.`),
    'retryable-exit-codes': list(Type.Number(), 'With exit-code: only these exit codes are retried (default: any non-zero code).'),
    'non-retryable-exit-codes': list(Type.Number(), 'Exit codes never retried (the tool says the failure is permanent).'),
    'oom-memory-factor': nullable(Type.Number(), 'After an out-of-memory kill, the next attempt gets limit-memory times this (at least 1).'),
    'oom-memory-limit': optText('Cap of the raised memory limit, e.g. "16g" or "4096m" (a bare number is MiB).'),
  },
  {
    title: 'Retry policy',
    description: 'XCS addition (XNAT ignores it): when and how often a failed run is launched again, as a new run.',
  },
);

// An XCS addition (XNAT ignores it): test cases kept with the command, run by `xcs test` through `xcs exec`.
export const TestOutputSchema = Type.Object(
  {
    path: text('A file the run must leave, relative to the output folder: a mount name, then a path or glob, e.g. "nifti-out/*.nii".'),
    md5: optText('MD5 checksum (hex) every matching file must have.'),
    matches: optText('Regular expression that must match somewhere in the text of every matching file.'),
  },
  { title: 'Expected output file', description: 'A file a test case expects after the run, optionally with its checksum or content.' },
);

export const CommandTestSchema = Type.Object(
  {
    name: text('Name of the test case.'),
    wrapper: optText('Wrapper to run (default: the only one).'),
    inputs: stringMap('Input values by input name, as given to xcs exec --input.'),
    mounts: stringMap('Fixture folders by mount name, relative to the command file.'),
    'exit-code': Type.Number({ description: 'Exit code the tool must end with. Default 0.', default: 0 }),
    outputs: list(TestOutputSchema, 'Files the run must leave.'),
  },
  { title: 'Test case', description: 'XCS addition: a local run of the command (xcs test) and what it must produce.' },
);

export const CommandSchema = Type.Object(
  {
    id: Type.Integer({ description: 'Server-assigned id; ignored on create.', default: 0 }),
    name: text('Name of the command (required). Unique together with image and version.'),
    label: optText('Label shown in the UI.'),
    description: optText('What the command does.'),
    version: optText('Version of the command.'),
    'schema-version': optText('Version of the command format, e.g. "1.0" (informational).'),
    'info-url': optText('Where to read about the tool.'),
    image: text('Docker image with tag, e.g. xnat/dcm2niix:1.0.'),
    'container-name': optText('Name given to the container (templated).'),
    // Absent => docker.
    type: oneOf(COMMAND_TYPES, 'docker (default), docker-setup or docker-wrapup.', 'docker'),
    index: optText('Image registry index (informational).'),
    hash: optText('Image id; set on label import.'),
    'working-directory': optText('Working directory in the container (templated).'),
    'command-line': optText('Command line template; #KEY# tokens are replaced by input values.'),
    'command-metadata': Type.Unknown({ description: 'Opaque JSON echoed in the launch UI.', default: null }),
    // Absent or null => false: the image entrypoint is kept.
    'override-entrypoint': flag('Whether the image entrypoint is replaced by the command line. Default false.', false),
    mounts: list(CommandMountSchema, 'Directories staged into or collected from the container.'),
    'environment-variables': stringMap('Environment of the container; keys and values are templated.'),
    ports: stringMap('Container port to host port; keys and values are templated.'),
    inputs: list(CommandInputSchema, 'Values the command needs.'),
    outputs: list(CommandOutputSchema, 'Files the command produces.'),
    xnat: list(CommandWrapperSchema, 'Wrappers: how XNAT objects feed the command.'),
    'reserve-memory': nullable(Type.Integer(), 'Memory reserved for the container, in MiB.'),
    'limit-memory': nullable(Type.Integer(), 'Memory limit of the container, in MiB.'),
    'limit-cpu': nullable(Type.Number(), 'CPU limit, in CPUs (e.g. 1.5).'),
    runtime: optText('Docker runtime, e.g. nvidia.'),
    'ipc-mode': optText('Docker IPC mode.', { 'x-xcs-aliases': ['ipcMode'] }),
    // Absent or null => false.
    'auto-remove': flag('Whether Docker removes the container when it exits. Default false.', false),
    'shm-size': nullable(Type.Integer(), 'Size of /dev/shm, in bytes.'),
    network: optText('Docker network the container joins.'),
    // XNAT returns null when absent; we return {} so readers need no null check.
    'container-labels': stringMap('Labels set on the container; values are templated.'),
    gpus: optText('Stored and echoed only; no backend uses it.'),
    // XNAT returns null when absent; we return {}.
    'generic-resources': stringMap('Swarm generic resources, e.g. {"gpu": "1"}.'),
    // XNAT returns null when absent; we return {}.
    ulimits: stringMap('Ulimits: "name": "soft:hard" or "name": "limit".'),
    secrets: list(CommandSecretSchema, 'Secrets injected into the container.'),
    // Absent => public.
    visibility: oneOf(VISIBILITIES, 'Who sees the command: public (default), private or protected.', 'public'),
    // XCS additions; XNAT ignores unknown keys, so a command using them stays portable.
    retry: nullable(RetryPolicySchema, 'XCS addition: retry policy of failed runs (absent: no retry).'),
    'max-runtime': optText('XCS addition: longest a run may stay Running, e.g. "2h" or "1h30m"; it is then killed and ends Failed (Timeout).'),
    'xcs-tests': nullable(Type.Array(CommandTestSchema), 'XCS addition: test cases run by xcs test (XNAT ignores them; xcs label leaves them out).'),
  },
  {
    $id: 'https://xcs.invalid/schema/command.schema.json',
    title: 'XNAT container command',
    description: 'A command of the XNAT Container Service: an image, how to run it, and its wrappers.',
  },
);

export type CommandMount = Static<typeof CommandMountSchema>;
export type CommandInput = Static<typeof CommandInputSchema>;
export type CommandOutput = Static<typeof CommandOutputSchema>;
export type WrapperExternalInput = Static<typeof WrapperExternalInputSchema>;
export type WrapperDerivedInput = Static<typeof WrapperDerivedInputSchema>;
export type WrapperInput = WrapperExternalInput | WrapperDerivedInput;
export type OutputHandler = Static<typeof OutputHandlerSchema>;
export type CommandWrapper = Static<typeof CommandWrapperSchema>;
export type CommandSecret = Static<typeof CommandSecretSchema>;
export type RetryPolicyJson = Static<typeof RetryPolicySchema>;
export type CommandTest = Static<typeof CommandTestSchema>;
export type TestOutput = Static<typeof TestOutputSchema>;
export type Command = Static<typeof CommandSchema>;

/** The token an input's value replaces in templates: its `replacement-key`, or `#name#` when that is null. */
export function replacementKeyOf(input: { name: string; 'replacement-key': string | null }): string {
  return input['replacement-key'] ?? `#${input.name}#`;
}

/** Whether a wrapper input is a derived one. */
export function isDerivedInput(input: WrapperInput): input is WrapperDerivedInput {
  return 'derived-from-wrapper-input' in input;
}

/** Finds a wrapper by name, or by id when given a number or a decimal string. */
export function findWrapper(command: Command, nameOrId: string | number): CommandWrapper | undefined {
  if (typeof nameOrId === 'number') return command.xnat.find((w) => w.id === nameOrId);
  return (
    command.xnat.find((w) => w.name === nameOrId) ??
    (/^\d+$/.test(nameOrId) ? command.xnat.find((w) => w.id === Number(nameOrId)) : undefined)
  );
}
