/**
 * Generates synthetic, valid DICOM sets (patients → studies → series → slices)
 * for tests, benchmarks and the demo. Every image is a small 16-bit monochrome
 * slice with real geometry, so dcm2niix can stack a series into a NIfTI volume.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { encodePart10, type DicomElement } from './writer.ts';

export type GeneratedModality = 'MR' | 'CT' | 'PT' | 'OT';

export interface DicomSetSpec {
  /** Number of patients (default 2). */
  patients?: number;
  /** Studies per patient (default 1). */
  studiesPerPatient?: number;
  /** Series per study (default 3). */
  seriesPerStudy?: number;
  /** Slices (instances) per series (default 5). */
  slices?: number;
  /** Image size in pixels (default 16×16). */
  rows?: number;
  columns?: number;
  modality?: GeneratedModality;
  /** Same seed, same UIDs and bytes; default: a fresh random seed. */
  seed?: string;
  /** Series descriptions, used in turn (default: a few typical MR protocol names). */
  seriesDescriptions?: readonly string[];
  /** Prefix of the patient IDs (default `SUBJ`): patient i gets `${prefix}${i+1, 3 digits}`. */
  patientIdPrefix?: string;
}

export interface GeneratedSeries {
  seriesInstanceUid: string;
  seriesNumber: number;
  description: string;
  /** Paths relative to the set's directory, in slice order. */
  files: string[];
}

export interface GeneratedStudy {
  studyInstanceUid: string;
  studyId: string;
  accessionNumber: string;
  studyDate: string;
  series: GeneratedSeries[];
}

export interface GeneratedPatient {
  patientId: string;
  patientName: string;
  studies: GeneratedStudy[];
}

export interface DicomSetManifest {
  dir: string;
  modality: GeneratedModality;
  patients: GeneratedPatient[];
  /** Every file written, relative to `dir`. */
  files: string[];
  bytes: number;
}

const DEFAULT_DESCRIPTIONS = ['T1w_MPRAGE', 'T2w_SPACE', 'rest_fMRI', 'DWI_dir30', 'FLAIR', 'localizer'];

const SOP_CLASS: Record<GeneratedModality, string> = {
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  PT: '1.2.840.10008.5.1.4.1.1.128',
  OT: '1.2.840.10008.5.1.4.1.1.7',
};

/** A UID under the UUID-derived root 2.25 (PS3.5 §B.2), derived from the seed so sets are reproducible. */
function uidFor(seed: string, key: string): string {
  const digest = createHash('sha256').update(`${seed}/${key}`).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

function count(name: string, value: number | undefined, fallback: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new XcsError('dicom.generate.bad-spec', `${name} must be an integer from 1 to ${max}, got ${String(value)}`, { path: name });
  }
  return n;
}

/** A gradient that shifts with the slice, kept under 12 bits (BitsStored = 12). */
function pixelData(rows: number, columns: number, slice: number): Uint8Array {
  const out = Buffer.alloc(rows * columns * 2);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      out.writeUInt16LE(((x + y + slice * 3) % 32) * 100 + 50, (y * columns + x) * 2);
    }
  }
  return out;
}

interface SliceContext {
  modality: GeneratedModality;
  patient: GeneratedPatient;
  study: GeneratedStudy;
  series: GeneratedSeries;
  frameOfReferenceUid: string;
  sopInstanceUid: string;
  slice: number;
  rows: number;
  columns: number;
}

function sliceDataset(c: SliceContext): DicomElement[] {
  const spacing = 1;
  const thickness = 1;
  const origin = [-(c.columns * spacing) / 2, -(c.rows * spacing) / 2, c.slice * thickness];
  const elements: DicomElement[] = [
    { tag: 0x00080008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\M\\ND' },
    { tag: 0x00080016, vr: 'UI', value: SOP_CLASS[c.modality] },
    { tag: 0x00080018, vr: 'UI', value: c.sopInstanceUid },
    { tag: 0x00080020, vr: 'DA', value: c.study.studyDate },
    { tag: 0x00080021, vr: 'DA', value: c.study.studyDate },
    { tag: 0x00080030, vr: 'TM', value: '101500' },
    { tag: 0x00080031, vr: 'TM', value: `10${String(c.series.seriesNumber % 60).padStart(2, '0')}00` },
    { tag: 0x00080050, vr: 'SH', value: c.study.accessionNumber },
    { tag: 0x00080060, vr: 'CS', value: c.modality },
    { tag: 0x00080070, vr: 'LO', value: 'XCS Synthetic' },
    { tag: 0x00081030, vr: 'LO', value: 'XCS generated study' },
    { tag: 0x0008103e, vr: 'LO', value: c.series.description },
    { tag: 0x00081090, vr: 'LO', value: 'Phantom 1000' },
    { tag: 0x00100010, vr: 'PN', value: c.patient.patientName },
    { tag: 0x00100020, vr: 'LO', value: c.patient.patientId },
    { tag: 0x00100030, vr: 'DA', value: '19800101' },
    { tag: 0x00100040, vr: 'CS', value: 'O' },
    { tag: 0x00180050, vr: 'DS', value: String(thickness) },
    { tag: 0x00180088, vr: 'DS', value: String(thickness) },
    { tag: 0x0020000d, vr: 'UI', value: c.study.studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: c.series.seriesInstanceUid },
    { tag: 0x00200010, vr: 'SH', value: c.study.studyId },
    { tag: 0x00200011, vr: 'IS', value: String(c.series.seriesNumber) },
    { tag: 0x00200013, vr: 'IS', value: String(c.slice + 1) },
    { tag: 0x00200032, vr: 'DS', value: origin.map(String).join('\\') },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00200052, vr: 'UI', value: c.frameOfReferenceUid },
    { tag: 0x00201041, vr: 'DS', value: String(origin[2]) },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: c.rows },
    { tag: 0x00280011, vr: 'US', value: c.columns },
    { tag: 0x00280030, vr: 'DS', value: `${spacing}\\${spacing}` },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: pixelData(c.rows, c.columns, c.slice) },
  ];
  if (c.modality === 'MR') {
    elements.push(
      { tag: 0x00180080, vr: 'DS', value: '2300' },
      { tag: 0x00180081, vr: 'DS', value: '2.98' },
      { tag: 0x00180087, vr: 'DS', value: '3' },
    );
  }
  if (c.modality === 'CT' || c.modality === 'PT') {
    elements.push({ tag: 0x00281052, vr: 'DS', value: '0' }, { tag: 0x00281053, vr: 'DS', value: '1' });
  }
  return elements;
}

