/**
 * The job directories on the shared file system: one per container name, `{root}/{name}/`, holding what XCS
 * wrote (`meta.json`, `job.sh`, the one-shot `env`, `job-id`, `kill-signal`) and what the job wrote (`started`,
 * `exit`, `error`, the stdout/stderr logs). The directory is the container's existence: `remove` deletes it, and
 * after a restart XCS finds its jobs by listing these directories (Slurm forgets ended jobs after MinJobAge).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jobFiles, type JobFiles } from './job-script.ts';

export interface JobMeta {
  name: string;
  image: string;
  labels: Record<string, string>;
  created: string;
}

/** What the job recorded about its container. */
export interface JobRecord {
  /** When the container was about to start (the job's clock). */
  started: Date | null;
  exit: { code: number; oomKilled: boolean; startedAt: Date | null; finishedAt: Date | null } | null;
  /** `mount-missing /path`, `env-missing`, `runner-failed 125`: why no container ran. */
  error: string | null;
}

const ZERO_TIME = /^0001-01-01/;

function dateOf(value: string | undefined): Date | null {
  if (value === undefined || value === '' || ZERO_TIME.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `<code> <oom> <started> <finished>` as the job script writes it (the engine's inspect format). */
export function parseExitLine(line: string): JobRecord['exit'] {
  const [code, oom, started, finished] = line.trim().split(/\s+/);
  if (code === undefined || !/^-?\d+$/.test(code)) return null;
  return { code: Number(code), oomKilled: oom === 'true', startedAt: dateOf(started), finishedAt: dateOf(finished) };
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Written whole or not at all: readers on other nodes never see half a file. */
async function writeAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

export class JobDirs {
  constructor(readonly root: string) {}

  files(name: string): JobFiles {
    return jobFiles(path.join(this.root, name));
  }

  /** Creates the directory; false when it already exists. */
  async claim(name: string): Promise<boolean> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    try {
      await mkdir(path.join(this.root, name), { mode: 0o700 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  async write(name: string, file: string, content: string, mode = 0o600): Promise<void> {
    await writeAtomic(path.join(this.root, name, file), content, mode);
  }

  async writeMeta(meta: JobMeta): Promise<void> {
    await this.write(meta.name, 'meta.json', `${JSON.stringify(meta)}\n`);
  }

  async meta(name: string): Promise<JobMeta | null> {
    const text = await readText(path.join(this.root, name, 'meta.json'));
    if (text === null) return null;
    try {
      return JSON.parse(text) as JobMeta;
    } catch {
      return null;
    }
  }

  async jobId(name: string): Promise<string | null> {
    const text = await readText(path.join(this.root, name, 'job-id'));
    const id = text?.trim() ?? '';
    return /^\d+$/.test(id) ? id : null;
  }

  async record(name: string): Promise<JobRecord> {
    const dir = path.join(this.root, name);
    const [started, exit, error] = await Promise.all(['started', 'exit', 'error'].map((f) => readText(path.join(dir, f))));
    return {
      started: started === null ? null : dateOf(started.trim()),
      exit: exit === null ? null : parseExitLine(exit),
      error: error === null ? null : error.trim(),
    };
  }

  async exists(name: string): Promise<boolean> {
    return (await readText(path.join(this.root, name, 'meta.json'))) !== null;
  }

  /** Every job directory's name (those XCS finished writing: with `meta.json`). */
  async names(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.filter((n) => !n.startsWith('.'));
  }

  async remove(name: string): Promise<void> {
    // Renamed first so a half-deleted directory is never mistaken for a job.
    const dir = path.join(this.root, name);
    const doomed = path.join(this.root, `.removed-${name}-${process.pid}-${Date.now()}`);
    try {
      await rename(dir, doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    await rm(doomed, { recursive: true, force: true });
  }
}
