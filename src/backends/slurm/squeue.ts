/**
 * What `squeue` says about jobs, read from a fixed output format (the Debian 12 `squeue --json` prints every
 * field of every job and ignores the job filter, so a fixed format of the fields we use is both smaller and
 * exact). Fields are separated by the ASCII unit separator, which no job name, comment or reason contains.
 */

/** A Slurm job state (`squeue %T`), e.g. `PENDING`, `RUNNING`, `OUT_OF_MEMORY`. */
export type SlurmState = string;

export interface SlurmJob {
  jobId: string;
  name: string;
  state: SlurmState;
  /** Why the job is pending or ended the way it did (`Resources`, `JobHeldUser`, `None`…). */
  reason: string;
  /** The node the job runs or ran on; null before it was placed. */
  node: string | null;
  comment: string;
  startTime: Date | null;
  endTime: Date | null;
}

const SEP = '\x1f';
/** id, name, state, reason, nodes, comment, start, end. */
export const SQUEUE_FORMAT = ['%i', '%j', '%T', '%r', '%N', '%k', '%S', '%e'].join(SEP);

function timeOf(value: string): Date | null {
  // Slurm prints local time without a zone (`2026-12-06T23:52:17`), or N/A / Unknown / None.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The jobs of one `squeue -h -o SQUEUE_FORMAT` answer; lines it cannot read are skipped, never guessed. */
export function parseSqueue(output: string): SlurmJob[] {
  const jobs: SlurmJob[] = [];
  for (const line of output.split('\n')) {
    const f = line.split(SEP);
    if (f.length !== 8 || !/^\d+$/.test(f[0].trim())) continue;
    const node = f[4].trim();
    jobs.push({
      jobId: f[0].trim(),
      name: f[1],
      state: f[2].trim(),
      reason: f[3].trim(),
      node: node === '' || node === '(null)' ? null : node,
      comment: f[5] === '(null)' ? '' : f[5],
      startTime: timeOf(f[6].trim()),
      endTime: timeOf(f[7].trim()),
    });
  }
  return jobs;
}

/** `sbatch --parsable` prints `jobid` or `jobid;cluster`. */
export function parseSubmitted(output: string): string | null {
  const m = /^(\d+)(?:;\S+)?\s*$/.exec(output.trim());
  return m === null ? null : m[1];
}
