import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandText, type Command } from '../command/index.ts';
import { MemoryObjectSource } from '../resolution/memory-source.ts';
import { resolveCommand } from '../resolution/resolve/index.ts';
import { isXcsError, type XcsError } from '../core/errors.ts';
import { dryRun } from './exec-cli.ts';
import { planExec, type ExecRequest } from './exec-plan.ts';

const dcm2niix = parseCommandText(readFileSync(new URL('../../examples/commands/dcm2niix.json', import.meta.url), 'utf8')).commands[0].command as Command;

async function withDirs(fn: (d: { dicom: string; out: string; scratch: string }) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'xcs-exec-plan-'));
  try {
    await fn({ dicom: root, out: join(root, 'out'), scratch: join(root, 'scratch') });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function request(over: Partial<ExecRequest> & { outputDir: string; scratchDir: string }): ExecRequest {
  return { command: dcm2niix, mounts: {}, inputs: {}, otherCommands: [], ...over };
}

test('exec resolves the command line, environment and mounts exactly as the service does on an archive scan', async () => {
  await withDirs(async ({ dicom, out, scratch }) => {
    // The service: a real-looking scan whose DICOM resource lives in `dicom`.
    const archive = new MemoryObjectSource([{
      type: 'Session', id: 'E1', label: 'MR1', 'project-id': 'P',
      scans: [{ id: '3', 'scan-type': 'T1', resources: [{ label: 'DICOM', directory: dicom }, { label: 'SNAPSHOTS', directory: '/elsewhere' }] }],
    }]);
    const service = await resolveCommand({
      command: dcm2niix, wrapper: 'dcm2niix-scan', inputs: { scan: '/archive/experiments/E1/scans/3', bids: 'true', 'other-options': '-z y' },
      source: archive, project: 'P', options: { buildDir: (p) => join(out, p.split(' ')[1]) },
    });
    const plan = await planExec(request({ mounts: { 'dicom-in': dicom }, inputs: { bids: 'true', 'other-options': '-z y' }, outputDir: out, scratchDir: scratch }));
    assert.equal(plan.resolved['command-line'], service['command-line']);
    assert.equal(plan.resolved['command-line'], 'dcm2niix -b y -z y -o /output /input');
    assert.deepEqual(plan.resolved['environment-variables'], service['environment-variables']);
    assert.deepEqual(plan.resolved.mounts, service.mounts);
    assert.deepEqual(plan.resolved.outputs.map((o) => [o.name, o.type, o.label, o['handled-by']]), service.outputs.map((o) => [o.name, o.type, o.label, o['handled-by']]));
    const spec = dryRun(plan).container;
    assert.deepEqual(spec.mounts, [
      { hostPath: dicom, containerPath: '/input', writable: false },
      { hostPath: join(out, 'nifti-out'), containerPath: '/output', writable: true },
    ]);
    assert.equal(spec.network, 'none');
    assert.equal(spec.image, 'xnat/dcm2niix:latest');
  });
});

test('every missing mount, unknown name and bad value is refused at once, each named, before any folder is made', async () => {
  await withDirs(async ({ out, scratch }) => {
    const failure = await planExec(request({
      mounts: { 'no-such-mount': '/tmp' }, inputs: { bids: 'maybe', colour: 'red' }, outputDir: out, scratchDir: scratch,
    })).then(() => null, (e: unknown) => e);
    assert.ok(isXcsError(failure));
    const e = failure as XcsError;
    assert.equal(e.code, 'exec.refused');
    assert.deepEqual(e.details.map((d) => d.path).sort(), ['--input bids', '--input colour', '--mount dicom-in', '--mount no-such-mount']);
    assert.match(e.message, /--mount dicom-in: missing: give --mount dicom-in=DIR \(the files of input "scan-dicoms", seen at \/input/);
    assert.match(e.message, /--input bids: "maybe" is not true or false/);
    await assert.rejects(stat(out), { code: 'ENOENT' });
  });
});

test('a folder that does not exist, and a value with characters XNAT refuses, are refused', async () => {
  await withDirs(async ({ dicom, out, scratch }) => {
    await assert.rejects(planExec(request({ mounts: { 'dicom-in': join(dicom, 'nope') }, outputDir: out, scratchDir: scratch })),
      (e: XcsError) => e.code === 'exec.refused' && /--mount dicom-in: .*nope does not exist/.test(e.message));
    await assert.rejects(planExec(request({ mounts: { 'dicom-in': dicom }, inputs: { 'other-options': '-z y; rm -rf /' }, outputDir: out, scratchDir: scratch })),
      (e: XcsError) => e.code === 'exec.refused' && /illegal string ";"/.test(e.message));
  });
});

test('setup commands are found among the other commands and fed the given folder', async () => {
  await withDirs(async ({ dicom, out, scratch }) => {
    const main = structuredClone(dcm2niix);
    main.xnat[0]['derived-inputs'][0]['via-setup-command'] = 'xcs-test/busybox:latest:unzip';
    const setup = parseCommandText(JSON.stringify({ name: 'unzip', type: 'docker-setup', image: 'xcs-test/busybox:latest', 'command-line': 'cp -r /input/. /output/' })).commands[0].command as Command;
    const plan = await planExec(request({ command: main, mounts: { 'dicom-in': dicom }, outputDir: out, scratchDir: scratch, otherCommands: [setup] }));
    const [s] = plan.resolved['setup-commands'];
    assert.equal(s['command-line'], 'cp -r /input/. /output/');
    assert.equal(s.mounts.find((m) => m.name === 'input')?.['xnat-host-path'], dicom);
    const fed = s.mounts.find((m) => m.name === 'output')?.['xnat-host-path'];
    assert.ok(fed?.startsWith(scratch));
    assert.equal(plan.resolved.mounts.find((m) => m.name === 'dicom-in')?.['xnat-host-path'], fed);
  });
});
