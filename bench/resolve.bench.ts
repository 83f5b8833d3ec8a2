/**
 * Resolution on big archives. Ours: resolution reading a pre-built archive lazily (only the child
 * collections the wrapper needs). Baseline: what XNAT does — the whole object tree is materialised
 * (here: the tree's JSON given as the input value, so every object is read) and then resolved.
 */
import type { Bench, BenchResult } from './lib.ts';
import { median, timeRuns } from './lib.ts';
import { commandsFromText } from '../src/resolution/load-command.ts';
import { MemoryObjectSource } from '../src/resolution/memory-source.ts';
import { resolveCommand } from '../src/resolution/resolve/index.ts';

function bigSession(scans: number, resources: number, files: number): Record<string, unknown> {
  return {
    type: 'Session', id: 'E1', label: 'E1', 'project-id': 'P', directory: '/a/E1',
    scans: Array.from({ length: scans }, (_, s) => ({
      type: 'Scan', id: String(s + 1), 'scan-type': s === 7 ? 'T1' : 'OTHER', directory: `/a/E1/SCANS/${s + 1}`,
      resources: Array.from({ length: resources }, (_, r) => ({
        type: 'Resource', label: r === 0 ? 'DICOM' : `R${r}`, directory: `/a/E1/SCANS/${s + 1}/R${r}`,
        files: Array.from({ length: files }, (_, f) => ({ type: 'File', name: `f${f}.dcm`, path: `/a/E1/SCANS/${s + 1}/R${r}/f${f}.dcm` })),
      })),
    })),
  };
}

function bigProject(sessions: number): Record<string, unknown> {
  return {
    type: 'Project', id: 'P', label: 'P', directory: '/a/P',
    subjects: Array.from({ length: sessions }, (_, i) => ({
      type: 'Subject', id: `S${i}`, label: `S${i}`,
      sessions: [{ type: 'Session', id: `E${i}`, label: `SESS${i}`, directory: `/a/P/E${i}` }],
    })),
  };
}

const sessionCommand = commandsFromText(JSON.stringify({
  name: 'b', image: 'i:1', 'command-line': 'run #scan#',
  mounts: [{ name: 'in', path: '/input' }],
  inputs: [{ name: 'scan-id', 'command-line-flag': '--scan' }],
  xnat: [{
    name: 'w',
    'external-inputs': [{ name: 'session', type: 'Session' }],
    'derived-inputs': [
      { name: 'scan', type: 'Scan', 'derived-from-wrapper-input': 'session', matcher: "'DICOM' in @.resources[*].label && @.scan-type == 'T1'" },
      { name: 'dicom', type: 'Resource', 'derived-from-wrapper-input': 'scan', matcher: "@.label == 'DICOM'", 'provides-files-for-command-mount': 'in' },
      { name: 'scan-id', type: 'string', 'derived-from-wrapper-input': 'scan', 'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'scan-id' },
    ],
  }],
}))[0].command;

const projectCommand = commandsFromText(JSON.stringify({
  name: 'p', image: 'i:1', 'command-line': 'run',
  mounts: [{ name: 'in', path: '/input' }],
  xnat: [{
    name: 'w',
    'external-inputs': [{ name: 'SESSION_LABEL', type: 'string' }, { name: 'project', type: 'Project' }],
    'derived-inputs': [
      { name: 'subject', type: 'Subject', 'derived-from-wrapper-input': 'project', matcher: "'#SESSION_LABEL#' in @.sessions[*].label" },
      { name: 'session', type: 'Session', 'derived-from-wrapper-input': 'subject', matcher: "@.label == '#SESSION_LABEL#'", 'provides-files-for-command-mount': 'in' },
    ],
  }],
}))[0].command;

const RUNS = 9;

const rootName = (c: typeof sessionCommand): string => c.xnat[0]['external-inputs'].find((i) => i.type !== 'string')?.name ?? '';

async function measure(name: string, target: number, tree: Record<string, unknown>, uri: string, command: typeof sessionCommand, extra: Record<string, string>): Promise<BenchResult> {
  const source = new MemoryObjectSource(tree);
  const ours = await timeRuns(RUNS, () => resolveCommand({ command, wrapper: 'w', inputs: { ...extra, [rootName(command)]: uri }, source }));
  source.loads = 0;
  await resolveCommand({ command, wrapper: 'w', inputs: { ...extra, [rootName(command)]: uri }, source });
  const loads = source.loads;
  const json = JSON.stringify(tree);
  const eager = await timeRuns(3, () => resolveCommand({ command, wrapper: 'w', inputs: { ...extra, [rootName(command)]: json }, source: new MemoryObjectSource([]) }));
  const m = median(ours);
  return {
    name: `${name} (objects loaded: ${loads})`,
    unit: 'ms',
    baseline: median(eager),
    baselineLabel: 'whole tree materialised',
    ours: m,
    better: 'lower',
    target: `<= ${target} ms`,
    met: m <= target,
  };
}

const bench: Bench = {
  name: 'resolve',
  async run() {
    return [
      await measure('session wrapper, 2,000 scans x 3 resources x 100 files', 50, bigSession(2000, 3, 100), '/archive/experiments/E1', sessionCommand, {}),
      await measure('project wrapper, one session of 10,000', 200, bigProject(10000), '/archive/projects/P', projectCommand, { SESSION_LABEL: 'SESS9876' }),
    ];
  },
};
export default bench;