/**
 * Writes a DICOM set under `dir` as `{PatientID}/{study n}/{series number}_{description}/IM{slice}.dcm`
 * and returns what was written.
 */
export async function generateDicomSet(dir: string, spec: DicomSetSpec = {}): Promise<DicomSetManifest> {
  const patients = count('patients', spec.patients, 2, 10_000);
  const studies = count('studiesPerPatient', spec.studiesPerPatient, 1, 100);
  const seriesCount = count('seriesPerStudy', spec.seriesPerStudy, 3, 1000);
  const slices = count('slices', spec.slices, 5, 10_000);
  const rows = count('rows', spec.rows, 16, 1024);
  const columns = count('columns', spec.columns, 16, 1024);
  const modality = spec.modality ?? 'MR';
  const seed = spec.seed ?? randomUUID();
  const descriptions = spec.seriesDescriptions?.length ? spec.seriesDescriptions : DEFAULT_DESCRIPTIONS;
  const prefix = spec.patientIdPrefix ?? 'SUBJ';

  const manifest: DicomSetManifest = { dir, modality, patients: [], files: [], bytes: 0 };
  const pending: Array<{ path: string; data: Buffer }> = [];
  const flush = async (): Promise<void> => {
    await Promise.all(pending.map((f) => writeFile(join(dir, f.path), f.data)));
    pending.length = 0;
  };

  for (let p = 0; p < patients; p++) {
    const patientId = `${prefix}${String(p + 1).padStart(3, '0')}`;
    const patient: GeneratedPatient = { patientId, patientName: `Phantom^${patientId}`, studies: [] };
    manifest.patients.push(patient);
    for (let s = 0; s < studies; s++) {
      const studyKey = `${patientId}/study${s + 1}`;
      const study: GeneratedStudy = {
        studyInstanceUid: uidFor(seed, studyKey),
        studyId: String(s + 1),
        accessionNumber: `ACC${String(p + 1).padStart(3, '0')}${String(s + 1).padStart(2, '0')}`,
        studyDate: `2024${String((s % 12) + 1).padStart(2, '0')}${String((p % 28) + 1).padStart(2, '0')}`,
        series: [],
      };
      patient.studies.push(study);
      const frameOfReferenceUid = uidFor(seed, `${studyKey}/frame`);
      for (let k = 0; k < seriesCount; k++) {
        const description = descriptions[k % descriptions.length];
        const series: GeneratedSeries = {
          seriesInstanceUid: uidFor(seed, `${studyKey}/series${k + 1}`),
          seriesNumber: k + 1,
          description,
          files: [],
        };
        study.series.push(series);
        const seriesDir = join(patientId, `study${s + 1}`, `${series.seriesNumber}_${description.replace(/[^A-Za-z0-9_-]/g, '_')}`);
        await mkdir(join(dir, seriesDir), { recursive: true });
        for (let i = 0; i < slices; i++) {
          const data = encodePart10(sliceDataset({
            modality, patient, study, series, frameOfReferenceUid, rows, columns, slice: i,
            sopInstanceUid: uidFor(seed, `${studyKey}/series${k + 1}/${i + 1}`),
          }));
          const path = join(seriesDir, `IM${String(i + 1).padStart(4, '0')}.dcm`);
          series.files.push(path);
          manifest.files.push(path);
          manifest.bytes += data.length;
          pending.push({ path, data });
          // Bounded batches: many small writes in flight, memory still flat for big sets.
          if (pending.length >= 64) await flush();
        }
      }
    }
  }
  await flush();
  return manifest;
}
