/**
 * What the engine needs to run one resolved command, frozen at launch time and stored with the run.
 * It is produced from resolution's ResolvedCommand (see `resolution-adapter.ts`) so that the engine keeps
 * working unchanged if the resolver's shape grows.
 */

export interface RunMount {
  name: string;
  writable: boolean;
  containerPath: string;
  /** Directory on this machine to mount (read-only mounts: straight from the archive). */
  hostPath: string | null;
  /** Input files for a writable mount are copied from here into the run's build directory. */
  inputFilesPath?: string | null;
}

export interface RunOutput {
  name: string;
  /** The command output this comes from. */
  fromCommandOutput: string;
  fromOutputHandler: string;
  type: string;
  required: boolean;
  mount: string;
  path: string | null;
  glob: string | null;
  label: string | null;
  format: string | null;
  description: string | null;
  content: string | null;
  tags: string[];
  /** Name of the wrapper input (or earlier handler) whose object receives this output. */
  handledBy: string;
  /** The archive URI that `handledBy` resolved to at launch time, when known. */
  parentUri?: string | null;
}

export interface RunInput {
  name: string;
  type: 'raw' | 'wrapper-external' | 'wrapper-derived' | 'command';
  value: string;
  sensitive: boolean;
}

export interface RunSpec {
  commandId: number;
  commandName: string;
  wrapperId: number;
  wrapperName: string;
  image: string;
  commandLine: string;
  overrideEntrypoint: boolean;
  workingDirectory: string | null;
  environment: Record<string, string>;
  mounts: RunMount[];
  outputs: RunOutput[];
  inputs: RunInput[];
  /** Wrapper input name → archive URI, for output handlers. */
  wrapperInputUris: Record<string, string>;
  reserveMemory: number | null;
  limitMemory: number | null;
  limitCpu: number | null;
  gpus: string | null;
  shmSize: number | null;
  ulimits: Record<string, string>;
  containerUser: string | null;
  containerLabels: Record<string, string>;
  /** Network the command asked for (`none` unless it or the server settings say otherwise). */
  network: string | null;
  ports: Record<string, string>;
  parentSourceObjectName: string | null;
  setupCommands: SetupSpec[];
}

export interface SetupSpec {
  image: string;
  commandLine: string;
  /** The mount whose directory the setup container prepares (mounted at `/output`, inputs at `/input`). */
  targetMount: string;
  sourcePath: string | null;
}
