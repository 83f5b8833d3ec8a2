/**
 * Turns a `ContainerSpec` into the body of the Engine's `POST /services/create`, the way XNAT builds a swarm
 * service (reference §4.3): zero replicas (the start scales it to one), restart condition `none`, bind mounts, a
 * `/dev/shm` tmpfs for `shm-size`, memory reservation and limit, NanoCPUs, generic resources as discrete or named
 * reservations, placement constraints, service and container labels. Pure, so every rule is unit-tested without a
 * swarm. The security rules of the Docker backend hold here too (every capability dropped, a process limit, no
 * privileges, forbidden host paths), as far as the service API can express them.
 */
import type Docker from 'dockerode';
import { XcsError } from '../../core/errors.ts';
import { processCommand } from '../command-line.ts';
import { checkMountAllowed, DEFAULT_PIDS_LIMIT, ulimitsOf } from '../docker/container-config.ts';
import { BackendErrorCode, XCS_LABELS, type ContainerSpec, type ResourceSpec } from '../types.ts';

const MIB = 1024 * 1024;

/** Set on every service this backend creates, beside `org.xcs.managed`: what the reconciler may touch. */
export const SWARM_BACKEND_LABEL = 'org.xcs.backend';
/** The image reference the spec named (the service runs its id, or the reference when the hub has credentials). */
export const IMAGE_LABEL = 'org.xcs.image';

/** What the backend found out before building the spec. */
export interface ServiceContext {
  /**
   * What the service runs: the image id (`sha256:…`) the reference resolved to on the manager (no node ever pulls
   * an image named by id), or — when the image's hub has credentials, as XNAT does — the reference itself, which a
   * node lacking it pulls with the auth sent beside the spec (never inside it).
   */
  imageId: string;
  /** Resolved placement constraints (`node.labels.x==y`), from the site's `swarm-constraints`. */
  constraints: string[];
}

function invalid(message: string, where: string, hint?: string): XcsError {
  return new XcsError(BackendErrorCode.invalidSpec, message, { path: where, ...(hint === undefined ? {} : { hint }) });
}

function nonNegative(value: number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) throw invalid(`${where.split('/').pop()} must be a non-negative number, got ${value}`, where);
  return value;
}

/** A constraint is `attribute==value` or `attribute!=value` (what swarm accepts); anything else is refused here. */
export function checkConstraint(constraint: string, where: string): string {
  const c = constraint.trim();
  if (!/^[^=!\s][^=!]*?\s*(==|!=)\s*\S.*$/.test(c)) {
    throw invalid(`Placement constraint "${constraint}" is not of the form attribute==value or attribute!=value`, where,
      'e.g. node.labels.gpu==true or node.role!=manager');
  }
  return c;
}

/** XNAT's rule: a whole number is a discrete resource (a count), anything else a named one (e.g. a GPU's UUID). */
export function genericResourcesOf(resources: Record<string, string> | undefined): Docker.GenericResource[] | undefined {
  if (resources === undefined) return undefined;
  const out: Record<string, unknown>[] = [];
  for (const [kind, raw] of Object.entries(resources)) {
    const value = String(raw).trim();
    if (kind.trim() === '' || value === '') throw invalid(`Generic resource "${kind}" needs a kind and a value`, `/resources/genericResources/${kind}`);
    if (/^\d+$/.test(value)) out.push({ DiscreteResourceSpec: { Kind: kind, Value: Number(value) } });
    else out.push({ NamedResourceSpec: { Kind: kind, Value: value } });
  }
  // The Engine API wraps each resource in its kind of spec; @types/dockerode only knows the inner shape.
  return out.length === 0 ? undefined : (out as Docker.GenericResource[]);
}

/** Options swarm services cannot carry: refused with what to do, never silently dropped. */
function refuseUnsupported(r: ResourceSpec): void {
  if (r.gpus !== undefined && r.gpus.trim() !== '') {
    throw invalid('"gpus" cannot be applied to a swarm service (swarm has no device requests)', '/resources/gpus',
      'ask for GPUs with generic-resources (e.g. {"gpu": "1"}) on nodes started with --node-generic-resource');
  }
  if (r.runtime !== undefined && r.runtime !== '') {
    throw invalid(`"runtime" (${r.runtime}) cannot be chosen per swarm service`, '/resources/runtime',
      'set the default runtime of the swarm nodes\' engines instead');
  }
  if (r.ipcMode !== undefined && r.ipcMode !== '') {
    throw invalid(`"ipc-mode" (${r.ipcMode}) cannot be set on a swarm service`, '/resources/ipcMode');
  }
}

function resourcesOf(r: ResourceSpec): Docker.ResourceRequirements {
  refuseUnsupported(r);
  const reserve = nonNegative(r.reserveMemoryMiB, '/resources/reserveMemoryMiB');
  const limit = nonNegative(r.limitMemoryMiB, '/resources/limitMemoryMiB');
  const cpu = nonNegative(r.limitCpu, '/resources/limitCpu');
  const reservations: Docker.Resources = {};
  const limits: Docker.ResourceLimits = {};
  if (reserve !== undefined && reserve > 0) reservations.MemoryBytes = Math.round(reserve * MIB);
  const generic = genericResourcesOf(r.genericResources);
  if (generic !== undefined) reservations.GenericResources = generic;
  if (limit !== undefined && limit > 0) limits.MemoryBytes = Math.round(limit * MIB);
  if (cpu !== undefined && cpu > 0) limits.NanoCPUs = Math.round(cpu * 1e9);
  return { Reservations: reservations, Limits: limits };
}

