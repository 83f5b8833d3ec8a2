import type { Command } from 'commander';
import { XcsError } from '../../core/errors.ts';
import { withConnection } from './containers.ts';

interface Options {
  input: string[];
  project?: string;
  wait?: boolean;
  json?: boolean;
  url?: string;
  user?: string;
  password?: string;
}

const TERMINAL = /^(Complete|Failed|Killed)/;

function collectInput(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  withConnection(program
    .command('launch')
    .description('launch a wrapper of a registered command on one or more archive objects of a running XCS server')
    .argument('<wrapper>', 'wrapper id, wrapper name, or COMMAND/WRAPPER')
    .argument('[targets...]', 'archive URIs of the objects to run on (one run each), e.g. /archive/experiments/E1/scans/1')
    .option('-i, --input <name=value>', 'another input value (repeatable)', collectInput, [])
    .option('--project <id>', 'launch in this project (default: the project of each target)')
    .option('-w, --wait', 'wait until every run ended, showing progress; exit 1 if one did not complete')
    .option('--json', 'print the launch reports (and with --wait the final records) as JSON'))
    .action(async (wrapperRef: string, targets: string[], o: Options) => {
      const { XapiClient } = await import('../../http/xapi/client.ts');
      const client = new XapiClient(o);
      const commands = await client.commands();
      const matches = commands.flatMap((c) => c.xnat.map((w) => ({ c, w }))).filter(({ c, w }) =>
        String(w.id) === wrapperRef || w.name === wrapperRef || `${c.name}/${w.name}` === wrapperRef);
      if (matches.length !== 1) {
        throw new XcsError('cli.launch.wrapper', matches.length === 0
          ? `No wrapper "${wrapperRef}" is registered on ${client.base}`
          : `"${wrapperRef}" names ${matches.length} wrappers; use its id (${matches.map((m) => m.w.id).join(', ')})`,
        { path: wrapperRef, hint: 'List them with: curl -u USER $XCS_URL/xapi/commands' });
      }
      const { w } = matches[0];
      const root = w['external-inputs'][0]?.name;
      const extra: Record<string, string> = {};
      for (const kv of o.input) {
        const i = kv.indexOf('=');
        if (i <= 0) throw new XcsError('cli.launch.input', `--input needs name=value, not "${kv}"`, { path: kv });
        extra[kv.slice(0, i)] = kv.slice(i + 1);
      }
      if (targets.length > 0 && !root) {
        throw new XcsError('cli.launch.no-root', `Wrapper ${w.name} has no external input to receive a target`, { path: w.name });
      }
      const launches = targets.length > 0 ? targets.map((t) => ({ ...extra, [root!]: t })) : [extra];
      const ids: number[] = [];
      let failed = 0;
      for (const params of launches) {
        const report = await client.launch(w.id, root ?? 'none', params, o.project);
        const what = root && params[root] ? params[root] : w.name;
        if (report.status === 'success' && report.id !== null) {
          ids.push(report.id);
          if (!o.json) process.stdout.write(`launched run ${report.id}: ${w.name} on ${what}\n`);
        } else {
          failed++;
          process.stderr.write(`launch of ${w.name} on ${what} failed: ${report.message ?? 'unknown error'}\n`);
          if (report.hint) process.stderr.write(`hint: ${report.hint}\n`);
        }
      }
      if (!o.wait) {
        if (o.json) process.stdout.write(`${JSON.stringify(ids.map((id) => ({ id })), null, 2)}\n`);
        process.exitCode = failed > 0 ? 1 : 0;
        return;
      }
      const final = await waitAll(client, ids, o.json === true);
      if (o.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
      else {
        for (const c of final) {
          const outputs = (c.outputs ?? []).filter((x) => x.created).map((x) => `${x.name} → ${x.created}`).join(', ');
          process.stdout.write(`run ${c.id}: ${c.status}${c['exit-code'] && c['exit-code'] !== '0' ? ` (exit ${c['exit-code']})` : ''}` +
            `${outputs ? `  ${outputs}` : ''}\n`);
          if (!c.status.startsWith('Complete') && c['failure-hint']) process.stdout.write(`  hint: ${c['failure-hint']}\n`);
        }
      }
      const incomplete = final.filter((c) => !c.status.startsWith('Complete')).length;
      process.exitCode = failed + incomplete > 0 ? 1 : 0;
    });
}

type Client = import('../../http/xapi/client.ts').XapiClient;
type Summary = import('../../http/xapi/client.ts').ContainerSummary;

/**
 * Waits for every run to end; a progress bar on a terminal, a line per status change otherwise. Statuses come
 * from the server's live stream (opened before the current statuses are read, so nothing falls between); if the
 * stream is unavailable or drops, it falls back to asking for each run every second.
 */
async function waitAll(client: Client, ids: number[], quiet: boolean): Promise<Summary[]> {
  const status = new Map<number, string>();
  const tty = process.stderr.isTTY && !quiet;
  const { default: cliProgress } = await import('cli-progress');
  const bar = tty ? new cliProgress.SingleBar({
    format: 'runs [{bar}] {value}/{total} ended | {states}', stream: process.stderr, hideCursor: true,
  }, cliProgress.Presets.shades_classic) : null;
  bar?.start(ids.length, 0, { states: '' });
  const wanted = new Set(ids);
  const allEnded = (): boolean => ids.every((id) => TERMINAL.test(status.get(id) ?? ''));
  const see = (id: number, s: string): void => {
    if (!wanted.has(id) || TERMINAL.test(status.get(id) ?? '')) return;
    if (!tty && !quiet && status.get(id) !== s) process.stderr.write(`run ${id}: ${s}\n`);
    status.set(id, s);
    if (bar) {
      const counts = new Map<string, number>();
      for (const v of status.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
      bar.update(ids.filter((x) => TERMINAL.test(status.get(x) ?? '')).length, { states: [...counts].map(([k, n]) => `${k}: ${n}`).join(', ') });
    }
  };
  const abort = new AbortController();
  const stream = await client.statusEvents(abort.signal).catch(() => null);
  for (const id of ids) see(id, (await client.container(id)).status);
  if (stream && !allEnded()) {
    try {
      for await (const e of stream) {
        see(e.id, e.status);
        if (allEnded()) break;
      }
    } catch { /* the stream dropped: poll below */ }
  }
  abort.abort();
  while (!allEnded()) {
    for (const id of ids) if (!TERMINAL.test(status.get(id) ?? '')) see(id, (await client.container(id)).status);
    if (!allEnded()) await new Promise((r) => setTimeout(r, 1000));
  }
  bar?.stop();
  return Promise.all(ids.map((id) => client.container(id)));
}
