/**
 * Slurm through its command-line tools (`sbatch`, `squeue`, `scontrol`, `scancel`, `sinfo`), with
 * machine-readable output only: `--parsable` submissions and a fixed `squeue` format. Every call is an
 * `execFile` (no shell): job names, comments and paths reach Slurm as single arguments.
 */
import { execFile } from 'node:child_process';
import { XcsError } from '../../core/errors.ts';
import { BackendErrorCode } from '../types.ts';
import { parseSqueue, parseSubmitted, SQUEUE_FORMAT, type SlurmJob } from './squeue.ts';

export interface SlurmCliOptions {
  /** Where the Slurm commands are (default: found on PATH). */
  binDir?: string;
  /** Passed as `SLURM_CONF` when set. */
  configFile?: string;
  /** Longest a command may take before it counts as hung (default 30 s). */
  timeoutMs?: number;
}

/** How XCS talks to Slurm: the CLI here, or slurmrestd (`slurm-rest.ts`). */
export interface SlurmClient {
  /** Submits `sbatch` with these arguments (the script path last); returns the job id. */
  submit(args: string[]): Promise<string>;
  /** Cancels the job (a job that already ended is not an error). */
  cancel(jobId: string): Promise<void>;
  /** The jobs with these ids that Slurm still knows (ended ones for MinJobAge), in one query. */
  jobs(ids: string[]): Promise<SlurmJob[]>;
  /** Jobs with exactly this name (any state Slurm still knows). */
  jobsNamed(name: string): Promise<SlurmJob[]>;
  /** `scontrol show job` as key → value (for people and tests; not parsed for decisions). */
  showJob(jobId: string): Promise<Record<string, string>>;
  /** Resolves when the controller answers. */
  ping(): Promise<void>;
  version(): Promise<string>;
}

interface Output {
  stdout: string;
  stderr: string;
}

export class SlurmCli implements SlurmClient {
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: SlurmCliOptions = {}) {
    this.env = { ...process.env, ...(options.configFile === undefined ? {} : { SLURM_CONF: options.configFile }) };
  }

  async submit(args: string[]): Promise<string> {
    const out = await this.run('sbatch', ['--parsable', ...args], BackendErrorCode.startFailed);
    const id = parseSubmitted(out.stdout);
    if (id === null) {
      throw new XcsError(BackendErrorCode.startFailed, `sbatch gave no job id: ${(out.stdout + out.stderr).trim().slice(0, 300)}`, {
        hint: 'See the Slurm controller\'s log',
      });
    }
    return id;
  }

  async cancel(jobId: string): Promise<void> {
    // A job that ended meanwhile is what cancelling wanted.
    await this.run('scancel', [jobId], BackendErrorCode.requestFailed, (e) => /already completed|Invalid job id|not pending/i.test(e));
  }

  async jobs(ids: string[]): Promise<SlurmJob[]> {
    if (ids.length === 0) return [];
    // squeue skips ids it no longer knows when others are valid, and fails when none is.
    const out = await this.run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', SQUEUE_FORMAT], BackendErrorCode.requestFailed,
      (e) => /Invalid job id/i.test(e));
    return parseSqueue(out.stdout);
  }

  async jobsNamed(name: string): Promise<SlurmJob[]> {
    const out = await this.run('squeue', ['-h', '-t', 'all', '-n', name, '-o', SQUEUE_FORMAT], BackendErrorCode.requestFailed);
    return parseSqueue(out.stdout).filter((j) => j.name === name);
  }

  async showJob(jobId: string): Promise<Record<string, string>> {
    const out = await this.run('scontrol', ['show', 'job', '-o', jobId], BackendErrorCode.notFound);
    const fields: Record<string, string> = {};
    // One line of `Key=Value` pairs; values may hold spaces only in a few fields we do not split on.
    for (const m of out.stdout.matchAll(/(\S+?)=(\S*)/g)) fields[m[1]] ??= m[2];
    return fields;
  }

  async ping(): Promise<void> {
    const out = await this.run('scontrol', ['ping'], BackendErrorCode.unavailable);
    if (!/\bUP\b/.test(out.stdout)) {
      throw new XcsError(BackendErrorCode.unavailable, `The Slurm controller does not answer: ${out.stdout.trim()}`, {
        hint: 'Start slurmctld (scripts/slurm-harness.sh on a test machine) or check SlurmctldHost in slurm.conf',
      });
    }
  }

  async version(): Promise<string> {
    const out = await this.run('sbatch', ['--version'], BackendErrorCode.unavailable);
    return out.stdout.trim().replace(/^slurm(-wlm)?\s+/i, '');
  }

  /** Runs one tool; a failure whose message `tolerated` accepts counts as success with empty output. */
  private run(tool: string, args: string[], code: string, tolerated?: (stderr: string) => boolean): Promise<Output> {
    const file = this.options.binDir === undefined ? tool : `${this.options.binDir.replace(/\/$/, '')}/${tool}`;
    return new Promise((resolve, reject) => {
      execFile(file, args, { env: this.env, timeout: this.options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ stdout, stderr });
            return;
          }
          const message = (stderr || error.message).trim();
          if (tolerated?.(message) === true) {
            resolve({ stdout: '', stderr });
            return;
          }
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          const unreachable = missing || /Unable to contact slurm controller|Connection refused|Zero Bytes were transmitted/i.test(message);
          reject(new XcsError(unreachable ? BackendErrorCode.unavailable : code,
            missing ? `${tool} is not installed on the XCS server` : `${tool} failed: ${message.slice(0, 500)}`, {
              path: tool,
              hint: unreachable
                ? 'XCS needs the Slurm client tools and a reachable slurmctld (apt-get install slurm-client; slurm.conf and the munge key of the cluster)'
                : undefined,
              cause: error,
            }));
        });
    });
  }
}
