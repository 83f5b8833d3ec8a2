import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dcm2niix = fileURLToPath(new URL('./corpus/commands/NrgXnat__docker-images__dcm2niix__command.json', import.meta.url));

function xcs(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('xcs resolve: dcm2niix on a scan with DICOM gives the XNAT command line; --explain shows why a scan without DICOM is rejected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-resolve-'));
  try {
    const withDicom = join(dir, 'scan.json');
    const without = join(dir, 'scan2.json');
    writeFileSync(withDicom, JSON.stringify({ type: 'Scan', id: '1', 'scan-type': 'T1', uri: '/archive/experiments/E1/scans/1', resources: [{ type: 'Resource', label: 'DICOM', directory: '/archive/P/arc001/E1/SCANS/1/DICOM' }] }));
    writeFileSync(without, JSON.stringify({ type: 'Scan', id: '2', 'scan-type': 'T2', uri: '/archive/experiments/E1/scans/2', resources: [{ type: 'Resource', label: 'NIFTI', directory: '/n' }] }));
    const ok = xcs(['resolve', '--command', dcm2niix, '--input', `scan=@${withDicom}`, '--json']);
    assert.equal(ok.code, 0, ok.err);
    const r = JSON.parse(ok.out);
    assert.equal(r['command-line'], 'dcm2niix -b n  -o /output /input');
    assert.equal(r.image, 'xnat/dcm2niix:latest');
    assert.deepEqual(r.mounts[0], { name: 'dicom-in', writable: false, 'container-path': '/input', 'xnat-host-path': '/archive/P/arc001/E1/SCANS/1/DICOM', 'container-host-path': '/archive/P/arc001/E1/SCANS/1/DICOM' });
    assert.equal(r.outputs[0].label, 'NIFTI');
    assert.deepEqual(r['wrapper-input-values'], { scan: '/archive/experiments/E1/scans/1', 'scan-dicoms': '/archive/experiments/E1/scans/1/resources/DICOM' });
    const bids = JSON.parse(xcs(['resolve', '--command', dcm2niix, '--input', `scan=@${withDicom}`, '--input', 'bids=true', '--json']).out);
    assert.equal(bids['command-line'], 'dcm2niix -b y  -o /output /input');

    const bad = xcs(['resolve', '--command', dcm2niix, '--input', `scan=@${without}`, '--json', '--explain']);
    assert.equal(bad.code, 1);
    const e = JSON.parse(bad.out);
    assert.equal(e.error.code, 'resolution.input.unresolved');
    const scan = e.explanation.inputs.find((i: { name: string }) => i.name === 'scan');
    assert.equal(scan.candidates[0].accepted, false);
    assert.deepEqual(scan.candidates[0].reasons, [`'DICOM' in @.resources[*].label is false (left = "DICOM", right = ["NIFTI"])`]);
    const text = xcs(['resolve', '--command', dcm2niix, '--input', `scan=@${without}`, '--explain']);
    assert.equal(text.code, 1);
    assert.match(text.err, /rejected 2 - T2/);

    const inj = JSON.parse(xcs(['resolve', '--command', dcm2niix, '--input', `scan=@${withDicom}`, '--input', 'other-options=-z y && rm -rf /', '--json']).out);
    assert.equal(inj.error.code, 'resolution.input.illegal-value');
    assert.equal(inj.error.message, 'Input "other-options" has a value containing illegal string "&&".');
    assert.equal(inj.error.path, 'other-options');
    assert.match(inj.error.hint, /shell/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
