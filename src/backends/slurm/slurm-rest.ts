/**
 * Slurm through slurmrestd (its OpenAPI `v0.0.38`, the slurmctld part — Debian 12's Slurm 22.05) with JWT
 * authentication: every request carries `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN` (a token from
 * `scontrol token`, read from a file the site keeps fresh, or from the environment). The backend builds `sbatch`
 * arguments (`job-script.ts`); this client turns that closed set of options into the job description of
 * `POST /job/submit`, with the script's text read from the shared file system, and refuses an option it does not
 * know rather than drop it. Job states and reasons are Slurm's own names, as `squeue` prints them.
 */
import { readFile, stat } from 'node:fs/promises';
import { XcsError } from '../../core/errors.ts';
import { BackendErrorCode } from '../types.ts';
import type { SlurmClient } from './slurm-cli.ts';
import type { SlurmJob } from './squeue.ts';

export interface SlurmRestOptions {
  /** slurmrestd's base URL, e.g. `http://127.0.0.1:6820`. */
  url: string;
  /** The Slurm user the jobs are submitted as (the token's user). */
  user: string;
  /** A file holding the token (`SLURM_JWT=…` as `scontrol token` prints it, or the bare token); re-read when it changes. */
  tokenFile?: string;
  /** The token itself (used when there is no file). */
  token?: string;
  /** Longest a request may take (default 30 s). */
  timeoutMs?: number;
}

const API = '/slurm/v0.0.38';

/** The job description of `POST /job/submit` (the subset XCS sets). */
export interface RestJobProperties {
  name?: string;
  comment?: string;
  current_working_directory?: string;
  standard_output?: string;
  standard_error?: string;
  nodes?: [number, number];
  tasks?: number;
  requeue?: boolean;
  environment: Record<string, string>;
  memory_per_node?: number;
  cpus_per_task?: number;
  gres?: string;
  partition?: string;
  account?: string;
  qos?: string;
  time_limit?: number;
}

function invalid(message: string): XcsError {
  return new XcsError(BackendErrorCode.invalidSpec, message, { hint: 'The REST client knows the sbatch options XCS builds (job-script.ts)' });
}

function positiveInt(option: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw invalid(`sbatch ${option} needs a positive whole number, got "${value}"`);
  return Number(value);
}

/**
 * The REST job description and script path of `sbatch` arguments as `sbatchArgs` builds them. `--export=NIL`
 * (the job gets none of the server's environment) is an empty environment here: slurmrestd wants at least one
 * entry, so the job gets a bare `PATH` (the job script sets its own anyway).
 */
