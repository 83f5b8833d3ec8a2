/**
 * `xcs test`: the command's own test cases (`xcs-tests`), each a local run through exec's plan and
 * runner on its fixture folders (relative to the command file), then checked: the exit code, and every
 * expected file — present, with its MD5 and content pattern when given. The tool's logs go to files
 * beside the outputs, so a failure can be looked at (`--keep`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as absolute } from 'node:path';
import { PassThrough } from 'node:stream';
import picomatch from 'picomatch';
import type { ContainerBackend } from '../backends/types.ts';
import { isXcsError, messageOf } from '../core/errors.ts';
import type { Command, CommandTest } from '../command/model.ts';
import { planExec } from './exec-plan.ts';
import { runExec } from './exec-run.ts';

export interface CaseResult {
  name: string;
  passed: boolean;
  exitCode: number | null;
  expectedExitCode: number;
  durationMs: number;
  /** Why it failed, one line per check. */
  failures: string[];
  /** Where its outputs and logs are (removed unless kept). */
  outputDir: string;
}

export interface TestRunOptions {
  commandFile: string;
  command: Command;
  others: Command[];
  commandsOfImage?: (image: string) => Promise<Command[]>;
  backend: ContainerBackend;
  /** Keep each case's outputs and logs under this folder (one sub-folder per case). */
  keep?: string;
  /** Only the cases with these names. */
  only?: string[];
  user?: string;
  /** Called when a case starts and ends (progress). */
  progress?: (line: string) => void;
}

async function filesUnder(root: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(root, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(root, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

function md5Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

function collectText(): { stream: PassThrough; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Checks the files a case expects under its output folder. */
export async function checkExpectedFiles(test: CommandTest, outputDir: string): Promise<string[]> {
  const failures: string[] = [];
  const present = (await filesUnder(outputDir)).filter((f) => !f.startsWith('.xcs-'));
  for (const expected of test.outputs) {
    const isMatch = picomatch(expected.path.replace(/^\.\//, ''), { dot: true });
    const found = present.filter((f) => isMatch(f));
    if (found.length === 0) {
      failures.push(`no file matches ${expected.path}`);
      continue;
    }
    for (const f of found) {
      const full = join(outputDir, f);
      if (expected.md5 !== null) {
        const actual = await md5Of(full);
        if (actual !== expected.md5.toLowerCase()) failures.push(`${f}: md5 ${actual}, expected ${expected.md5}`);
      }
      if (expected.matches !== null && !new RegExp(expected.matches, 'm').test(await readFile(full, 'utf8'))) {
        failures.push(`${f}: no match for /${expected.matches}/`);
      }
    }
  }
  return failures;
}

async function runCase(test: CommandTest, opts: TestRunOptions, outputDir: string): Promise<CaseResult> {
  const started = performance.now();
  const base = dirname(absolute(opts.commandFile));
  const mounts = Object.fromEntries(Object.entries(test.mounts).map(([k, v]) => [k, absolute(base, v)]));
  const scratchDir = await mkdtemp(join(tmpdir(), 'xcs-test-scratch-'));
  const result: CaseResult = { name: test.name, passed: false, exitCode: null, expectedExitCode: test['exit-code'], durationMs: 0, failures: [], outputDir };
  const stdout = collectText();
  const stderr = collectText();
  try {
    const plan = await planExec({
      command: opts.command, wrapper: test.wrapper ?? undefined, mounts, inputs: test.inputs, outputDir, scratchDir,
      otherCommands: opts.others, commandsOfImage: opts.commandsOfImage,
    });
    const notes: string[] = [];
    const outcome = await runExec(plan, opts.backend, { stdout: stdout.stream, stderr: stderr.stream, note: (l) => notes.push(l) }, { user: opts.user });
    result.exitCode = outcome.exitCode;
    if (outcome.exitCode !== test['exit-code']) result.failures.push(`exit code ${outcome.exitCode ?? 'none'}, expected ${test['exit-code']}${outcome.failed && outcome.failed !== 'main' ? ` (${outcome.message})` : ''}`);
    else if (outcome.failed && outcome.failed !== 'main') result.failures.push(outcome.message);
    result.failures.push(...(await checkExpectedFiles(test, outputDir)));
  } catch (e) {
    result.failures.push(isXcsError(e) ? e.message.replace(/\n\s*/g, '; ') : messageOf(e));
  } finally {
    await mkdir(outputDir, { recursive: true });
    await writeFile(join(outputDir, '.xcs-stdout.log'), stdout.text());
    await writeFile(join(outputDir, '.xcs-stderr.log'), stderr.text());
    await rm(scratchDir, { recursive: true, force: true });
  }
  result.passed = result.failures.length === 0;
  result.durationMs = performance.now() - started;
  return result;
}

export async function runTestCases(opts: TestRunOptions): Promise<CaseResult[]> {
  const all = opts.command['xcs-tests'] ?? [];
  const chosen = opts.only && opts.only.length > 0 ? all.filter((t) => opts.only?.includes(t.name)) : all;
  const root = opts.keep ? absolute(opts.keep) : await mkdtemp(join(tmpdir(), 'xcs-test-'));
  const results: CaseResult[] = [];
  try {
    for (const [i, test] of chosen.entries()) {
      const dir = join(root, `${i + 1}-${test.name.replace(/[^\w.-]+/g, '-').slice(0, 60)}`);
      await rm(dir, { recursive: true, force: true });
      opts.progress?.(`${test.name}: running`);
      const r = await runCase(test, opts, dir);
      opts.progress?.(`${test.name}: ${r.passed ? 'passed' : 'FAILED'}`);
      results.push(r);
    }
  } finally {
    if (!opts.keep) await rm(root, { recursive: true, force: true });
  }
  return results;
}

/** The summary table, one row per case, failures under their case. */
export function summaryTable(results: CaseResult[], kept: boolean): string {
  const header = ['test', 'result', 'exit', 'expected', 'time'];
  const rows = results.map((r) => [r.name, r.passed ? 'PASS' : 'FAIL', String(r.exitCode ?? '-'), String(r.expectedExitCode), `${(r.durationMs / 1000).toFixed(1)} s`]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  for (const [i, r] of results.entries()) {
    out.push(line(rows[i]));
    for (const f of r.failures) out.push(`    ✗ ${f}`);
    if (!r.passed && kept) out.push(`    outputs and logs: ${r.outputDir}`);
  }
  const passed = results.filter((r) => r.passed).length;
  out.push(`${passed} of ${results.length} passed`);
  return out.join('\n');
}
