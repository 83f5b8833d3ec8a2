/**
 * The run engine's public face: what http, automation, notifications and the composition root (`src/app/`) may use
 * of the runtime. Nothing outside the runtime imports its modules directly (checked by the layering rules; the one
 * exception is `xcs exec`, which shares finalization's output rules, `finalize/collect.ts`): the container service's
 * application API — the command registry (`catalog/`), the in-process launcher, the launch-planning pipeline, launch
 * and relaunch (`launch/`), visibility — the engine, its records and their redaction. The folders: ARCHITECTURE.md,
 * "Run engine".
 */
export { aliasTokenCredentials, archiveInventory, archiveOutputs, ArchiveObjectSource } from './archive-adapters/index.ts';
export {
  MemoryCatalog, findWrapperById, requireWrapper, requireWrapperByName,
  type BatchRecorder, type CommandCatalog, type EndedRun, type LaunchOutcome, type Launcher, type MaybePromise, type RunSummary,
  type WrapperRef,
} from './catalog/catalog.ts';
export { batchOfRun, batchState, markBatchAnnounced, openBatchMayClaim, STALE_BATCH_MS } from './store/batches.ts';
export { CommandStoreCatalog } from './catalog/command-catalog.ts';
export { secretSource } from './secrets/command-secrets.ts';
export { registryAuthFor, type RegistryAuthSource } from './secrets/registry-auth.ts';
export { CommandStore } from './catalog/command-store.ts';
export { openRunDatabase, type RunDatabase } from './store/db.ts';
export { RunEngine } from './engine.ts';
export { commandName, lastStatusTime, pingRunDatabase, runsByStatus, uploadedBytes, waitingJobsByQueue } from './store/engine-levels.ts';
export { isolationRefusal, networkOf } from './settings/isolation.ts';
export { launch, type LaunchContext, type LaunchRequest } from './launch/launch.ts';
export {
  LaunchPlanner, type ConfiguredWrapper, type Enablement, type LaunchPlannerDeps, type PlanRequest, type PreviewPlan,
  type WrapperConfigurations, type WrapperKey,
} from './launch/launch-planning.ts';
export { EngineLauncher, type EngineLauncherDeps } from './launch/launcher.ts';
export type { LogStream } from './follow/logs.ts';
export type { ObjectIdentity } from './ports.ts';
export type { ObjectHit, RunOwner } from './provenance/provenance-store.ts';
export { provenanceDocument } from './provenance/provenance.ts';
export {
  REDACTED, SCRUBBED_COMMAND_LINE, SENSITIVE_MASK, redact, redactDeep, redactError, redactor, runSecrets,
} from './secrets/redact.ts';
export { relaunch } from './launch/relaunch.ts';
export { SqliteRunStateStore, type RunStateStore } from './store/run-state-store.ts';
export type { EngineLogger } from './resources.ts';
export { RUN_COLUMNS, RunQuery, type RunColumn, type RunCondition, type RunQueryFilter } from './store/run-query.ts';
export { allInputValues } from './store/run-spec.ts';
export { runNotFound, type HistoryItem, type RunRecord, type RunStore } from './store/run-store.ts';
export { DEFAULT_PIDS_LIMIT, defaultSiteSettings, type SiteSettings } from './settings/site-settings.ts';
export { isTerminal } from './store/state-machine.ts';
export { eventsAfter, type StatusEvent, type StatusFeed } from './store/status-events.ts';
export { commandVisible, isPrivate, notVisible, type EnabledProjects, type RoleChecks } from './catalog/visibility.ts';
export { runStats, RUN_OUTCOMES, type RunOutcome, type RunStats, type RunStatsQuery } from './store/run-stats.ts';
