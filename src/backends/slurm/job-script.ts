/**
 * The batch job of one run: its `sbatch` options, the shell script Slurm runs on the allocated node, and the
 * environment file the container gets. Pure, so every rule is unit-tested without a cluster.
 *
 * The script runs the container with the node's engine (`docker`, or `podman` with the same CLI) under a
 * deterministic name, records when it started and how it ended in the job's directory on the shared file
 * system, and removes the container when the job ends — also when Slurm cancels it or stops it at its time
 * limit (a trap on SIGTERM: the container is a child of the engine, not of the job, so Slurm alone would
 * leave it running). Every value in the script is single-quoted; the environment (secrets included) is not in
 * the script at all: it is in a separate 0600 file the job opens and deletes before the container starts.
 */
import path from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { processCommand } from '../command-line.ts';
import { checkMountAllowed, ulimitsOf } from '../docker/container-config.ts';
import { BackendErrorCode, XCS_LABELS, type ContainerSpec } from '../types.ts';

/** Processes a container may have when the spec sets no limit (as for Docker). */
const DEFAULT_PIDS_LIMIT = 4096;

/** Where Slurm should put a job and how it may use the cluster (server settings, then the run's own choices). */
export interface SlurmPlacement {
  partition?: string;
  account?: string;
  qos?: string;
  /** `--time` in whole minutes (Slurm's smallest unit). */
  timeLimitMinutes?: number;
}

export interface JobFiles {
  /** The job's directory on the shared file system (also its working directory). */
  dir: string;
  script: string;
  env: string;
  stdout: string;
  stderr: string;
}

export function jobFiles(dir: string): JobFiles {
  return {
    dir,
    script: path.join(dir, 'job.sh'),
    env: path.join(dir, 'env'),
    stdout: path.join(dir, 'stdout.log'),
    stderr: path.join(dir, 'stderr.log'),
  };
}

/** A shell word that means exactly `value` (single quotes; a quote inside is closed, escaped and reopened). */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw invalid('A value holds a NUL character, which no process argument can carry', '/');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function invalid(message: string, where: string, hint?: string): XcsError {
  return new XcsError(BackendErrorCode.invalidSpec, message, { path: where, ...(hint === undefined ? {} : { hint }) });
}

/** Slurm names and Docker names share these characters; anything else is refused before it reaches either. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Partition, account and QoS names as Slurm allows them. */
const SLURM_WORD = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkJobName(name: string): void {
  if (!SAFE_NAME.test(name)) {
    throw invalid(`Container name "${name}" cannot name a Slurm job`, '/name', 'Use letters, digits, "_", "." and "-" only');
  }
}

/** The environment file the engine reads (`--env-file`): `NAME=value` lines, no quoting, no expansion. */
export function envFileOf(environment: Record<string, string>): string {
  let out = '';
  for (const [key, value] of Object.entries(environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) throw invalid(`Environment variable name "${key}" is not valid`, `/environment/${key}`);
    if (/[\n\r\0]/.test(value)) {
      throw invalid(`Environment variable ${key} holds a line break, which the Slurm backend cannot pass to the container`, `/environment/${key}`);
    }
    out += `${key}=${value}\n`;
  }
  return out;
}

/** The `sbatch` arguments for a job (the script path comes last). */
export function sbatchArgs(spec: ContainerSpec & { name: string }, files: JobFiles, placement: SlurmPlacement, comment: string): string[] {
  const r = spec.resources;
  const args = [
    `--job-name=${spec.name}`,
    `--comment=${comment}`,
    `--chdir=${files.dir}`,
    `--output=${files.stdout}`,
    `--error=${files.stderr}`,
    '--nodes=1',
    '--ntasks=1',
    // A job that fails on its node is a failed run (XCS retries by policy), never silently run twice.
    '--no-requeue',
    // The job gets none of the XCS server's environment (which may hold its own credentials).
    '--export=NIL',
  ];
  const memory = r.limitMemoryMiB ?? r.reserveMemoryMiB;
  if (memory !== undefined && memory > 0) args.push(`--mem=${Math.ceil(memory)}M`);
  if (r.limitCpu !== undefined && r.limitCpu > 0) args.push(`--cpus-per-task=${Math.ceil(r.limitCpu)}`);
  const gpus = gpuCount(r.gpus);
  if (gpus !== null) args.push(`--gres=gpu:${gpus}`);
  for (const [option, value] of [['partition', placement.partition], ['account', placement.account], ['qos', placement.qos]] as const) {
    if (value === undefined || value === '') continue;
    if (!SLURM_WORD.test(value)) throw invalid(`Slurm ${option} "${value}" is not a valid name`, `/placement/${option}`);
    args.push(`--${option}=${value}`);
  }
  // The run's max-runtime, else the site's default; Slurm counts whole minutes.
  const minutes = spec.maxRuntimeSeconds !== undefined ? spec.maxRuntimeSeconds / 60 : placement.timeLimitMinutes;
  if (minutes !== undefined) {
    if (!Number.isFinite(minutes) || minutes <= 0) throw invalid(`The time limit must be positive, got ${minutes} minutes`, '/maxRuntimeSeconds');
    args.push(`--time=${Math.ceil(minutes)}`);
  }
  args.push(files.script);
  return args;
}

