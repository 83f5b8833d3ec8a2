/**
 * Runs an exec plan on the local engine through the backend interface, the way the run engine does:
 * setup containers first (their `/output` feeds the main container's mount), the main container with
 * its logs streamed live, the wrapups after a successful exit; then the outputs are found with
 * finalization's own rules (`runtime/finalize/collect.ts`) and checked. Containers are removed whatever
 * happens, and an abort (Ctrl-C) kills them.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { BackendErrorCode, type ContainerBackend, type ContainerState } from '../backends/types.ts';
import { isXcsError, messageOf, XcsError } from '../core/errors.ts';
import type { ResolvedCommand, ResolvedOutput } from '../resolution/types.ts';
import { collectOutput } from '../runtime/finalize/collect.ts';
import { localContainerSpec } from './container-spec.ts';
import type { ExecPlan } from './exec-plan.ts';

export interface ExecIo {
  stdout: Writable;
  stderr: Writable;
  /** Progress lines of xcs itself (default: stderr). */
  note?: (line: string) => void;
}

export interface OutputCheck {
  name: string;
  type: string;
  label: string | null;
  /** What the upload would have been attached to: a wrapper input (its stand-in's label) or a handler. */
  parent: string;
  required: boolean;
  ok: boolean;
  files: { path: string; size: number }[];
  bytes: number;
  problem?: string;
}

export interface ExecOutcome {
  /** The tool's exit code (null when it never ran to an end). */
  exitCode: number | null;
  oomKilled: boolean;
  /** Which step failed, if one did: setup, main, wrapup, outputs. */
  failed: 'setup' | 'main' | 'wrapup' | 'outputs' | null;
  message: string;
  outputs: OutputCheck[];
  durationMs: number;
}

export interface RunOptions {
  user?: string;
  signal?: AbortSignal;
}

function shortId(): string {
  return randomBytes(4).toString('hex');
}

async function pump(source: AsyncIterable<Buffer>, sink: Writable, prefix: string | null): Promise<void> {
  let pending = '';
  for await (const chunk of source) {
    if (prefix === null) {
      sink.write(chunk);
      continue;
    }
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) sink.write(`${prefix}${l}\n`);
  }
  if (prefix !== null && pending !== '') sink.write(`${prefix}${pending}\n`);
}

/** One container of the run: its log prefix, whether it is the tool's, and its progress line (once created). */
interface Step {
  prefix: string | null;
  main: boolean;
  announce: () => void;
}

/** Runs one container to its end, logs streamed; the container is removed afterwards. */
async function runContainer(backend: ContainerBackend, r: ResolvedCommand, name: string, plan: ExecPlan, io: ExecIo,
  options: RunOptions, step: Step): Promise<ContainerState> {
  const { prefix, main } = step;
  const spec = localContainerSpec(r, { name, command: main ? plan.command : undefined, user: options.user });
  const { backendId } = await backend.create(spec);
  step.announce();
  const onAbort = (): void => { void backend.kill(backendId).catch(() => undefined); };
  try {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    await backend.start(backendId);
    const streams = [
      pump(backend.logs(backendId, { stream: 'stdout', follow: true }), io.stdout, prefix),
      pump(backend.logs(backendId, { stream: 'stderr', follow: true }), io.stderr, prefix),
    ];
    const state = await backend.wait(backendId);
    await Promise.all(streams);
    return state;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await backend.remove(backendId).catch(() => undefined);
  }
}

async function checkOutput(o: ResolvedOutput, plan: ExecPlan, wrapupDirs: Map<string, string>): Promise<OutputCheck> {
  const parent = plan.targets.get(o['handled-by']) !== undefined ? `${o['handled-by']} (${plan.targets.get(o['handled-by'])})` : o['handled-by'];
  const base: OutputCheck = { name: o.name, type: o.type, label: o.label, parent, required: o.required, ok: false, files: [], bytes: 0 };
  const mount = plan.resolved.mounts.find((m) => m.name === o.mount);
  const sourceDir = wrapupDirs.get(o.name) ?? mount?.['xnat-host-path'];
  if (!sourceDir) return { ...base, problem: `mount "${o.mount}" is not a mount of the command` };
  try {
    const found = await collectOutput({ output: o['from-command-output'], sourceDir, path: o.path, glob: o.glob });
    if (found.files.length === 0) return { ...base, ok: !o.required, problem: 'no files (an upload would create an empty resource)' };
    return { ...base, ok: true, files: found.files.map((f) => ({ path: f.rel, size: f.size })), bytes: found.bytes };
  } catch (e) {
    return { ...base, ok: !o.required, problem: isXcsError(e) ? e.message : messageOf(e) };
  }
}

/** Folders the run writes to must exist. Returns the top folder of each one it had to make. */
async function prepareFolders(plan: ExecPlan): Promise<string[]> {
  const made: string[] = [];
  for (const dir of plan.writableDirs) {
    const top = await mkdir(dir, { recursive: true });
    if (top !== undefined) made.push(top);
  }
  return made;
}

function imageMissing(image: string): XcsError {
  return new XcsError('exec.image-missing', `image ${image} is not in the local Docker engine; nothing was run`, {
    path: image, hint: `build it first (docker build -t ${image} .); xcs never pulls`,
  });
}

