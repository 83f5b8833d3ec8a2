/**
 * The bag every engine system receives (trigger.dev style): one store, one queue, one backend, the ports
 * to the neighbours and the settings. Systems talk to each other only through the store and the queue.
 */
import { join } from 'node:path';
import type { StagingChooser } from '../archive/staging.ts';
import type { ContainerBackend } from '../backends/types.ts';
import type { SecretSource } from './secrets/command-secrets.ts';
import type { RegistryAuthSource } from './secrets/registry-auth.ts';
import type { EngineConfig } from './settings/config.ts';
import type { CredentialPort, ObjectInventoryPort, OutputFinalizerPort } from './ports.ts';
import type { ProvenanceStore } from './provenance/provenance-store.ts';
import type { JobQueue } from './store/queue.ts';
import type { RunRecord, RunStore } from './store/run-store.ts';
import { snapshotFor, type RunSettings } from './settings/site-settings.ts';

export interface EngineLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface EngineResources {
  config: EngineConfig;
  store: RunStore;
  queue: JobQueue;
  backend: ContainerBackend;
  credentials: CredentialPort;
  outputs: OutputFinalizerPort;
  /** Where provenance is appended (`provenance.ts`). */
  provenance: ProvenanceStore;
  /** Archive identities and stored checksums for provenance; without it only the launch and image are recorded. */
  inventory?: ObjectInventoryPort;
  /** Where command secrets are read (`command-secrets.ts`); without it a command with secrets fails. */
  secrets?: SecretSource;
  /** The image hubs' credentials (`registry-auth.ts`); without it containers are created without registry auth. */
  registryAuth?: RegistryAuthSource;
  /** How archive files reach containers: the archive's strategy for a run's `archive-staging` (`stagingFor` when absent). */
  staging?: StagingChooser;
  log: EngineLogger;
  /** Identifies this process as lease owner in the job queue. */
  owner: string;
}

/** The site settings `run` was launched with (today's for a run recorded before runs kept them). */
export function runSettingsOf(res: EngineResources, run: RunRecord): RunSettings {
  return run.settings ?? snapshotFor(res.config.site, res.config.serverUrl());
}

/** `{dataDir}/runs/{id}`: the run's build directory and saved logs. */
export function runDir(res: EngineResources, runId: number): string {
  return join(res.config.dataDir, 'runs', String(runId));
}

export function buildDir(res: EngineResources, runId: number): string {
  return join(runDir(res, runId), 'build');
}

export function logDir(res: EngineResources, runId: number): string {
  return join(runDir(res, runId), 'logs');
}

export const consoleLogger: EngineLogger = {
  info: (m) => process.stderr.write(`xcs engine: ${m}\n`),
  warn: (m) => process.stderr.write(`xcs engine: warning: ${m}\n`),
  error: (m) => process.stderr.write(`xcs engine: error: ${m}\n`),
};
