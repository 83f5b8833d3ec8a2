/**
 * The contract between the run engine and whatever runs containers (Docker now; Swarm and Kubernetes later).
 *
 * The run engine speaks only this interface. Everything engine-specific — how a command line becomes a
 * process, how memory limits are expressed, how status changes are observed — stays inside a backend, so a
 * new backend must fit without changing the run engine. `conformance/backend.case.ts` is the executable
 * form of this contract: every backend runs it.
 */

export type BackendKind = 'docker' | 'swarm' | 'slurm' | 'kubernetes';

/** What a backend can and cannot do, so the run engine (and the conformance suite) can adapt instead of guess. */
export interface BackendCapabilities {
  /** stdout and stderr can be read apart (Kubernetes cannot: everything is stdout). */
  readonly separateStderr: boolean;
  /** The backend tells when a container was killed for exceeding its memory limit. */
  readonly oomDetection: boolean;
  /** Containers can join the host's network (needed by containers that call back to XCS on localhost). */
  readonly hostNetwork: boolean;
  /** `ulimits` in the spec are applied. */
  readonly ulimits: boolean;
  /** `resources.gpus` is applied (device requests). */
  readonly gpus: boolean;
  /** Log lines can carry the engine's timestamps (`logs({timestamps: true})`). */
  readonly logTimestamps: boolean;
}

/** A host directory or file shown inside the container. */
export interface MountSpec {
  /** Path on the machine that runs the engine (already path-translated by the caller). */
  hostPath: string;
  /** Absolute path inside the container. */
  containerPath: string;
  writable: boolean;
}

/** Resource requests and limits, in XNAT's units. Unset means "engine default". */
export interface ResourceSpec {
  /** Soft reservation in MiB (XNAT `reserve-memory`). */
  reserveMemoryMiB?: number;
  /** Hard limit in MiB (XNAT `limit-memory`); exceeding it gets the container OOM-killed. */
  limitMemoryMiB?: number;
  /** CPU limit in cores, fractional allowed (XNAT `limit-cpu`). */
  limitCpu?: number;
  /** Size of /dev/shm in bytes (XNAT `shm-size`). */
  shmSizeBytes?: number;
  /** `name → "soft:hard"` or `name → "limit"` (both soft and hard), as in XNAT `ulimits`. */
  ulimits?: Record<string, string>;
  /** OCI runtime, e.g. `nvidia` (XNAT `runtime`). */
  runtime?: string;
  /** IPC namespace mode, e.g. `host`, `shareable` (XNAT `ipc-mode`). */
  ipcMode?: string;
  /** GPUs: `all`, a count (`"2"`), or device ids (`"device=0,1"` / `"0,1"`). XNAT only echoes this; we apply it. */
  gpus?: string;
  /** Named resources (XNAT `generic-resources`); Swarm and Kubernetes use them, Docker container mode cannot. */
  genericResources?: Record<string, string>;
}

/**
 * How a container is confined beyond the defaults every backend applies (no privileges, `no-new-privileges`,
 * every capability dropped, a process limit). Absent fields keep the defaults.
 */
export interface SecuritySpec {
  /** Capabilities given back, e.g. `CHOWN` (every other one stays dropped). */
  capAdd?: string[];
  /** Most processes and threads the container may have (default 4096). */
  pidsLimit?: number;
  /** Root filesystem read-only, with a writable tmpfs at `/tmp`. */
  readOnlyRootfs?: boolean;
}

