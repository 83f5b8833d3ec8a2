/**
 * The run engine's public face: what http, automation, notifications and the composition root (`src/app/`) may use
 * of the runtime. Nothing outside the runtime imports its modules directly (checked by the layering rules; the one
 * exception is `xcs exec`, which shares finalization's output rules, `finalize/collect.ts`): the container service's
 * application API — the command registry (`catalog.ts`, `command-catalog.ts`), the in-process launcher
 * (`launcher.ts`), the launch-planning pipeline (`launch-planning.ts`), launch and relaunch, visibility — the engine, its records and their redaction.
 */
export { aliasTokenCredentials, archiveInventory, archiveOutputs, ArchiveObjectSource } from './archive-adapters/index.ts';
export {
  MemoryCatalog, findWrapperById, requireWrapper, requireWrapperByName,
  type BatchRecorder, type CommandCatalog, type EndedRun, type LaunchOutcome, type Launcher, type MaybePromise, type RunSummary,
  type WrapperRef,
} from './catalog.ts';
export { batchOfRun, batchState, markBatchAnnounced, openBatchMayClaim, STALE_BATCH_MS } from './batches.ts';
export { CommandStoreCatalog } from './command-catalog.ts';
export { secretSource } from './command-secrets.ts';
export { registryAuthFor, type RegistryAuthSource } from './registry-auth.ts';
export { CommandStore } from './command-store.ts';
export { openRunDatabase, type RunDatabase } from './db.ts';
export { RunEngine } from './engine.ts';
export { commandName, lastStatusTime, pingRunDatabase, runsByStatus, uploadedBytes, waitingJobsByQueue } from './engine-levels.ts';
export { isolationRefusal, networkOf } from './isolation.ts';
export { launch, type LaunchContext, type LaunchRequest } from './launch.ts';
export {
  LaunchPlanner, type ConfiguredWrapper, type Enablement, type LaunchPlannerDeps, type PlanRequest, type PreviewPlan,
  type WrapperConfigurations, type WrapperKey,
} from './launch-planning.ts';
export { EngineLauncher, type EngineLauncherDeps } from './launcher.ts';
export type { LogStream } from './logs.ts';
export type { ObjectIdentity } from './ports.ts';
export type { ObjectHit, RunOwner } from './provenance-store.ts';
export { provenanceDocument } from './provenance.ts';
export {
  REDACTED, SCRUBBED_COMMAND_LINE, SENSITIVE_MASK, redact, redactDeep, redactError, redactor, runSecrets,
} from './redact.ts';
export { relaunch } from './relaunch.ts';
export { SqliteRunStateStore, type RunStateStore } from './run-state-store.ts';
export type { EngineLogger } from './resources.ts';
export { RUN_COLUMNS, RunQuery, type RunColumn, type RunCondition, type RunQueryFilter } from './run-query.ts';
export { allInputValues } from './run-spec.ts';
export { runNotFound, type HistoryItem, type RunRecord, type RunStore } from './run-store.ts';
export { DEFAULT_PIDS_LIMIT, defaultSiteSettings, type SiteSettings } from './site-settings.ts';
export { isTerminal } from './state-machine.ts';
export { eventsAfter, type StatusEvent, type StatusFeed } from './status-events.ts';
export { commandVisible, isPrivate, notVisible, type EnabledProjects, type RoleChecks } from './visibility.ts';
export { runStats, RUN_OUTCOMES, type RunOutcome, type RunStats, type RunStatsQuery } from './run-stats.ts';
