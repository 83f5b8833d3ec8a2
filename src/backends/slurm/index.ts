/**
 * The Slurm backend's factory: checks that the controller answers, then wires the client (the command-line tools,
 * or slurmrestd when `rest` is given) and the image engine.
 */
import path from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { createDockerBackend } from '../docker/docker-backend.ts';
import { BackendErrorCode } from '../types.ts';
import { SlurmBackend } from './slurm-backend.ts';
import { SlurmCli, type SlurmClient, type SlurmCliOptions } from './slurm-cli.ts';
import { SlurmRest, type SlurmRestOptions } from './slurm-rest.ts';
import type { SlurmPlacement } from './job-script.ts';

export interface SlurmBackendOptions {
  /** Job directories, on a file system shared by the XCS server and every node at the same path (required). */
  jobRoot?: string;
  /** The nodes' container engine CLI: `docker` (default) or `podman`. */
  runner?: string;
  /** The engine XCS asks about images (`unix://…` or `tcp://…`; default the local one): it must see the nodes' images. */
  host?: string;
  /** Default partition, account, QoS (and time limit) of every job. */
  placement?: SlurmPlacement;
  pollIntervalMs?: number;
  /** Where the Slurm tools and slurm.conf are. */
  slurm?: SlurmCliOptions;
  /** Talk to slurmrestd (JWT) instead of running the Slurm tools. */
  rest?: SlurmRestOptions;
  /** The runner's engine is reachable from the XCS server (a one-machine cluster). */
  runnerReachable?: boolean;
}

export async function createSlurmBackend(options: SlurmBackendOptions): Promise<SlurmBackend> {
  if (options.jobRoot === undefined || !path.isAbsolute(options.jobRoot)) {
    throw new XcsError(BackendErrorCode.invalidSpec, 'The Slurm backend needs an absolute job directory on the shared file system', {
      path: '/slurm-job-root', hint: 'Set "slurm-job-root" in the server settings to a directory every node sees at the same path',
    });
  }
  const client: SlurmClient = options.rest === undefined ? new SlurmCli(options.slurm) : new SlurmRest(options.rest);
  await client.ping();
  const images = await createDockerBackend(options.host === undefined ? {} : { host: options.host });
  return new SlurmBackend({
    client, images, jobRoot: options.jobRoot, runner: options.runner, placement: options.placement,
    pollIntervalMs: options.pollIntervalMs, runnerReachable: options.runnerReachable,
  });
}

export { SlurmBackend } from './slurm-backend.ts';
export type { SlurmPlacement } from './job-script.ts';
export type { SlurmRestOptions } from './slurm-rest.ts';