export function restJobOf(args: string[]): { job: RestJobProperties; script: string } {
  const script = args.at(-1);
  if (script === undefined || script.startsWith('-')) throw invalid('The sbatch arguments end with no script path');
  const job: RestJobProperties = { environment: { PATH: '/usr/bin:/bin' } };
  for (const arg of args.slice(0, -1)) {
    const m = /^(--[a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (m === null) throw invalid(`Unexpected sbatch argument "${arg.slice(0, 80)}"`);
    const [, option, value = ''] = m;
    switch (option) {
      case '--job-name': job.name = value; break;
      case '--comment': job.comment = value; break;
      case '--chdir': job.current_working_directory = value; break;
      case '--output': job.standard_output = value; break;
      case '--error': job.standard_error = value; break;
      case '--nodes': { const n = positiveInt(option, value); job.nodes = [n, n]; break; }
      case '--ntasks': job.tasks = positiveInt(option, value); break;
      case '--no-requeue': job.requeue = false; break;
      case '--export':
        if (value !== 'NIL') throw invalid(`sbatch --export=${value.slice(0, 40)} is not supported over REST (only NIL)`);
        break;
      case '--mem': {
        const mem = /^(\d+)M$/.exec(value);
        if (mem === null) throw invalid(`sbatch --mem must be in MiB ("96M"), got "${value}"`);
        job.memory_per_node = positiveInt(option, mem[1]);
        break;
      }
      case '--cpus-per-task': job.cpus_per_task = positiveInt(option, value); break;
      case '--gres': job.gres = value; break;
      case '--partition': job.partition = value; break;
      case '--account': job.account = value; break;
      case '--qos': job.qos = value; break;
      case '--time': job.time_limit = positiveInt(option, value); break;
      default: throw invalid(`sbatch option ${option} has no REST counterpart in XCS`);
    }
  }
  return { job, script };
}

/** The `jobs` entries of a `GET /jobs` or `GET /job/{id}` answer as the backend reads them. */
export function jobsOfRest(body: unknown): SlurmJob[] {
  const list = (body as { jobs?: unknown } | null)?.jobs;
  if (!Array.isArray(list)) return [];
  const out: SlurmJob[] = [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const time = (v: unknown): Date | null => (typeof v === 'number' && v > 0 ? new Date(v * 1000) : null);
  for (const j of list as Array<Record<string, unknown>>) {
    if (typeof j.job_id !== 'number') continue;
    const node = text(j.nodes);
    out.push({
      jobId: String(j.job_id),
      name: text(j.name),
      state: text(j.job_state),
      reason: text(j.state_reason) || 'None',
      node: node === '' ? null : node,
      comment: text(j.comment),
      startTime: time(j.start_time),
      endTime: time(j.end_time),
    });
  }
  return out;
}

interface RestError {
  error?: string;
  description?: string;
  error_number?: number;
  error_code?: number;
}

function numberOf(e: RestError): number {
  return e.error_number ?? e.error_code ?? -1;
}

/**
 * Errors that mean slurmrestd got no answer from slurmctld for this user: an unspecified failure to load what was
 * asked, an authentication error, or a communication error (5000s) — what a token slurmctld rejects looks like.
 */
function controllerRefused(n: number): boolean {
  return n === -1 || n === 1007 || (n >= 5000 && n < 6000);
}

const MAX_TOKEN_BYTES = 8192;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The token of `scontrol token` output (`SLURM_JWT=…`) or a bare token; anything else is refused, never sent. */
export function jwtOf(text: string, from: string): string {
  const token = text.trim().replace(/^SLURM_JWT=/, '');
  if (!JWT.test(token)) {
    throw new XcsError(BackendErrorCode.unavailable, `${from} holds no JSON web token`, {
      hint: 'It must hold what scontrol token prints (SLURM_JWT=…) or the token alone',
    });
  }
  return token;
}

/** Slurm's "Invalid job id specified" (ESLURM_INVALID_JOB_ID). */
const INVALID_JOB_ID = 2017;
/** Slurm's "Job/step already completing or completed" (ESLURM_ALREADY_DONE). */
const ALREADY_DONE = 2021;

export class SlurmRest implements SlurmClient {
  private token: { value: string; mtimeMs: number } | null = null;

  constructor(private readonly options: SlurmRestOptions) {
    if (!/^https?:\/\/[^/]+/.test(options.url)) throw invalid(`slurmrestd URL "${options.url.slice(0, 100)}" is not http:// or https://`);
    if (options.tokenFile === undefined && (options.token ?? '') === '') {
      throw new XcsError(BackendErrorCode.invalidSpec, 'The Slurm REST client needs a token (a token file or XCS_SLURM_JWT)', {
        hint: 'scontrol token username=USER lifespan=SECONDS prints one; keep it fresh in the token file',
      });
    }
  }

  async submit(args: string[]): Promise<string> {
    const { job, script } = restJobOf(args);
    const text = await readFile(script, 'utf8');
    const body = await this.request('POST', '/job/submit', { script: text, job }, BackendErrorCode.startFailed);
    const id = (body as { job_id?: unknown }).job_id;
    if (typeof id !== 'number') {
      throw new XcsError(BackendErrorCode.startFailed, 'slurmrestd accepted the job but gave no job id', { hint: 'See the Slurm controller\'s log' });
    }
    return String(id);
  }

  async cancel(jobId: string): Promise<void> {
    // A job that ended meanwhile is what cancelling wanted.
    await this.request('DELETE', `/job/${encodeURIComponent(jobId)}`, undefined, BackendErrorCode.requestFailed, [INVALID_JOB_ID, ALREADY_DONE]);
  }

  async jobs(ids: string[]): Promise<SlurmJob[]> {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    // One query for all of them: the controller's job list (ended jobs stay in it for MinJobAge).
    return (await this.allJobs()).filter((j) => wanted.has(j.jobId));
  }

  async jobsNamed(name: string): Promise<SlurmJob[]> {
    return (await this.allJobs()).filter((j) => j.name === name);
  }

  async showJob(jobId: string): Promise<Record<string, string>> {
    const body = await this.request('GET', `/job/${encodeURIComponent(jobId)}`, undefined, BackendErrorCode.notFound);
    const job = ((body as { jobs?: Array<Record<string, unknown>> }).jobs ?? [])[0] ?? {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(job)) if (v !== null && typeof v !== 'object') out[k] = String(v);
    return out;
  }

  async ping(): Promise<void> {
    const body = await this.request('GET', '/ping', undefined, BackendErrorCode.unavailable);
    const pings = (body as { pings?: Array<{ ping?: string }> }).pings ?? [];
    if (!pings.some((p) => p.ping === 'UP')) {
      throw new XcsError(BackendErrorCode.unavailable, 'slurmrestd answers but the Slurm controller does not', {
        hint: 'Start slurmctld (scripts/slurm-harness.sh on a test machine)',
      });
    }
  }

  async version(): Promise<string> {
    const body = await this.request('GET', '/ping', undefined, BackendErrorCode.unavailable);
    const release = (body as { meta?: { Slurm?: { release?: unknown } } }).meta?.Slurm?.release;
    return typeof release === 'string' ? release : 'unknown';
  }

  private async allJobs(): Promise<SlurmJob[]> {
    return jobsOfRest(await this.request('GET', '/jobs', undefined, BackendErrorCode.requestFailed));
  }

  /**
   * The token to send. Only something shaped like a JWT ever leaves: the file is named by a setting, and without
   * this check a mistaken (or hostile) path would send that file's first line to slurmrestd's URL.
   */
  private async currentToken(): Promise<string> {
    const file = this.options.tokenFile;
    if (file === undefined) return jwtOf(this.options.token ?? '', 'XCS_SLURM_JWT');
    let mtimeMs: number;
    try {
      const info = await stat(file);
      mtimeMs = info.mtimeMs;
      if (this.token === null || this.token.mtimeMs !== mtimeMs) {
        if (info.size > MAX_TOKEN_BYTES) throw new Error(`larger than ${MAX_TOKEN_BYTES} bytes`);
        this.token = { value: jwtOf(await readFile(file, 'utf8'), `the token file ${file}`), mtimeMs };
      }
    } catch (e) {
      if (e instanceof XcsError) throw e;
      throw new XcsError(BackendErrorCode.unavailable, `The Slurm token file ${file} cannot be read: ${(e as Error).message.slice(0, 200)}`, {
        path: file, hint: 'scontrol token username=USER lifespan=SECONDS > FILE (mode 0600)', cause: e,
      });
    }
    return this.token.value;
  }

  /** One request; Slurm's errors in the answer fail it unless their number is `tolerated`. */
  private async request(method: string, path: string, body: unknown, code: string, tolerated: number[] = []): Promise<unknown> {
    const url = `${this.options.url.replace(/\/$/, '')}${API}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          'X-SLURM-USER-NAME': this.options.user, 'X-SLURM-USER-TOKEN': await this.currentToken(), accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (e) {
      if (e instanceof XcsError) throw e;
      throw new XcsError(BackendErrorCode.unavailable, `slurmrestd at ${this.options.url} does not answer: ${(e as Error).message}`, {
        hint: 'Start slurmrestd (scripts/slurm-harness.sh on a test machine) or check "slurm-rest-url"', cause: e,
      });
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new XcsError(BackendErrorCode.unavailable, `slurmrestd refused the token of ${this.options.user} (${res.status})`, {
        hint: 'The token may have expired: scontrol token username=USER lifespan=SECONDS, written to the token file',
      });
    }
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new XcsError(code, `slurmrestd answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
    }
    const errors = ((parsed as { errors?: RestError[] } | null)?.errors ?? []).filter((e) => !tolerated.includes(numberOf(e)));
    if (errors.length > 0 || (!res.ok && parsed === null)) {
      const message = errors.map((e) => [e.error, e.description].filter(Boolean).join(': ')).join('; ') || `HTTP ${res.status}`;
      if (errors.some((e) => numberOf(e) === INVALID_JOB_ID)) {
        throw new XcsError(BackendErrorCode.notFound, `slurmrestd ${method} ${path}: ${message.slice(0, 500)}`, { path });
      }
      if (errors.some((e) => controllerRefused(numberOf(e)))) {
        // slurmctld closes the connection on a credential it does not accept: slurmrestd can only say it got nothing.
        throw new XcsError(BackendErrorCode.unavailable,
          `slurmrestd could not talk to the Slurm controller as ${this.options.user}; an expired or wrong token does this `
          + `(${method} ${path}: ${message.slice(0, 300)})`, {
            path, hint: 'An expired or wrong token does this: write a fresh one to the token file (scontrol token username=USER '
              + 'lifespan=SECONDS); else check that slurmctld runs',
          });
      }
      throw new XcsError(code, `slurmrestd ${method} ${path}: ${message.slice(0, 500)}`, { path });
    }
    return parsed;
  }
}
