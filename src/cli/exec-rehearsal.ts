/**
 * A rehearsal of `xcs exec`, run once while its start-up snapshot is built (exec-snapshot.ts). V8 keeps in the
 * snapshot the compiled code of the functions that ran before it was taken; every other function is parsed and
 * compiled again by each process that starts from it. Rehearsing what every run goes through — the command
 * line, a command's validation, the plan, the container's create options, the run with its logs, the summary —
 * spares a trivial exec ~5 ms of compiling (a tenth of its own CPU time).
 *
 * The rehearsal reaches nothing outside the process: no file (the command has no mount, so no folder is
 * made), no engine (an in-memory backend stands in for it), no environment. It must never call
 * `crypto.randomUUID`: Node keeps a batch of random bytes for it in the process, the snapshot would hold that
 * batch, and every exec would draw the same ids (`randomBytes`, which the run's names come from, keeps none).
 * A rehearsal that fails fails the snapshot's build: exec then runs from main.js, as without a snapshot.
 */
import { Writable } from 'node:stream';
import { Command } from 'commander';
import type {
  BackendCapabilities, ContainerBackend, ContainerSpec, ContainerState, ContainerSummary, EventSubscription, ImageInfo, ImageSummary, LogOptions,
} from '../backends/types.ts';
import { toCreateOptions } from '../backends/docker/container-config.ts';
import { dryRun } from '../authoring/exec-cli.ts';
import { planExec } from '../authoring/exec-plan.ts';
import { runExec, summaryText } from '../authoring/exec-run.ts';
import { commandsFromText } from '../resolution/load-command.ts';
import * as exec from './commands/exec.ts';

const COMMAND = {
  name: 'rehearsal', image: 'xcs-rehearsal/none:latest', 'command-line': 'echo #WORD#',
  inputs: [{ name: 'word', 'replacement-key': '#WORD#', required: true }],
};

/** Stops the rehearsed command line before its action (which would read files and reach the engine). */
class Rehearsed extends Error {}

function unused(): never {
  throw new Error('not part of the exec rehearsal');
}

/** The engine's part of a run, in memory: the container exits 0 after one line on each stream. */
class RehearsalBackend implements ContainerBackend {
  readonly kind = 'docker' as const;
  readonly capabilities: BackendCapabilities = {
    separateStderr: true, oomDetection: true, hostNetwork: true, ulimits: true, gpus: true, logTimestamps: true,
  };

  async ping(): Promise<void> {}
  async inspectImage(): Promise<ImageInfo | null> { return null; }
  async listImages(): Promise<ImageSummary[]> { return []; }
  async create(spec: ContainerSpec): Promise<{ backendId: string; name: string }> {
    toCreateOptions(spec);
    return { backendId: 'rehearsal', name: spec.name ?? 'rehearsal' };
  }
  async start(): Promise<void> {}
  async wait(backendId: string): Promise<ContainerState> {
    return { backendId, status: 'exited', exitCode: 0, oomKilled: false, startedAt: null, finishedAt: null };
  }
  async inspect(backendId: string): Promise<ContainerState> { return this.wait(backendId); }
  async kill(): Promise<void> {}
  async remove(): Promise<void> {}
  async *logs(_backendId: string, options: LogOptions): AsyncGenerator<Buffer> {
    yield Buffer.from(`${options.stream}\n`);
  }
  events(): EventSubscription { return unused(); }
  async list(): Promise<ContainerSummary[]> { return []; }
  async findByName(): Promise<ContainerSummary | null> { return null; }
  async close(): Promise<void> {}
}

/** Parses an exec command line up to its action. */
async function rehearseCommandLine(): Promise<void> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  exec.register(program);
  program.hook('preAction', () => {
    throw new Rehearsed();
  });
  const argv = ['exec', 'command.json', '--input', 'word=hello', '--mount', 'in=dir', '--output-dir', 'out', '--user', '1000:1000', '--dry-run'];
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Rehearsed) return;
    throw e;
  }
  throw new Error('the exec rehearsal ran the action');
}

export async function rehearseExec(): Promise<void> {
  await rehearseCommandLine();
  const [loaded] = commandsFromText(JSON.stringify(COMMAND), 'rehearsal.json');
  const plan = await planExec({
    command: loaded.command, mounts: {}, inputs: { word: 'hello' }, outputDir: 'out', scratchDir: 'scratch', otherCommands: [],
  });
  dryRun(plan, '1000:1000');
  const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });
  const outcome = await runExec(plan, new RehearsalBackend(), { stdout: sink(), stderr: sink(), note: () => undefined }, { user: '1000:1000' });
  if (outcome.failed !== null) throw new Error(`the exec rehearsal failed: ${outcome.message}`);
  summaryText(plan, outcome);
}