/** Everything needed to create one container. Built by the run engine from a resolved command. */
export interface ContainerSpec {
  /**
   * Container name. The run engine names containers deterministically from the run id so that after a crash it
   * can find them again with `findByName`. When absent the engine picks one.
   */
  name?: string;
  /** Image reference, e.g. `xnat/dcm2niix:latest`. Never pulled implicitly. */
  image: string;
  /** The resolved XNAT command line. How it becomes a process is the backend's job (see `command-line.ts`). */
  commandLine: string;
  /** true: run `commandLine` with `/bin/sh -c`, ignoring the image's entrypoint; false: split it into arguments for the entrypoint. */
  overrideEntrypoint: boolean;
  workingDirectory?: string;
  /** Final environment, including `XNAT_HOST`, `XNAT_USER`, `XNAT_PASS` and secrets. */
  environment: Record<string, string>;
  mounts: MountSpec[];
  /** `containerPort → hostPort` (TCP). */
  ports?: Record<string, string>;
  /** Labels to set; the backend adds `org.xcs.managed=true`. */
  labels: Record<string, string>;
  resources: ResourceSpec;
  /** `none` (the default when absent), `host`, or a named network. */
  network?: string;
  /** User (and group) to run as, e.g. `1000` or `1000:1000` (server setting `container-user`). */
  user?: string;
  /** The engine deletes the container as soon as it exits (logs are lost with it). */
  autoRemove?: boolean;
  /** Hardening beyond the defaults; absent = the defaults. */
  security?: SecuritySpec;
  /** Where a cluster backend may run the container (generic resources are in `resources.genericResources`). */
  placement?: PlacementSpec;
  /**
   * The run's `max-runtime` in seconds. The run engine's watchdog enforces it on every backend; a scheduler
   * backend also gives it to the scheduler (Slurm's `--time`), which stops the job when XCS cannot.
   */
  maxRuntimeSeconds?: number;
  /**
   * Credentials of the image's hub, for a backend whose nodes may pull it (Swarm sends them with the service, as
   * XNAT does). Set at create time only: never stored with the run, never logged. A single engine ignores them.
   */
  registryAuth?: RegistryAuth;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead' | 'missing';

/** A container's state as the engine reports it now. */
export interface ContainerState {
  backendId: string;
  status: ContainerStatus;
  /** Process exit code once exited; null while created/running or when unknown. */
  exitCode: number | null;
  /** The kernel killed the process for exceeding its memory limit. */
  oomKilled: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** An error the engine recorded for the container (e.g. the process could not be started). */
  error?: string;
  /** The id of the image the container was created from (`sha256:…`): what it runs, whatever tags say now. */
  imageId?: string;
}

/** A container found by label or name; enough for reconciliation after a restart. */
export interface ContainerSummary {
  backendId: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  status: ContainerStatus;
}

export interface ImageSummary {
  id: string;
  /** `repo:tag` references pointing at this image. */
  tags: string[];
  labels: Record<string, string>;
}

export interface ImageInfo extends ImageSummary {
  /** `repo@sha256:…` digests of the image in registries it was pulled from or pushed to; empty for local builds. */
  repoDigests?: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
}

/** `waiting`: a scheduler backend has the container queued and says why it has not started it (again on each new reason). */
export type BackendEventStatus = 'created' | 'waiting' | 'started' | 'died' | 'oom' | 'killed' | 'removed';

/** A status change of one container, as the engine pushed it. */
export interface BackendEvent {
  backendId: string;
  name?: string;
  status: BackendEventStatus;
  /** Only on `died`: the exit code (null when the engine did not say). */
  exitCode?: number | null;
  /** Only on `killed`: the signal sent, e.g. `9`/`SIGKILL`. */
  signal?: string;
  time: Date;
  /** Nanoseconds since the epoch when the engine gives them (dedup key; also XNAT's `external-timestamp`). */
  timeNano?: bigint;
  labels: Record<string, string>;
  /** The engine's own event, for history and debugging. */
  raw: unknown;
  /** On `started` from a scheduler backend: its job id and the node the container runs on. */
  placement?: { serviceId: string; nodeId: string | null };
  /** On `waiting`: the scheduler's reason (e.g. `PENDING (Resources)`) and what it means. */
  waiting?: { reason: string; hint: string };
  /** On `died` from a scheduler backend: its own cause of the end when it says more than the exit code. */
  cause?: { code: string; message: string; hint: string };
}

export interface LogOptions {
  stream: 'stdout' | 'stderr';
  /** Keep the iterable open and yield new output until the container exits (or `signal` aborts). */
  follow?: boolean;
  /** Only output written at or after this time. */
  since?: Date;
  /** Prefix each line with the engine's RFC 3339 timestamp and a space. */
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface EventOptions {
  /** Only containers carrying all these labels (the backend always adds `org.xcs.managed=true`). */
  labels?: Record<string, string>;
  /** Replay events from this time on (used to catch up after a restart). */
  since?: Date;
}

/**
 * A live, self-reconnecting subscription to status changes. Iterate it once; `close()` ends the iteration.
 * After a dropped connection the backend reconnects and replays from the last event it delivered, so events
 * are neither lost nor repeated.
 */
export interface EventSubscription extends AsyncIterable<BackendEvent> {
  close(): void;
}

/** Which engine runs the containers, for provenance records. */
export interface EngineVersion {
  /** `docker`, `podman`, … as the engine names itself. */
  name: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface WaitOptions {
  signal?: AbortSignal;
}

/** Credentials for one image registry (a hub of the server settings). */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry's URL as configured, e.g. `https://index.docker.io/v1/`. */
  serverAddress: string;
}

export interface PullOptions {
  /** Log in with these; absent = anonymous. */
  auth?: RegistryAuth;
}

export interface RemoveImageOptions {
  /** Remove even when tagged several times or used by stopped containers. */
  force?: boolean;
}

/** What a registry said to a login (`checkRegistryAuth`). */
export interface RegistryLogin {
  ok: boolean;
  /** The registry's own words, e.g. `Login Succeeded`. */
  status: string;
}

/**
 * How a container that ended by a SIGKILL nobody asked for really ended (`settleKill`): killed for memory,
 * removed from the engine (a forced removal also kills), or neither as far as the engine can tell.
 */
export type KillCause = 'oom' | 'removed' | 'unknown';

/** Placement of a container on a cluster (Swarm, Slurm); a single-engine backend ignores it. */
export interface PlacementSpec {
  /** Node constraints in the engine's syntax, e.g. `node.role==worker` (XNAT's swarm constraints). */
  constraints?: string[];
  /** A batch scheduler's queue words (Slurm's partition, account, QoS): the run's own, over the server's defaults. */
  scheduler?: { partition?: string; account?: string; qos?: string };
}

/**
 * Where a cluster backend placed a container, and why it waits when it is not placed yet (`placementOf`).
 * Swarm: the service, its task, the node and the task's container.
 */
export interface PlacementReport {
  /** The backend's own object for the run (a swarm service id). */
  serviceId: string | null;
  taskId: string | null;
  nodeId: string | null;
  /** The node in words (`node vm (127.0.0.3, id …)`), null before placement. */
  node: string | null;
  /** The container on the node, once there is one. */
  containerId: string | null;
  /** The cluster's own state name (`pending`, `running`, `complete`…). */
  state: string | null;
  /** Why the container does not run yet, in words (no node satisfies the constraints, not enough memory…); null when placed. */
  pendingReason: string | null;
  /** Why the container ended without an end of its own — its node went down — in words; null otherwise. */
  lostReason?: string | null;
}

export interface ContainerBackend {
  readonly kind: BackendKind;
  readonly capabilities: BackendCapabilities;

