/**
 * Container logs: stdout and stderr kept apart, followable while the run is live, saved with the run when
 * it ends (`runs/{id}/logs/{stdout,stderr}.log`), always with sensitive values redacted.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isXcsError } from '../core/errors.ts';
import { redact, redactLines } from './redact.ts';
import { logDir, type EngineResources } from './resources.ts';
import type { RunRecord } from './run-store.ts';
import { isTerminal } from './state-machine.ts';

export type LogStream = 'stdout' | 'stderr';

export function savedLogPath(res: EngineResources, runId: number, stream: LogStream): string {
  return join(logDir(res, runId), `${stream}.log`);
}

async function exists(path: string): Promise<boolean> {
  try { await stat(path); return true; } catch { return false; }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Copies both streams from the engine into the run's log directory (temporary file, then rename, so a
 * crash never leaves half a log). Blank streams are not written, as in XNAT. When the container is already
 * gone (a re-run after a crash), logs saved by the earlier attempt are kept.
 */
export async function saveLogs(res: EngineResources, run: RunRecord): Promise<string[]> {
  const paths: string[] = [];
  await mkdir(logDir(res, run.id), { recursive: true });
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = savedLogPath(res, run.id, stream);
    let text: string | null = null;
    if (run.containerId) {
      try {
        text = await collect(res.backend.logs(run.containerId, { stream }));
      } catch (e) {
        if (!(isXcsError(e) && e.code === 'backend.not-found')) throw e;
      }
    }
    if (text === null) {
      if (await exists(target)) paths.push(target);
      continue;
    }
    if (text.trim() === '') continue;
    const tmp = `${target}.tmp`;
    await writeFile(tmp, redact(text, run.secrets));
    await rename(tmp, target);
    paths.push(target);
  }
  res.store.setLogPaths(run.id, paths);
  return paths;
}

/** The whole log so far: the saved file once the run ended, else what the engine has. */
export async function readLog(res: EngineResources, run: RunRecord, stream: LogStream): Promise<string> {
  const saved = savedLogPath(res, run.id, stream);
  if (await exists(saved)) return readFile(saved, 'utf8');
  if (!run.containerId || isTerminal(run.status)) return '';
  try {
    return redact(await collect(res.backend.logs(run.containerId, { stream })), run.secrets);
  } catch (e) {
    if (isXcsError(e) && e.code === 'backend.not-found') return '';
    throw e;
  }
}

/** Follows a log: what was written so far, then new output until the container exits or `signal` aborts. */
export async function* followLog(res: EngineResources, run: RunRecord, stream: LogStream, signal?: AbortSignal): AsyncGenerator<string> {
  const saved = savedLogPath(res, run.id, stream);
  if (isTerminal(run.status) || !run.containerId) {
    if (await exists(saved)) yield* redactLines(createReadStream(saved), []);
    return;
  }
  try {
    yield* redactLines(res.backend.logs(run.containerId, { stream, follow: true, signal }), run.secrets);
  } catch (e) {
    if (signal?.aborted) return;
    // The container went away while we followed: the saved log (if finalization wrote it) is the rest.
    if (isXcsError(e) && e.code === 'backend.not-found') {
      if (await exists(saved)) yield* redactLines(createReadStream(saved), []);
      return;
    }
    throw e;
  }
}

export interface LogSince {
  content: string;
  fromFile: boolean;
  timestamp: string;
  bytesRead: number;
}

const LEADING_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s/;

/** XNAT's `logSince`: saved file for ended runs, else the engine's lines since `since`, timestamps stripped. */
export async function logSince(res: EngineResources, run: RunRecord, stream: LogStream, since: Date | null): Promise<LogSince> {
  const saved = savedLogPath(res, run.id, stream);
  if (isTerminal(run.status) || !run.containerId) {
    const fromFile = await exists(saved);
    return { content: fromFile ? await readFile(saved, 'utf8') : '', fromFile, timestamp: '-1', bytesRead: -1 };
  }
  let text = '';
  try {
    text = await collect(res.backend.logs(run.containerId, { stream, timestamps: true, since: since ?? undefined }));
  } catch (e) {
    if (!(isXcsError(e) && e.code === 'backend.not-found')) throw e;
  }
  let last: Date | null = null;
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).map((line) => {
    const m = LEADING_TIMESTAMP.exec(line);
    if (!m) return line;
    last = new Date(m[1]);
    return line.slice(m[0].length);
  });
  const content = redact(lines.join('\n'), run.secrets);
  const stamp = last === null ? (since ?? new Date()) : new Date((last as Date).getTime() + 1000);
  return { content, fromFile: false, timestamp: stamp.toISOString().replace(/\.\d{3}Z$/, 'Z'), bytesRead: -1 };
}
