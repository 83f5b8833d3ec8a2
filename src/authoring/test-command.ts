/** `xcs test COMMAND.json`: validate, run every test case, print the table; exit 1 on any failure. */
import { XcsError } from '../core/errors.ts';
import { commandsOfImage, defaultUser, loadCommandFile } from './exec-cli.ts';
import { runTestCases, summaryTable } from './test-cases.ts';

export interface TestCommandOptions {
  commandName?: string;
  case: string[];
  keep?: string;
  user?: string;
}

export async function testCommand(file: string, opts: TestCommandOptions): Promise<number> {
  const { command, others } = await loadCommandFile(file, opts.commandName);
  const cases = command['xcs-tests'] ?? [];
  if (cases.length === 0) {
    throw new XcsError('test.none', `${file}: the command "${command.name}" has no test cases`, {
      path: '/xcs-tests',
      hint: 'add "xcs-tests": [{"name": "…", "mounts": {"input": "fixtures/…"}, "outputs": [{"path": "output/*"}]}] to the command',
    });
  }
  const unknown = opts.case.filter((c) => !cases.some((t) => t.name === c));
  if (unknown.length > 0) {
    throw new XcsError('test.case.unknown', `no test case named ${unknown.map((u) => `"${u}"`).join(', ')} (cases: ${cases.map((t) => `"${t.name}"`).join(', ')})`);
  }
  const { createDockerBackend } = await import('../backends/docker/docker-backend.ts');
  const backend = await createDockerBackend();
  try {
    const results = await runTestCases({
      commandFile: file, command, others, commandsOfImage, backend, keep: opts.keep, only: opts.case,
      user: opts.user ?? defaultUser(), progress: (l) => process.stderr.write(`xcs test: ${l}\n`),
    });
    process.stdout.write(`${summaryTable(results, opts.keep !== undefined)}\n`);
    return results.every((r) => r.passed) ? 0 : 1;
  } finally {
    await backend.close();
  }
}