  /** Resolves when the engine answers; throws `backend.unavailable` otherwise. */
  ping(): Promise<void>;
  /** The image with this reference or id, or null when the engine does not have it. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  listImages(): Promise<ImageSummary[]>;
  /**
   * Fetches `ref` (`[registry/]repo:tag`) from its registry. Only on request (the run engine never pulls).
   * Throws `backend.pull-failed` (with the engine's or registry's reason) or `backend.unavailable`.
   * Absent: the backend cannot pull (images are put on its nodes some other way).
   */
  pullImage?(ref: string, options?: PullOptions): Promise<void>;
  /**
   * Removes an image. Throws `backend.image-missing`, `backend.image-in-use`, `backend.invalid-reference` or
   * `backend.request-failed`. Absent: the backend cannot remove images.
   */
  removeImage?(ref: string, options?: RemoveImageOptions): Promise<void>;
  /** Logs in to a registry without pulling (a hub's ping). Absent: the backend cannot reach registries. */
  checkRegistryAuth?(auth: RegistryAuth): Promise<RegistryLogin>;
  /** The engine's name and version (optional: provenance records say "unknown" without it). */
  engineVersion?(): Promise<EngineVersion>;

  /**
   * Creates (does not start) a container. Throws `backend.image-missing`, `backend.mount-missing`,
   * `backend.mount-forbidden`, `backend.name-conflict`, `backend.invalid-spec` or `backend.create-failed`.
   */
  create(spec: ContainerSpec): Promise<{ backendId: string; name: string }>;
  /** Starts a created container. Throws `backend.not-found`, `backend.mount-missing` or `backend.start-failed`. */
  start(backendId: string): Promise<void>;
  /**
   * Resolves with the final state once the container is no longer running. Call it after `start`: a container
   * that was never started is "not running" and resolves at once. A container removed meanwhile gives `missing`.
   */
  wait(backendId: string, options?: WaitOptions): Promise<ContainerState>;
  /** The current state; `status: 'missing'` (never a throw) when the container does not exist. */
  inspect(backendId: string): Promise<ContainerState>;
  /**
   * Why a container that exited by SIGKILL (137) nobody asked for ended, once the engine's record is final.
   * Docker 20.10 sets the OOM flag from an event that can arrive after the exit under load, so its backend
   * reads the state again for a moment and, when a memory limit was set, takes the kill as out of memory.
   * Absent: one `inspect` decides (`oomKilled`, or `missing` = removed).
   */
  settleKill?(backendId: string, options: { memoryLimited: boolean }): Promise<KillCause>;
  /** Where a cluster placed the container and why it waits. Absent: a single engine (nothing to say). */
  placementOf?(backendId: string): Promise<PlacementReport>;
  /** Sends SIGKILL (or `signal`). A container that already stopped is left alone. Throws `backend.not-found`. */
  kill(backendId: string, signal?: string): Promise<void>;
  /** Removes the container (killing it if running). Removing a container that is already gone is not an error. */
  remove(backendId: string): Promise<void>;

