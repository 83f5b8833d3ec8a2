/**
 * Turns a `ContainerSpec` into the body of Docker's `POST /containers/create`. Pure, so every mapping rule
 * (XNAT reference §4.2) is unit-tested without an engine; the security rules live here too, so no code path
 * can create a container that skips them.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import { XcsError } from '../../core/errors.ts';
import { processCommand } from '../command-line.ts';
import { BackendErrorCode, XCS_LABELS, type ContainerSpec, type MountSpec, type ResourceSpec, type SecuritySpec } from '../types.ts';

const MIB = 1024 * 1024;

/** Processes (and threads) a container may have when the spec sets no limit: a fork bomb stops there. */
export const DEFAULT_PIDS_LIMIT = 4096;

/** `CAP_CHOWN`, `chown` and `CHOWN` all name the same capability; Docker takes `CAP_CHOWN`. */
function capabilityName(cap: string, where: string): string {
  const name = cap.trim().toUpperCase().replace(/^CAP_/, '');
  if (!/^[A-Z_]+$/.test(name)) throw invalid(`"${cap}" is not a Linux capability name`, where);
  if (name === 'ALL') throw invalid('capabilities are given back one by one, not "ALL"', where);
  return `CAP_${name}`;
}

/**
 * Every capability dropped and only the listed ones given back, no privilege gain through setuid binaries, a
 * process limit, and optionally a read-only root filesystem with a writable `/tmp`.
 */
function securityOf(s: SecuritySpec | undefined): Partial<Docker.HostConfig> {
  const pids = s?.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!Number.isInteger(pids) || pids < 1) throw invalid(`pidsLimit must be a whole number ≥ 1, got ${pids}`, '/security/pidsLimit');
  const capAdd = (s?.capAdd ?? []).map((c, i) => capabilityName(c, `/security/capAdd/${i}`));
  return {
    CapDrop: ['ALL'],
    ...(capAdd.length > 0 ? { CapAdd: capAdd } : {}),
    PidsLimit: pids,
    ...(s?.readOnlyRootfs === true ? { ReadonlyRootfs: true, Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=1g' } } : {}),
  };
}

/**
 * Host paths never given to a container: the engine's socket lives under these, and a container holding it
 * owns the host. Both spellings are listed because `/var/run` is usually a link to `/run`.
 */
const FORBIDDEN_HOST_DIRS = ['/var/run', '/run'];

export function checkMountAllowed(mount: MountSpec, index: number): void {
  const where = `/mounts/${index}`;
  if (!path.posix.isAbsolute(mount.hostPath)) {
    throw new XcsError(BackendErrorCode.invalidSpec, `Mount host path "${mount.hostPath}" is not absolute`, {
      path: `${where}/hostPath`,
    });
  }
  if (!path.posix.isAbsolute(mount.containerPath)) {
    throw new XcsError(BackendErrorCode.invalidSpec, `Mount container path "${mount.containerPath}" is not absolute`, {
      path: `${where}/containerPath`,
    });
  }
  const host = path.posix.resolve(mount.hostPath);
  const forbidden =
    host === '/' ||
    host.endsWith('/docker.sock') ||
    FORBIDDEN_HOST_DIRS.some((dir) => host === dir || host.startsWith(`${dir}/`));
  if (forbidden) {
    throw new XcsError(BackendErrorCode.mountForbidden, `Mounting "${mount.hostPath}" into a container is not allowed`, {
      path: `${where}/hostPath`,
      hint: 'Containers never get the host root, the Docker socket, or anything under /run or /var/run',
    });
  }
}

function invalid(message: string, where: string): XcsError {
  return new XcsError(BackendErrorCode.invalidSpec, message, { path: where });
}

function positiveNumber(value: number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) throw invalid(`${where.split('/').pop()} must be a non-negative number, got ${value}`, where);
  return value;
}

/** `"soft:hard"` or a single value used for both, as XNAT accepts. */
export function ulimitsOf(ulimits: Record<string, string> | undefined): { Name: string; Soft: number; Hard: number }[] | undefined {
  if (ulimits === undefined) return undefined;
  return Object.entries(ulimits).map(([name, value]) => {
    const parts = value.split(':').map((p) => p.trim());
    const nums = parts.map((p) => (p === '-1' || p === 'unlimited' ? -1 : Number(p)));
    if (parts.length > 2 || nums.some((n) => !Number.isInteger(n))) {
      throw invalid(`ulimit "${name}" must be "soft:hard" or a single integer, got "${value}"`, `/resources/ulimits/${name}`);
    }
    return { Name: name, Soft: nums[0], Hard: nums[nums.length - 1] };
  });
}

