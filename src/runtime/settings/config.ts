/** Settings of the run engine, with their defaults, and the test hook that pauses a phase. */
import { defaultSiteSettings, type SiteSettings } from './site-settings.ts';

export interface EngineConfig {
  /** Holds `runs.sqlite` and `runs/{id}/` (build directories and saved logs). */
  dataDir: string;
  /** Marks this installation's containers (label `org.xcs.instance`); several may share one engine. */
  instanceId: string;
  /** `XNAT_HOST` given to containers: the server's own URL, known once it listens. */
  serverUrl: () => string;
  /** Runs that may be staging, created or running at once. */
  maxRunning: number;
  /** Runs that may be finalizing at once. */
  maxFinalizing: number;
  /**
   * How long a claimed job, the events lease and a replica's heartbeat stay valid without renewal (renewed every
   * third of it): the longest a dead replica's work waits before another replica takes it over
   * (`XCS_LEASE_MS`). A replica on the same machine is seen dead at once, within a third of it.
   */
  leaseMs: number;
  /** Period of the reconciliation against the engine's containers (besides the one at start-up). */
  reconcileIntervalMs: number;
  /** Lifetime of the `XNAT_USER`/`XNAT_PASS` token; it is also invalidated when the run finalizes. */
  tokenTtlSeconds: number;
  /**
   * The site settings new runs are made with (server settings: network, user, clean-up, path translation,
   * hardening); replaced live by `RunEngine.setSiteSettings`, and each run keeps the ones it was launched with.
   */
  site: SiteSettings;
  /** Test hook (`XCS_TEST_PAUSE_AT`): stop in this phase forever so a test can kill the process there. */
  pauseAt: string | null;
}

export const ENGINE_DEFAULTS = {
  maxRunning: 4,
  maxFinalizing: 2,
  leaseMs: 5_000,
  reconcileIntervalMs: 60_000,
  tokenTtlSeconds: 48 * 3600,
};

export type EngineOptions = Pick<EngineConfig, 'dataDir' | 'instanceId' | 'serverUrl'> &
  Partial<Omit<EngineConfig, 'dataDir' | 'instanceId' | 'serverUrl'>>;

export function engineConfig(opts: EngineOptions): EngineConfig {
  // Options given as undefined keep their default.
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as EngineOptions;
  return {
    ...ENGINE_DEFAULTS,
    site: defaultSiteSettings(),
    pauseAt: process.env.XCS_TEST_PAUSE_AT ?? null,
    ...given,
  };
}

/** The deterministic name of a run's container; `{id}` is the run id. */
export function containerNamePattern(config: EngineConfig): string {
  return `xcs-${config.instanceId}-run-{id}`;
}

/** The pause points a test can name in `XCS_TEST_PAUSE_AT`. */
export type PausePoint = 'staging' | 'running' | 'finalizing' | 'setup' | 'wrapup' | 'retry';

/** Never resolves when the hook names this point: the process then waits to be killed. */
export async function pausePoint(config: EngineConfig, point: PausePoint): Promise<void> {
  if (config.pauseAt !== point) return;
  process.stdout.write(`xcs: paused at ${point} (XCS_TEST_PAUSE_AT)\n`);
  await new Promise<never>(() => { /* wait for the test to kill us */ });
}
