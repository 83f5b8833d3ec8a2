/**
 * The site settings a run is made with (server settings, `POST /xapi/docker/server`), and the snapshot of them
 * each run keeps: settings change live for new runs, and the record of a run says what it ran with (a retry
 * runs with its first attempt's).
 */

import type { StagingMode } from '../../archive/staging.ts';
import type { SlurmUserSettable, SwarmConstraint } from '../../resolution/types.ts';

/** How containers are confined. Everything that weakens the defaults is a setting an admin turns on. */
export interface Hardening {
  /** Linux capabilities given back (every capability is dropped otherwise), e.g. `CHOWN`. */
  capAdd: string[];
  /** Most processes (threads included) a container may have. */
  pidsLimit: number;
  /** Memory limit in MiB for commands that set no `limit-memory`; null = none. */
  defaultLimitMemoryMiB: number | null;
  /** CPU limit in cores for commands that set no `limit-cpu`; null = none. */
  defaultLimitCpu: number | null;
  /** Root filesystem read-only, with a writable `/tmp` (tmpfs). */
  readOnlyRootfs: boolean;
  /** A command may ask for `ipc-mode: host` or `container:…` (share another namespace's memory). */
  allowIpcHost: boolean;
  /** Networks a command's own `network` may name: `host`, `bridge`, `container:*`, a network name or `*` (any named network). */
  allowedCommandNetworks: string[];
  /** OCI runtimes a command's `runtime` may name (e.g. `nvidia`); the engine's default runtime is always allowed. */
  allowedRuntimes: string[];
}

export interface SiteSettings {
  /** `XNAT_HOST` given to containers (XNAT's `processingUrl`); null = the server's own URL. */
  processingUrl: string | null;
  /** Network of every container whose command names none (or is not allowed to): `none`, `host`, `bridge` or a name. */
  containerNetwork: string;
  /** `uid` or `uid:gid` containers run as; null = the image's user. */
  containerUser: string | null;
  /** Remove a run's containers and build directories once it ended. */
  autoCleanup: boolean;
  /** XNAT's host-path translation: a leading `xnatPrefix` of a mount's source becomes `dockerPrefix`. */
  pathTranslation: { xnatPrefix: string; dockerPrefix: string } | null;
  /**
   * How read-only archive inputs reach containers (`archive-staging`): `bind` mounts the archive's directories
   * (path-translated when set), `copy` copies them into the run's build area first. Absent (runs recorded before
   * the setting existed) = `bind`.
   */
  archiveStaging?: StagingMode;
  hardening: Hardening;
  /** Placement constraints of the swarm backend (XNAT's `swarm-constraints`, resolved per launch); absent = none. */
  swarmConstraints?: SwarmConstraint[];
  /** On the slurm backend: the partition/account/QoS values users may choose at launch; absent = none. */
  slurmUserSettable?: SlurmUserSettable;
}

/** What one run was made with: the site settings at launch, with the `XNAT_HOST` worked out. */
export interface RunSettings extends SiteSettings {
  xnatHost: string;
}

export const DEFAULT_PIDS_LIMIT = 4096;

export function defaultHardening(): Hardening {
  return {
    capAdd: [], pidsLimit: DEFAULT_PIDS_LIMIT, defaultLimitMemoryMiB: null, defaultLimitCpu: null, readOnlyRootfs: false,
    allowIpcHost: false, allowedCommandNetworks: [], allowedRuntimes: [],
  };
}

export function defaultSiteSettings(): SiteSettings {
  return { processingUrl: null, containerNetwork: 'none', containerUser: null, autoCleanup: true, pathTranslation: null,
    archiveStaging: 'bind', hardening: defaultHardening() };
}

/** The snapshot for a run launched now. */
export function snapshotFor(site: SiteSettings, serverUrl: string): RunSettings {
  return { ...structuredClone(site), xnatHost: site.processingUrl?.trim() || serverUrl };
}