/** `all` → every GPU; an integer → that many; `device=0,1` or `0,1` or GPU UUIDs → those devices. */
export function deviceRequestsOf(gpus: string | undefined): Docker.DeviceRequest[] | undefined {
  if (gpus === undefined || gpus.trim() === '') return undefined;
  const value = gpus.trim();
  const base = { Driver: '', Capabilities: [['gpu']], Options: {} };
  if (value === 'all') return [{ ...base, Count: -1 }];
  if (/^\d+$/.test(value)) return [{ ...base, Count: Number(value) }];
  const ids = value.replace(/^device=/, '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw invalid(`gpus must be "all", a count or device ids, got "${gpus}"`, '/resources/gpus');
  return [{ ...base, DeviceIDs: ids }];
}

function portsOf(ports: Record<string, string> | undefined): Pick<Docker.ContainerCreateOptions, 'ExposedPorts'> & {
  PortBindings?: Record<string, { HostPort: string }[]>;
} {
  if (ports === undefined || Object.keys(ports).length === 0) return {};
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const [containerPort, hostPort] of Object.entries(ports)) {
    const c = containerPort.trim();
    const h = (hostPort ?? '').trim();
    const where = `/ports/${containerPort}`;
    // XNAT's messages, with its missing full stops kept out.
    if (c === '' && h === '') throw invalid('Container and host ports are blank.', where);
    if (c === '') throw invalid('Container port is blank.', where);
    if (h === '') throw invalid('Host port is blank.', where);
    const key = c.includes('/') ? c : `${c}/tcp`;
    exposed[key] = {};
    bindings[key] = [{ HostPort: h }];
  }
  return { ExposedPorts: exposed, PortBindings: bindings };
}

function resourcesOf(r: ResourceSpec): Partial<Docker.HostConfig> {
  const reserve = positiveNumber(r.reserveMemoryMiB, '/resources/reserveMemoryMiB');
  const limit = positiveNumber(r.limitMemoryMiB, '/resources/limitMemoryMiB');
  const cpu = positiveNumber(r.limitCpu, '/resources/limitCpu');
  const shm = positiveNumber(r.shmSizeBytes, '/resources/shmSizeBytes');
  const out: Partial<Docker.HostConfig> = {};
  if (reserve !== undefined && reserve > 0) out.MemoryReservation = Math.round(reserve * MIB);
  if (limit !== undefined && limit > 0) {
    out.Memory = Math.round(limit * MIB);
    // Deviation: without this Docker allows as much swap again, and a tool over its limit swaps instead of
    // ending OOM-killed. limit-memory is the limit.
    out.MemorySwap = out.Memory;
  }
  if (cpu !== undefined && cpu > 0) out.NanoCpus = Math.round(cpu * 1e9);
  if (shm !== undefined && shm > 0) out.ShmSize = Math.round(shm);
  const ulimits = ulimitsOf(r.ulimits);
  if (ulimits !== undefined && ulimits.length > 0) out.Ulimits = ulimits;
  if (r.runtime !== undefined && r.runtime !== '') out.Runtime = r.runtime;
  if (r.ipcMode !== undefined && r.ipcMode !== '') out.IpcMode = r.ipcMode;
  const devices = deviceRequestsOf(r.gpus);
  if (devices !== undefined) out.DeviceRequests = devices;
  // genericResources: Docker container mode has no equivalent (Swarm reserves them; Kubernetes maps `gpu`).
  return out;
}

/** The create body for `spec`; throws `backend.invalid-spec` / `backend.mount-forbidden` for bad specs. */
export function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  if (spec.image.trim() === '') throw invalid('The image is empty', '/image');
  spec.mounts.forEach(checkMountAllowed);
  for (const key of Object.keys(spec.environment)) {
    if (key === '' || key.includes('=')) throw invalid(`Environment variable name "${key}" is not valid`, `/environment/${key}`);
  }
  const network = spec.network === undefined || spec.network === '' ? 'none' : spec.network;
  const { resetEntrypoint, args } = processCommand(spec.commandLine, spec.overrideEntrypoint);
  const { ExposedPorts, PortBindings } = portsOf(spec.ports);

  const hostConfig: Docker.HostConfig = {
    // Mounts (not Binds): a missing source is an error instead of a silently created empty directory.
    Mounts: spec.mounts.map((m) => ({
      Type: 'bind' as const,
      Source: m.hostPath,
      Target: m.containerPath,
      ReadOnly: !m.writable,
    })),
    NetworkMode: network,
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    ...securityOf(spec.security),
    AutoRemove: spec.autoRemove === true,
    ...resourcesOf(spec.resources),
    ...(PortBindings === undefined ? {} : { PortBindings }),
  };

  return {
    ...(spec.name === undefined ? {} : { name: spec.name }),
    Image: spec.image,
    Cmd: args,
    // [""] is how the engine is told "no entrypoint" (the same value `docker run --entrypoint ''` sends).
    ...(resetEntrypoint ? { Entrypoint: [''] } : {}),
    ...(spec.workingDirectory === undefined || spec.workingDirectory === '' ? {} : { WorkingDir: spec.workingDirectory }),
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels, [XCS_LABELS.managed]: 'true' },
    ...(spec.user === undefined || spec.user === '' ? {} : { User: spec.user }),
    ...(ExposedPorts === undefined ? {} : { ExposedPorts }),
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: hostConfig,
  };
}
