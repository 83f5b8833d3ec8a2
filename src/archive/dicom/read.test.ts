import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDicomSet } from './generate.ts';
import { readDicomBytes, readDicomFile } from './read.ts';
import { groupInstances, sanitizeLabel, type ReadInstance } from './group.ts';
import type { DicomHeader } from './read.ts';
import { withTempDir } from '../../../test/helpers/temp.ts';

function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir('xcs-dicom-read-', fn);
}

test('reads the routing attributes of a generated file', () => withTemp(async (dir) => {
  const m = await generateDicomSet(dir, { patients: 1, seriesPerStudy: 2, slices: 2, seed: 'r' });
  const r = await readDicomFile(join(dir, m.patients[0].studies[0].series[1].files[1]));
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.header.patientId, 'SUBJ001');
  assert.equal(r.header.patientName, 'Phantom^SUBJ001');
  assert.equal(r.header.seriesDescription, 'T2w_SPACE');
  assert.equal(r.header.seriesNumber, '2');
  assert.equal(r.header.instanceNumber, '2');
  assert.equal(r.header.modality, 'MR');
  assert.equal(r.header.accessionNumber, 'ACC00101');
  assert.equal(r.header.studyInstanceUid, m.patients[0].studies[0].studyInstanceUid);
}));

test('non-DICOM, truncated and UID-less files are reported with a reason', () => withTemp(async (dir) => {
  const m = await generateDicomSet(dir, { patients: 1, seriesPerStudy: 1, slices: 1, seed: 't' });
  const good = await readFile(join(dir, m.files[0]));
  await writeFile(join(dir, 'notes.txt'), 'hello, not an image\n'.repeat(20));
  await writeFile(join(dir, 'tiny'), 'x');
  await writeFile(join(dir, 'cut-pixels.dcm'), good.subarray(0, good.length - 100));
  await writeFile(join(dir, 'cut-header.dcm'), good.subarray(0, 300));
  const cases: Record<string, RegExp> = {
    'notes.txt': /not DICOM: no "DICM" marker/,
    tiny: /not DICOM: too short/,
    'cut-pixels.dcm': /truncated DICOM: element x7fe00010/,
    'cut-header.dcm': /truncated|malformed/,
  };
  for (const [name, reason] of Object.entries(cases)) {
    const r = await readDicomFile(join(dir, name));
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
}));

test('a prefix that holds the whole header is enough; a short prefix asks for more', () => withTemp(async (dir) => {
  const m = await generateDicomSet(dir, { patients: 1, seriesPerStudy: 1, slices: 1, seed: 'p', rows: 64, columns: 64 });
  const bytes = await readFile(join(dir, m.files[0]));
  const header = readDicomBytes(bytes.subarray(0, bytes.length - 64 * 64), bytes.length);
  assert.ok(header?.ok);
  assert.equal(readDicomBytes(bytes.subarray(0, 400), bytes.length), undefined);
}));

function header(over: Partial<DicomHeader>): DicomHeader {
  return {
    sopClassUid: '1.2', sopInstanceUid: '1.1', studyInstanceUid: '9.1', seriesInstanceUid: '8.1', patientId: 'P1',
    patientName: 'Doe^J', studyId: '1', accessionNumber: '', studyDate: '20240102', studyTime: '0930',
    modality: 'MR', seriesDescription: 'T1', seriesNumber: '1', instanceNumber: '1', manufacturer: '', model: '', ...over,
  };
}

test('grouping: patients → studies → series, labels, ids and xsi types', () => {
  const inst: Array<ReadInstance<string>> = [
    { source: 'a', header: header({ sopInstanceUid: '1.1', instanceNumber: '2' }) },
    { source: 'b', header: header({ sopInstanceUid: '1.2', instanceNumber: '1' }) },
    { source: 'c', header: header({ sopInstanceUid: '1.3', seriesInstanceUid: '8.2', seriesNumber: '1', seriesDescription: 'T1 again' }) },
    { source: 'd', header: header({ sopInstanceUid: '1.4', seriesInstanceUid: '8.3', seriesNumber: '', modality: 'SR' }) },
    { source: 'e', header: header({ sopInstanceUid: '1.5', studyInstanceUid: '9.2', seriesInstanceUid: '8.4', modality: 'CT', studyDate: '20240301' }) },
    { source: 'f', header: header({ sopInstanceUid: '1.6', studyInstanceUid: '9.3', seriesInstanceUid: '8.5', patientId: 'P 2/x', modality: 'PT', accessionNumber: 'A#7' }) },
    { source: 'g', header: header({ sopInstanceUid: '1.7', studyInstanceUid: '9.3', seriesInstanceUid: '8.6', patientId: 'P 2/x', modality: 'CT', seriesNumber: '2' }) },
    { source: 'dup', header: header({ sopInstanceUid: '1.1' }) },
  ];
  const plan = groupInstances(inst, { takenSessionLabels: ['P1_1_2'] });
  assert.deepEqual(plan.duplicates.map((d) => d.source), ['dup']);
  assert.deepEqual(plan.subjects.map((s) => s.label), ['P1', 'P_2_x']);
  const p1 = plan.subjects[0];
  // Two studies with StudyID 1: the later one gets a suffix; _2 is taken, so _3.
  assert.deepEqual(p1.sessions.map((s) => [s.label, s.xsiType, s.date]),
    [['P1_1', 'xnat:mrSessionData', '2024-01-02'], ['P1_1_3', 'xnat:ctSessionData', '2024-03-01']]);
  const scans = p1.sessions[0].scans;
  assert.deepEqual(scans.map((s) => [s.id, s.type, s.xsiType, s.files.map((f) => f.source)]), [
    ['0', 'T1', 'xnat:srScanData', ['d']],
    ['1', 'T1', 'xnat:mrScanData', ['b', 'a']],
    ['1-2', 'T1 again', 'xnat:mrScanData', ['c']],
  ]);
  assert.equal(scans[1].files[0].name, '1.2.dcm');
  const pet = plan.subjects[1].sessions[0];
  assert.deepEqual([pet.label, pet.xsiType, pet.time], ['P_2_x_A_7', 'xnat:petSessionData', '09:30:00']);
  assert.deepEqual(pet.scans.map((s) => s.xsiType), ['xnat:petScanData', 'xnat:ctScanData']);
});

test('grouping: a known study keeps its session label', () => {
  const plan = groupInstances([{ source: 1, header: header({}) }], { knownSessions: new Map([['9.1', 'OLD_LABEL']]) });
  assert.equal(plan.subjects[0].sessions[0].label, 'OLD_LABEL');
  assert.equal(sanitizeLabel('  a b..c  '), 'a_b_c');
});