  /** One output stream of the container (stdout and stderr are never mixed). */
  logs(backendId: string, options: LogOptions): AsyncIterable<Buffer>;
  /** Pushed status changes of our containers (no polling). */
  events(options?: EventOptions): EventSubscription;

  /** Containers (running or not) carrying all these labels, plus `org.xcs.managed=true`. */
  list(options?: { labels?: Record<string, string> }): Promise<ContainerSummary[]>;
  /** Our container with exactly this name, or null. */
  findByName(name: string): Promise<ContainerSummary | null>;

  /** Releases connections; open event subscriptions end. */
  close(): Promise<void>;
}

/** Labels XCS puts on the containers it creates. */
export const XCS_LABELS = {
  /** Set by every backend on every container it creates: the mark that a container is ours. */
  managed: 'org.xcs.managed',
  /** Set by the run engine. */
  runId: 'org.xcs.run-id',
  /** Set by the run engine: which XCS installation owns the container (several may share one engine). */
  instance: 'org.xcs.instance',
} as const;

/** Stable codes of the errors backends throw (all are `XcsError`s). */
export const BackendErrorCode = {
  unavailable: 'backend.unavailable',
  /** No backend of the selected kind exists (the registry's refusal). */
  kindUnavailable: 'backend.kind-unavailable',
  unsupportedEngine: 'backend.unsupported-engine',
  imageMissing: 'backend.image-missing',
  mountMissing: 'backend.mount-missing',
  mountForbidden: 'backend.mount-forbidden',
  invalidSpec: 'backend.invalid-spec',
  nameConflict: 'backend.name-conflict',
  createFailed: 'backend.create-failed',
  startFailed: 'backend.start-failed',
  notFound: 'backend.not-found',
  requestFailed: 'backend.request-failed',
  /** Image operations (`pullImage`, `removeImage`, `inspectImage`). */
  pullFailed: 'backend.pull-failed',
  imageInUse: 'backend.image-in-use',
  invalidReference: 'backend.invalid-reference',
  /** The backend has no such operation (an optional method it does not implement). */
  unsupported: 'backend.unsupported',
  /** Exit causes, from `exitFailure()` in `failure.ts`. */
  oomKilled: 'backend.oom-killed',
  nonZeroExit: 'backend.non-zero-exit',
  containerDead: 'backend.container-dead',
  containerVanished: 'backend.container-vanished',
} as const;
export type BackendErrorCode = (typeof BackendErrorCode)[keyof typeof BackendErrorCode];
