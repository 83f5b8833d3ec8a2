/**
 * Container logs: stdout and stderr kept apart, followable while the run is live, saved with the run when
 * it ends (`runs/{id}/logs/{stdout,stderr}.log`), always with sensitive values redacted. Setup and wrapup
 * containers' logs are saved as each one ends (`runs/{id}/logs/{setup|wrapup}-{n}/{stdout,stderr}.log`,
 * listed in the run's `log-paths`); the `setup` and `wrapup` streams read them all, each under a header.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { isXcsError } from '../../core/errors.ts';
import { redact, redactLines, runSecrets } from '../secrets/redact.ts';
import { logDir, type EngineResources } from '../resources.ts';
import { secretValues } from '../secrets/command-secrets.ts';
import type { AuxKind, AuxRecord, RunRecord } from '../store/run-store.ts';
import { isTerminal } from '../store/state-machine.ts';

/** What a container writes. */
export type ContainerStream = 'stdout' | 'stderr';
/** What a run's logs offer: its main container's streams, or all its setup or wrapup containers' output. */
export type LogStream = ContainerStream | AuxKind;

function isAuxStream(stream: LogStream): stream is AuxKind {
  return stream === 'setup' || stream === 'wrapup';
}

/**
 * Values hidden in logs: the run's recorded ones (token secret, sensitive inputs) and its command secrets, read
 * again from the site's source because they are never recorded.
 */
function redactionOf(res: EngineResources, run: RunRecord): string[] {
  const secrets = run.spec.secrets ?? [];
  return secrets.length === 0 ? runSecrets(run) : [...runSecrets(run), ...secretValues(res.secrets, secrets)];
}

export function savedLogPath(res: EngineResources, runId: number, stream: ContainerStream): string {
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
  const paths = await saveContainerLogs(res, run, run.containerId, logDir(res, run.id));
  const all = [...paths, ...auxLogPaths(res, run.id)];
  res.store.setLogPaths(run.id, all);
  return all;
}

function auxLogPaths(res: EngineResources, runId: number): string[] {
  return res.store.auxOf(runId).flatMap((a) => a.logPaths);
}

/** Saves a setup or wrapup container's logs and adds them to the run's `log-paths`. */
export async function saveAuxLogs(res: EngineResources, run: RunRecord, aux: AuxRecord, containerId: string): Promise<string[]> {
  return saveContainerLogs(res, run, containerId, join(logDir(res, run.id), `${aux.kind}-${aux.index + 1}`));
}

/** Adds the saved setup/wrapup logs to the run's `log-paths` (those saved after its main container's). */
export function recordAuxLogPaths(res: EngineResources, runId: number): void {
  const current = res.store.require(runId).logPaths;
  res.store.setLogPaths(runId, [...new Set([...current, ...auxLogPaths(res, runId)])]);
}

async function saveContainerLogs(res: EngineResources, run: RunRecord, containerId: string | null, dir: string): Promise<string[]> {
  const paths: string[] = [];
  await mkdir(dir, { recursive: true });
  // A backend that cannot tell the streams apart gives everything as stdout: there is no stderr to save.
  const streams = res.backend.capabilities.separateStderr ? ['stdout', 'stderr'] as const : ['stdout'] as const;
  for (const stream of streams) {
    const target = join(dir, `${stream}.log`);
    let text: string | null = null;
    if (containerId) {
      try {
        text = await collect(res.backend.logs(containerId, { stream }));
      } catch (e) {
        // Gone, or being removed (a clean-up racing a second finalization): the log saved before, if any, stands.
        if (!(isXcsError(e) && e.code === 'backend.not-found') && !(await exists(target))) throw e;
      }
    }
    if (text === null) {
      if (await exists(target)) paths.push(target);
      continue;
    }
    if (text.trim() === '') continue;
    const tmp = `${target}.tmp`;
    await writeFile(tmp, redact(text, redactionOf(res, run)));
    await rename(tmp, target);
    paths.push(target);
  }
  return paths;
}

