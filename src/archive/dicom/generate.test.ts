import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { generateDicomSet } from './generate.ts';
import { encodePart10 } from './writer.ts';
import { withTempDir } from '../../../test/helpers/temp.ts';

function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir('xcs-dicom-gen-', fn);
}

test('generated files are Part 10 with the tags an importer and dcm2niix need', () => withTemp(async (dir) => {
  const m = await generateDicomSet(dir, { patients: 2, studiesPerPatient: 2, seriesPerStudy: 2, slices: 3, seed: 's1' });
  assert.equal(m.files.length, 2 * 2 * 2 * 3);
  const bytes = await readFile(join(dir, m.files[0]));
  assert.equal(bytes.subarray(128, 132).toString('latin1'), 'DICM');
  const ds = dicomParser.parseDicom(bytes);
  assert.equal(ds.string('x00020010'), '1.2.840.10008.1.2.1');
  assert.equal(ds.string('x00080016'), '1.2.840.10008.5.1.4.1.1.4');
  assert.equal(ds.string('x00020003'), ds.string('x00080018'));
  assert.equal(ds.string('x00100020'), 'SUBJ001');
  assert.equal(ds.string('x00080060'), 'MR');
  assert.equal(ds.string('x0008103e'), 'T1w_MPRAGE');
  assert.equal(ds.string('x00200011'), '1');
  assert.equal(ds.string('x00200013'), '1');
  assert.equal(ds.uint16('x00280010'), 16);
  assert.equal(ds.uint16('x00280100'), 16);
  assert.equal(ds.string('x00280004'), 'MONOCHROME2');
  assert.equal(ds.elements.x7fe00010.length, 16 * 16 * 2);
  assert.equal(ds.string('x0020000d'), m.patients[0].studies[0].studyInstanceUid);
  // UIDs are unique per study and series, and at most 64 characters.
  const uids = m.patients.flatMap((p) => p.studies.flatMap((s) => [s.studyInstanceUid, ...s.series.map((x) => x.seriesInstanceUid)]));
  assert.equal(new Set(uids).size, uids.length);
  for (const uid of uids) assert.match(uid, /^2\.25\.[1-9]\d{0,38}$/);
}));

test('the same seed gives the same bytes; another seed other UIDs', () => withTemp(async (dir) => {
  const a = await generateDicomSet(join(dir, 'a'), { patients: 1, seriesPerStudy: 1, slices: 1, seed: 'same' });
  const b = await generateDicomSet(join(dir, 'b'), { patients: 1, seriesPerStudy: 1, slices: 1, seed: 'same' });
  const c = await generateDicomSet(join(dir, 'c'), { patients: 1, seriesPerStudy: 1, slices: 1, seed: 'other' });
  assert.deepEqual(await readFile(join(dir, 'a', a.files[0])), await readFile(join(dir, 'b', b.files[0])));
  assert.notEqual(a.patients[0].studies[0].studyInstanceUid, c.patients[0].studies[0].studyInstanceUid);
}));

test('a bad spec is refused with the field named', () => withTemp(async (dir) => {
  await assert.rejects(generateDicomSet(dir, { slices: 0 }), (e: any) => e.code === 'dicom.generate.bad-spec' && e.path === 'slices');
}));

test('the writer refuses a dataset without SOP UIDs', () => {
  assert.throws(() => encodePart10([{ tag: 0x00100020, vr: 'LO', value: 'X' }]), (e: any) => e.code === 'dicom.write.missing-uid');
});

test('dcm2niix converts a generated series into one NIfTI volume', () => withTemp(async (dir) => {
  const m = await generateDicomSet(join(dir, 'in'), { patients: 1, seriesPerStudy: 2, slices: 6, seed: 'nifti' });
  const series = m.patients[0].studies[0].series[1];
  const seriesDir = join(dir, 'in', series.files[0], '..');
  const out = join(dir, 'out');
  await mkdir(out);
  const r = spawnSync('dcm2niix', ['-z', 'n', '-o', out, '-f', '%s_%d', seriesDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stdout + r.stderr, /error/i);
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, ['2_T2w_SPACE.json', '2_T2w_SPACE.nii']);
  const nii = await readFile(join(out, '2_T2w_SPACE.nii'));
  // NIfTI-1 header: dim[0..3] at byte 40 = 3 dimensions, 16 x 16 x 6.
  assert.equal(nii.readInt16LE(40), 3);
  assert.deepEqual([nii.readInt16LE(42), nii.readInt16LE(44), nii.readInt16LE(46)], [16, 16, 6]);
  const sidecar = JSON.parse(await readFile(join(out, '2_T2w_SPACE.json'), 'utf8'));
  assert.equal(sidecar.SeriesDescription, 'T2w_SPACE');
  assert.equal(sidecar.Modality, 'MR');
}));