function portsOf(ports: Record<string, string> | undefined): Docker.PortConfig[] | undefined {
  if (ports === undefined || Object.keys(ports).length === 0) return undefined;
  return Object.entries(ports).map(([containerPort, hostPort]) => {
    const where = `/ports/${containerPort}`;
    const c = containerPort.trim().replace(/\/tcp$/, '');
    const h = (hostPort ?? '').trim();
    if (c === '' && h === '') throw invalid('Container and host ports are blank.', where);
    if (c === '') throw invalid('Container port is blank.', where);
    if (h === '') throw invalid('Host port is blank.', where);
    if (!/^\d+$/.test(c) || !/^\d+$/.test(h)) throw invalid(`Ports must be numbers (TCP), got ${containerPort} → ${hostPort}`, where);
    // Published on the node that runs the task: XCS swarms have no routing mesh (no ingress overlay).
    return { Protocol: 'tcp' as const, TargetPort: Number(c), PublishedPort: Number(h), PublishMode: 'host' as const };
  });
}

/** Labels on the task's container: the run's own, without XCS's bookkeeping (that lives on the service). */
function containerLabelsOf(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('org.xcs.')));
}

/** The network attachment: none (no attachment; XCS's nodes run without a default bridge), `host`, or a named swarm network. */
function networksOf(network: string | undefined): Docker.NetworkAttachmentConfig[] | undefined {
  if (network === undefined || network === '' || network === 'none') return undefined;
  return [{ Target: network }];
}

/** The create body for `spec` (named `name`); throws `backend.invalid-spec` / `backend.mount-forbidden` for bad specs. */
export function toServiceSpec(spec: ContainerSpec & { name: string }, context: ServiceContext): Docker.CreateServiceOptions {
  if (spec.image.trim() === '') throw invalid('The image is empty', '/image');
  spec.mounts.forEach(checkMountAllowed);
  for (const key of Object.keys(spec.environment)) {
    if (key === '' || key.includes('=')) throw invalid(`Environment variable name "${key}" is not valid`, `/environment/${key}`);
  }
  const constraints = context.constraints.map((c, i) => checkConstraint(c, `/placement/constraints/${i}`));
  const pids = spec.security?.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!Number.isInteger(pids) || pids < 1) throw invalid(`pidsLimit must be a whole number ≥ 1, got ${pids}`, '/security/pidsLimit');
  const capAdd = (spec.security?.capAdd ?? []).map((c, i) => {
    const name = c.trim().toUpperCase().replace(/^CAP_/, '');
    if (!/^[A-Z_]+$/.test(name) || name === 'ALL') throw invalid(`"${c}" is not a capability that can be given back`, `/security/capAdd/${i}`);
    return `CAP_${name}`;
  });
  const { resetEntrypoint, args } = processCommand(spec.commandLine, spec.overrideEntrypoint);
  const shm = nonNegative(spec.resources.shmSizeBytes, '/resources/shmSizeBytes');
  const resources = resourcesOf(spec.resources);
  resources.Limits = { ...resources.Limits, Pids: pids };

  const mounts: Docker.MountSettings[] = spec.mounts.map((m) => ({
    Type: 'bind' as const,
    Source: m.hostPath,
    Target: m.containerPath,
    ReadOnly: !m.writable,
  }));
  if (shm !== undefined && shm > 0) mounts.push({ Type: 'tmpfs', Source: '', Target: '/dev/shm', TmpfsOptions: { SizeBytes: Math.round(shm), Mode: 0o1777 } });
  if (spec.security?.readOnlyRootfs === true) mounts.push({ Type: 'tmpfs', Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024 * MIB, Mode: 0o1777 } });
  const ulimits = ulimitsOf(spec.resources.ulimits);

  const containerSpec: Docker.ContainerSpec = {
    Image: context.imageId,
    // override-entrypoint: the command replaces the image's entrypoint; otherwise the split line is the arguments.
    ...(resetEntrypoint ? { Command: args } : { Args: args }),
    ...(spec.workingDirectory === undefined || spec.workingDirectory.trim() === '' ? {} : { Dir: spec.workingDirectory }),
    Env: Object.entries(spec.environment).map(([k, v]) => `${k}=${v}`),
    Labels: containerLabelsOf(spec.labels),
    ...(spec.user === undefined || spec.user === '' ? {} : { User: spec.user }),
    Mounts: mounts,
    CapabilityDrop: ['ALL'],
    ...(capAdd.length > 0 ? { CapabilityAdd: capAdd } : {}),
    ...(spec.security?.readOnlyRootfs === true ? { ReadOnly: true } : {}),
    ...(ulimits !== undefined && ulimits.length > 0 ? { Ulimits: ulimits } : {}),
    // A kill removes the service; a task stopped any other way (a node draining) ends at once too.
    StopSignal: 'SIGKILL',
    TTY: false,
    OpenStdin: false,
  };

  const ports = portsOf(spec.ports);
  const networks = networksOf(spec.network);
  return {
    Name: spec.name,
    Labels: { ...spec.labels, [IMAGE_LABEL]: spec.image, [XCS_LABELS.managed]: 'true', [SWARM_BACKEND_LABEL]: 'swarm' },
    TaskTemplate: {
      ContainerSpec: containerSpec,
      Resources: resources,
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: constraints.length > 0 ? { Constraints: constraints } : {},
      ...(networks === undefined ? {} : { Networks: networks }),
    },
    Mode: { Replicated: { Replicas: 0 } },
    ...(ports === undefined ? {} : { EndpointSpec: { Mode: 'vip', Ports: ports } }),
  };
}