/** Slurm counts GPUs (`--gres=gpu:N`); device ids become their count, `all` cannot be asked for. */
export function gpuCount(gpus: string | undefined): number | null {
  if (gpus === undefined || gpus.trim() === '') return null;
  const v = gpus.trim();
  if (/^\d+$/.test(v)) return Number(v) > 0 ? Number(v) : null;
  if (v === 'all') {
    throw invalid('gpus "all" cannot be asked of Slurm, which allocates a number of GPUs', '/resources/gpus',
      'Give the command a GPU count (e.g. "gpus": "1")');
  }
  const ids = v.replace(/^device=/, '').split(',').filter((s) => s.trim() !== '');
  if (ids.length === 0) throw invalid(`gpus must be a count or device ids, got "${gpus}"`, '/resources/gpus');
  return ids.length;
}

function numberOption(value: number | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) throw invalid(`${where.split('/').pop()} must be a non-negative number, got ${value}`, where);
  return value > 0 ? value : undefined;
}

/** The engine's `run` arguments after `run` (the image and the process last). Values are not yet quoted. */
export function runnerRunArgs(spec: ContainerSpec & { name: string }, envFile: string): string[] {
  if (spec.image.trim() === '') throw invalid('The image is empty', '/image');
  spec.mounts.forEach(checkMountAllowed);
  const args = ['--name', spec.name, '--env-file', envFile, '--sig-proxy=false', '--log-driver=none'];
  for (const [k, v] of Object.entries({ ...spec.labels, [XCS_LABELS.managed]: 'true' })) args.push('--label', `${k}=${v}`);
  const network = spec.network === undefined || spec.network === '' ? 'none' : spec.network;
  args.push('--network', network, '--security-opt', 'no-new-privileges', '--cap-drop', 'ALL');
  for (const cap of spec.security?.capAdd ?? []) {
    const name = cap.trim().toUpperCase().replace(/^CAP_/, '');
    if (!/^[A-Z_]+$/.test(name) || name === 'ALL') throw invalid(`"${cap}" is not a Linux capability name`, '/security/capAdd');
    args.push('--cap-add', name);
  }
  const pids = spec.security?.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  if (!Number.isInteger(pids) || pids < 1) throw invalid(`pidsLimit must be a whole number ≥ 1, got ${pids}`, '/security/pidsLimit');
  args.push('--pids-limit', String(pids));
  if (spec.security?.readOnlyRootfs === true) args.push('--read-only', '--tmpfs', '/tmp:rw,nosuid,nodev,size=1g');
  for (const m of spec.mounts) {
    // --mount is read as CSV: a comma or quote in a path would change its meaning.
    for (const p of [m.hostPath, m.containerPath]) {
      if (/[,"\n]/.test(p)) throw invalid(`Mount path "${p}" holds a comma, quote or line break`, '/mounts');
    }
    args.push('--mount', `type=bind,source=${m.hostPath},target=${m.containerPath}${m.writable ? '' : ',readonly'}`);
  }
  const r = spec.resources;
  const limit = numberOption(r.limitMemoryMiB, '/resources/limitMemoryMiB');
  const reserve = numberOption(r.reserveMemoryMiB, '/resources/reserveMemoryMiB');
  // The engine enforces the limits of the job's allocation on its container (the node may not confine jobs itself).
  if (limit !== undefined) args.push('--memory', `${Math.round(limit * 1024)}k`, '--memory-swap', `${Math.round(limit * 1024)}k`);
  if (reserve !== undefined) args.push('--memory-reservation', `${Math.round(reserve * 1024)}k`);
  const cpu = numberOption(r.limitCpu, '/resources/limitCpu');
  if (cpu !== undefined) args.push('--cpus', String(cpu));
  const shm = numberOption(r.shmSizeBytes, '/resources/shmSizeBytes');
  if (shm !== undefined) args.push('--shm-size', String(Math.round(shm)));
  for (const u of ulimitsOf(r.ulimits) ?? []) args.push('--ulimit', `${u.Name}=${u.Soft}:${u.Hard}`);
  if (gpuCount(r.gpus) !== null) args.push('--gpus', String(gpuCount(r.gpus)));
  if (r.runtime !== undefined && r.runtime !== '') args.push('--runtime', r.runtime);
  if (r.ipcMode !== undefined && r.ipcMode !== '') args.push('--ipc', r.ipcMode);
  for (const [containerPort, hostPort] of Object.entries(spec.ports ?? {})) {
    if (!/^\d+(\/(tcp|udp))?$/.test(containerPort.trim()) || !/^\d+$/.test(String(hostPort).trim())) {
      throw invalid(`Port mapping ${containerPort} → ${hostPort} is not numeric`, `/ports/${containerPort}`);
    }
    args.push('--publish', `${String(hostPort).trim()}:${containerPort.trim()}`);
  }
  if (spec.workingDirectory !== undefined && spec.workingDirectory !== '') args.push('--workdir', spec.workingDirectory);
  if (spec.user !== undefined && spec.user !== '') args.push('--user', spec.user);
  const { resetEntrypoint, args: process } = processCommand(spec.commandLine, spec.overrideEntrypoint);
  if (resetEntrypoint) args.push('--entrypoint', '');
  args.push('--', spec.image, ...process);
  return args;
}

/**
 * The batch script. Exit status files (written atomically, read by XCS): `started` (the container is about to
 * run), `exit` (`<code> <oom-killed> <started> <finished>` from the engine), `error` (why no container ran).
 */
export function jobScript(spec: ContainerSpec & { name: string }, files: JobFiles, runner: string): string {
  checkJobName(spec.name);
  if (!/^[A-Za-z0-9_./-]+$/.test(runner)) throw invalid(`Container runner "${runner}" is not a program name or path`, '/runner');
  const q = shellQuote;
  const runArgs = runnerRunArgs(spec, '/dev/fd/3').map(q).join(' \\\n  ');
  const mounts = spec.mounts.map((m) => q(m.hostPath)).join(' ');
  return `#!/bin/sh
# The XCS run container ${spec.name}, as a Slurm batch job. Generated by XCS: every value is single-quoted.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
name=${q(spec.name)}
dir=${q(files.dir)}
runner=${q(runner)}
pid=

record() {
  printf '%s\\n' "$2" >"$dir/.$1.tmp" && mv -f "$dir/.$1.tmp" "$dir/$1"
}

# How the container ended, from the engine; then the container goes (the logs are in the job's files).
# $1: how many times (every 0.25 s) to read a SIGKILL exit again for the engine's late OOM flag.
finish() {
  format='{{.State.ExitCode}} {{.State.OOMKilled}} {{.State.StartedAt}} {{.State.FinishedAt}}'
  info=$("$runner" inspect --format "$format" "$name" 2>/dev/null) || info=
  # The engine may set the OOM flag a moment after a SIGKILL exit (later still under load): read it again before the
  # container goes. Not after a kill of ours (stop), whose SIGKILL is no OOM.
  tries=0
  while [ "\${info%% *}" = 137 ] && [ "$(echo "$info" | cut -d' ' -f2)" = false ] && [ "$tries" -lt "$1" ]; do
    sleep 0.25
    tries=$((tries + 1))
    info=$("$runner" inspect --format "$format" "$name" 2>/dev/null) || info=
  done
  if [ -n "$info" ]; then record exit "$info"; fi
  "$runner" rm -f "$name" >/dev/null 2>&1
}

# Cancelled, killed by XCS or at the time limit: stop the container with the signal XCS asked for (KILL by default).
stop() {
  trap '' TERM INT HUP USR1
  sig=KILL
  if [ -f "$dir/kill-signal" ]; then sig=$(tr -cd 'A-Z0-9' <"$dir/kill-signal"); fi
  "$runner" kill --signal "$sig" "$name" >/dev/null 2>&1
  # A cancel just after the start may come while the runner is still creating the container, which the kill then
  # missed: signal it again until the run command returned (within Slurm's KillWait of 5 s before its SIGKILL).
  tries=0
  while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 10 ]; do
    sleep 0.25
    tries=$((tries + 1))
    "$runner" kill --signal "$sig" "$name" >/dev/null 2>&1
  done
  "$runner" wait "$name" >/dev/null 2>&1
  if [ -n "$pid" ]; then wait "$pid" 2>/dev/null; fi
  finish 0
  exit 143
}
trap stop TERM INT HUP USR1

# The shared file system must show every mount source on this node too.
for source in ${mounts}; do
  if [ ! -e "$source" ]; then
    record error "mount-missing $source"
    echo "xcs: mount source $source does not exist on node $(hostname)" >&2
    exit 121
  fi
done

# The environment (secrets included) is read through a descriptor and deleted before the container starts.
if ! exec 3<"$dir/env"; then
  record error "env-missing"
  exit 122
fi
rm -f "$dir/env"
"$runner" rm -f "$name" >/dev/null 2>&1
record started "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
"$runner" run ${runArgs} &
pid=$!
exec 3<&-
wait "$pid"
code=$?
finish 12
if [ ! -f "$dir/exit" ]; then record error "runner-failed $code"; fi
exit "$code"
`;
}
