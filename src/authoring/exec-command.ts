/**
 * `xcs exec`: load the command, plan (every refusal before anything runs), then either print the
 * containers (`--dry-run`) or run them on the local engine and print the summary. Exit code: the
 * tool's; 1 when xcs refused, a setup/wrapup failed or a required output is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isXcsError, messageOf } from '../core/errors.ts';
import { commandsOfImage, defaultUser, dryRun, loadCommandFile, pairs } from './exec-cli.ts';
import { planExec } from './exec-plan.ts';
import { runExec, summaryText } from './exec-run.ts';

export interface ExecCommandOptions {
  wrapper?: string;
  commandName?: string;
  mount: string[];
  input: string[];
  outputDir: string;
  withCommand: string[];
  user?: string;
  dryRun?: boolean;
}

function report(e: unknown): number {
  if (isXcsError(e)) {
    process.stderr.write(`xcs exec: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  } else {
    process.stderr.write(`xcs exec: ${messageOf(e)}\n`);
  }
  return 1;
}

export async function execCommand(file: string, opts: ExecCommandOptions): Promise<number> {
  const scratchDir = await mkdtemp(join(tmpdir(), 'xcs-exec-'));
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // The engine connection is opened while the command loads and resolves: start-up is most of a short run's
  // cost. Its API version is negotiated only if the engine refuses the preferred one (a round trip less).
  const connecting = opts.dryRun ? null
    : import('../backends/docker/docker-backend.ts').then((m) => m.createDockerBackend({ negotiate: 'on-refusal' }));
  connecting?.catch(() => undefined);
  try {
    const { command, others } = await loadCommandFile(file, opts.commandName);
    for (const f of opts.withCommand) {
      const more = await loadCommandFile(f).catch(() => null);
      if (more) others.push(more.command, ...more.others);
    }
    const plan = await planExec({
      command, wrapper: opts.wrapper, mounts: pairs(opts.mount, '--mount'), inputs: pairs(opts.input, '--input'),
      outputDir: opts.outputDir, scratchDir, otherCommands: others, commandsOfImage,
    });
    const user = opts.user ?? defaultUser();
    if (opts.dryRun) {
      process.stdout.write(`${JSON.stringify(dryRun(plan, user), null, 2)}\n`);
      return 0;
    }
    // Closed in the finally below, whatever happens.
    const backend = await (connecting as NonNullable<typeof connecting>);
    const outcome = await runExec(plan, backend, { stdout: process.stdout, stderr: process.stderr }, { user, signal: abort.signal });
    process.stderr.write(`${summaryText(plan, outcome)}\n`);
    if (abort.signal.aborted) return 130;
    if (outcome.failed === 'main' && outcome.exitCode !== null && outcome.exitCode !== 0) return outcome.exitCode;
    return outcome.failed ? 1 : 0;
  } catch (e) {
    return report(e);
  } finally {
    if (connecting) await connecting.then((b) => b.close(), () => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rm(scratchDir, { recursive: true, force: true });
  }
}