/** Every saved log of the run's setup (or wrapup) containers, each under a `==> … <==` header. */
async function readAuxLogs(res: EngineResources, run: RunRecord, kind: AuxKind): Promise<string> {
  const parts: string[] = [];
  for (const aux of res.store.auxOf(run.id, kind)) {
    for (const path of aux.logPaths) {
      if (!(await exists(path))) continue;
      const stream = path.endsWith('stderr.log') ? 'stderr' : 'stdout';
      parts.push(`==> ${kind} ${aux.index + 1} (${aux.name}) ${stream} <==\n${await readFile(path, 'utf8')}`);
    }
  }
  return parts.join('\n');
}

/** The whole log so far: the saved file once the run ended, else what the engine has. */
export async function readLog(res: EngineResources, run: RunRecord, stream: LogStream): Promise<string> {
  if (isAuxStream(stream)) return readAuxLogs(res, run, stream);
  const saved = savedLogPath(res, run.id, stream);
  if (await exists(saved)) return readFile(saved, 'utf8');
  if (!run.containerId || isTerminal(run.status)) return '';
  try {
    return redact(await collect(res.backend.logs(run.containerId, { stream })), redactionOf(res, run));
  } catch (e) {
    if (isXcsError(e) && e.code === 'backend.not-found') return '';
    throw e;
  }
}

/**
 * One stream of the run's logs for a zip of them (`GET /xapi/containers/{id}/logs`), the same text `readLog`
 * gives: the saved file (redacted when it was saved), streamed from a handle opened now so that a deletion
 * meanwhile cannot cut it; else what the engine has so far, redacted; null when the stream holds nothing.
 */
export async function logEntry(res: EngineResources, run: RunRecord, stream: ContainerStream): Promise<{ data: Readable | Buffer; mtime: Date } | null> {
  const saved = savedLogPath(res, run.id, stream);
  try {
    const handle = await open(saved, 'r');
    const { mtime } = await handle.stat();
    return { data: handle.createReadStream(), mtime };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const text = await readLog(res, run, stream);
  return text === '' ? null : { data: Buffer.from(text, 'utf8'), mtime: new Date() };
}

/** Follows a log: what was written so far, then new output until the container exits or `signal` aborts. */
export async function* followLog(res: EngineResources, run: RunRecord, stream: LogStream, signal?: AbortSignal): AsyncGenerator<string> {
  if (isAuxStream(stream)) {
    // Saved as each container ends: there is nothing live to follow.
    yield await readAuxLogs(res, run, stream);
    return;
  }
  const saved = savedLogPath(res, run.id, stream);
  if (isTerminal(run.status) || !run.containerId) {
    if (await exists(saved)) yield* redactLines(createReadStream(saved), []);
    return;
  }
  try {
    yield* redactLines(res.backend.logs(run.containerId, { stream, follow: true, signal }), redactionOf(res, run));
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
  if (isAuxStream(stream)) return { content: await readAuxLogs(res, run, stream), fromFile: true, timestamp: '-1', bytesRead: -1 };
  const saved = savedLogPath(res, run.id, stream);
  if (isTerminal(run.status) || !run.containerId) {
    const fromFile = await exists(saved);
    return { content: fromFile ? await readFile(saved, 'utf8') : '', fromFile, timestamp: '-1', bytesRead: -1 };
  }
  let text = '';
  try {
    // Without engine timestamps the next `since` is now: lines written while this one was read may come twice.
    const timestamps = res.backend.capabilities.logTimestamps;
    text = await collect(res.backend.logs(run.containerId, { stream, timestamps, since: since ?? undefined }));
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
  const content = redact(lines.join('\n'), redactionOf(res, run));
  const stamp = last === null ? (since ?? new Date()) : new Date((last as Date).getTime() + 1000);
  return { content, fromFile: false, timestamp: stamp.toISOString().replace(/\.\d{3}Z$/, 'Z'), bytesRead: -1 };
}