export async function emptyFolder(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

export async function runExec(plan: ExecPlan, backend: ContainerBackend, io: ExecIo, options: RunOptions = {}): Promise<ExecOutcome> {
  const note = io.note ?? ((l: string) => { io.stderr.write(`xcs exec: ${l}\n`); });
  const started = performance.now();
  const r = plan.resolved;
  const images = [r.image, ...r['setup-commands'].map((s) => s.image), ...r['wrapup-commands'].map((s) => s.image)];
  // The first container's image is not asked for: its create is refused as clearly when it is missing, one
  // request less before the tool starts (start-up is most of a short run). Every other one is checked now, so
  // that nothing runs when one is missing.
  const firstImage = r['setup-commands'][0]?.image ?? r.image;
  for (const image of new Set(images)) {
    if (image !== firstImage && !(await backend.inspectImage(image))) throw imageMissing(image);
  }
  const made = await prepareFolders(plan);
  // The first create refused for a missing image, or by an engine that does not answer: nothing ran, and the
  // folders made for the run go too, as when the image was checked first.
  const first = <T>(run: Promise<T>): Promise<T> => run.catch(async (e: unknown) => {
    if (!isXcsError(e) || (e.code !== BackendErrorCode.imageMissing && e.code !== BackendErrorCode.unavailable)) throw e;
    for (const dir of made) await rm(dir, { recursive: true, force: true });
    throw e.code === BackendErrorCode.imageMissing ? imageMissing(firstImage) : e;
  });
  const end = (failed: ExecOutcome['failed'], message: string, state: ContainerState | null, outputs: OutputCheck[] = []): ExecOutcome => ({
    exitCode: state?.exitCode ?? null, oomKilled: state?.oomKilled ?? false, failed, message, outputs, durationMs: performance.now() - started,
  });
  const id = shortId();
  for (const [i, s] of r['setup-commands'].entries()) {
    const run = runContainer(backend, s, `xcs-exec-${id}-setup-${i + 1}`, plan, io, options,
      { prefix: `[setup ${i + 1}] `, main: false, announce: () => note(`setup ${i + 1}: ${s.image} ${s['command-line']}`) });
    const state = await (i === 0 ? first(run) : run);
    if (state.exitCode !== 0) return end('setup', `setup command ${s.image} exited with ${state.exitCode ?? state.status}; the tool did not run`, state);
  }
  const run = runContainer(backend, r, `xcs-exec-${id}`, plan, io, options,
    { prefix: null, main: true, announce: () => note(`running ${r.image}: ${r['command-line']}`) });
  const state = await (r['setup-commands'].length === 0 ? first(run) : run);
  if (options.signal?.aborted) return end('main', 'interrupted; the container was killed and removed', state);
  if (state.oomKilled) return end('main', `the tool was killed for using more than its memory limit (${r['limit-memory'] ?? '?'} MiB)`, state);
  if (state.exitCode !== 0) return end('main', `the tool exited with code ${state.exitCode ?? state.status}`, state);
  const wrapupDirs = new Map<string, string>();
  for (const [i, w] of r['wrapup-commands'].entries()) {
    const ws = await runContainer(backend, w, `xcs-exec-${id}-wrapup-${i + 1}`, plan, io, options,
      { prefix: `[wrapup ${i + 1}] `, main: false, announce: () => note(`wrapup ${i + 1}: ${w.image} ${w['command-line']}`) });
    if (ws.exitCode !== 0) return end('wrapup', `wrapup command ${w.image} exited with ${ws.exitCode ?? ws.status}`, state);
    const out = w.mounts.find((m) => m.name === 'output');
    if (out && w['parent-source-object-name']) wrapupDirs.set(w['parent-source-object-name'], out['xnat-host-path']);
  }
  const outputs: OutputCheck[] = [];
  for (const o of r.outputs) outputs.push(await checkOutput(o, plan, wrapupDirs));
  const missing = outputs.filter((o) => !o.ok);
  if (missing.length > 0) return end('outputs', `required output${missing.length === 1 ? '' : 's'} missing: ${missing.map((o) => o.name).join(', ')}`, state, outputs);
  return end(null, 'completed', state, outputs);
}

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The summary: exit, and what an archive upload would have created. */
export function summaryText(plan: ExecPlan, o: ExecOutcome): string {
  const lines = [`${plan.command.name} (${plan.wrapper.name}): ${o.failed ? 'FAILED' : 'OK'} — ${o.message}; exit code ${o.exitCode ?? '-'}, ${(o.durationMs / 1000).toFixed(1)} s`];
  if (o.outputs.length > 0) lines.push('an upload to the archive would have created:');
  for (const out of o.outputs) {
    const what = `${out.type}${out.label ? ` "${out.label}"` : ''} on ${out.parent}`;
    if (out.files.length === 0) {
      lines.push(`  ${out.ok ? '-' : '✗'} ${out.name}: nothing — ${out.problem ?? 'no files'}${out.required ? ' (required)' : ' (optional)'}`);
      continue;
    }
    const shown = out.files.slice(0, 5).map((f) => f.path).join(', ');
    const more = out.files.length > 5 ? `, … ${out.files.length - 5} more` : '';
    lines.push(`  ✓ ${out.name}: ${what} with ${out.files.length} file${out.files.length === 1 ? '' : 's'} (${size(out.bytes)}): ${shown}${more}`);
  }
  for (const n of plan.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
