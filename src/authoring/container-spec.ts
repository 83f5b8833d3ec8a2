/**
 * The container of a resolved command in a local run. Field by field the same mapping as the run
 * engine's (`runtime/staging/starter.ts` `containerSpec`), without what only a server has: no callback
 * credentials (`XNAT_HOST`/`XNAT_USER`/`XNAT_PASS`), no run labels, and never a network.
 */
import type { ContainerSpec, MountSpec } from '../backends/types.ts';
import type { Command } from '../command/model.ts';
import type { ResolvedCommand } from '../resolution/types.ts';

/** The label that marks a container as made by `xcs exec` (so a stray one can be found and removed). */
export const EXEC_LABEL = 'org.xcs.exec';

export interface LocalContainerOptions {
  name: string;
  /** The command the container runs, when it declares its mounts (read-only ones stay read-only). */
  command?: Command;
  /** `uid[:gid]` to run as; absent: the image's user. */
  user?: string;
}

export function mountsOf(r: ResolvedCommand, command?: Command): MountSpec[] {
  return r.mounts.map((m) => {
    const declared = command?.mounts.find((d) => d.name === m.name);
    return {
      hostPath: m['container-host-path'] || m['xnat-host-path'],
      containerPath: m['container-path'],
      // Resolution makes a mount no input feeds writable (a fresh build directory); here the author
      // may bind a folder of theirs to it, so the command's own word decides.
      writable: declared ? declared.writable && m.writable : m.writable,
    };
  });
}

export function localContainerSpec(r: ResolvedCommand, options: LocalContainerOptions): ContainerSpec {
  return {
    name: options.name,
    image: r.image,
    commandLine: r['command-line'],
    overrideEntrypoint: r.overrideEntrypoint,
    workingDirectory: r['working-directory'] ?? undefined,
    environment: { ...r['environment-variables'] },
    mounts: mountsOf(r, options.command),
    ports: r.ports,
    labels: { ...r['container-labels'], [EXEC_LABEL]: 'true' },
    resources: {
      reserveMemoryMiB: r['reserve-memory'] ?? undefined,
      limitMemoryMiB: r['limit-memory'] ?? undefined,
      limitCpu: r['limit-cpu'] ?? undefined,
      shmSizeBytes: r['shm-size'] ?? undefined,
      ulimits: Object.keys(r.ulimits ?? {}).length > 0 ? r.ulimits : undefined,
      gpus: r.gpus ?? undefined,
      runtime: r.runtime ?? undefined,
      ipcMode: r['ipc-mode'] ?? undefined,
    },
    network: 'none',
    user: options.user,
    autoRemove: false,
  };
}
