/**
 * Reads the routing attributes of a DICOM Part 10 file (patient, study, series,
 * instance) with dicom-parser, stopping before the pixel data so that only the
 * header bytes are read for typical images.
 */
import { open, readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { messageOf } from '../../core/errors.ts';

/** The attributes the importer routes and labels by; text values are trimmed, absent ones empty. */
export interface DicomHeader {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patientId: string;
  patientName: string;
  studyId: string;
  accessionNumber: string;
  /** DICOM DA (YYYYMMDD) and TM (HHMMSS.frac) as found. */
  studyDate: string;
  studyTime: string;
  modality: string;
  seriesDescription: string;
  /** The SeriesNumber text, e.g. `601`; empty when absent. */
  seriesNumber: string;
  instanceNumber: string;
  manufacturer: string;
  model: string;
}

export type DicomReadResult = { ok: true; header: DicomHeader } | { ok: false; reason: string };

/** Headers of ordinary images fit in this; bigger headers make us read the whole file. */
const HEAD_BYTES = 64 * 1024;
const PIXEL_DATA = 'x7fe00010';
const UNDEFINED_LENGTH = 0xffffffff;

const TAGS = {
  sopClassUid: 'x00080016',
  sopInstanceUid: 'x00080018',
  studyInstanceUid: 'x0020000d',
  seriesInstanceUid: 'x0020000e',
  patientId: 'x00100020',
  patientName: 'x00100010',
  studyId: 'x00200010',
  accessionNumber: 'x00080050',
  studyDate: 'x00080020',
  studyTime: 'x00080030',
  modality: 'x00080060',
  seriesDescription: 'x0008103e',
  seriesNumber: 'x00200011',
  instanceNumber: 'x00200013',
  manufacturer: 'x00080070',
  model: 'x00081090',
} as const satisfies Record<keyof DicomHeader, string>;

const REQUIRED: ReadonlyArray<keyof DicomHeader> = ['sopInstanceUid', 'studyInstanceUid', 'seriesInstanceUid'];

function isPart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** dicom-parser's hook for the deflated transfer syntax: inflate everything after the meta header. */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, position);
  const body = inflateRawSync(Buffer.from(bytes.buffer, bytes.byteOffset + position, bytes.length - position));
  return Buffer.concat([head, body]);
}

type Parsed = { ok: true; dataSet: dicomParser.DataSet } | { ok: false; reason: string };

function parse(bytes: Uint8Array): Parsed {
  try {
    return { ok: true, dataSet: dicomParser.parseDicom(bytes, { untilTag: PIXEL_DATA, inflater }) };
  } catch (e) {
    return { ok: false, reason: messageOf(e).replace(/^dicomParser\.\w+: /, '') };
  }
}

/** The first element whose declared value runs past `available` bytes, if any. */
function overrun(dataSet: dicomParser.DataSet, available: number, except?: dicomParser.Element): dicomParser.Element | undefined {
  for (const el of Object.values(dataSet.elements)) {
    if (el !== except && el.length !== UNDEFINED_LENGTH && el.dataOffset + el.length > available) return el;
  }
  return undefined;
}

/**
 * Reads a header from bytes that are the start of a file of `fileSize` bytes.
 * Returns `undefined` when the bytes are a prefix and more of the file is needed.
 */
export function readDicomBytes(bytes: Uint8Array, fileSize = bytes.length): DicomReadResult | undefined {
  if (!isPart10(bytes)) {
    return { ok: false, reason: fileSize < 132 ? 'not DICOM: too short for a DICOM Part 10 file' : 'not DICOM: no "DICM" marker at byte 128' };
  }
  const whole = bytes.length >= fileSize;
  const parsed = parse(bytes);
  if (!parsed.ok) return whole ? { ok: false, reason: `malformed or truncated DICOM: ${parsed.reason}` } : undefined;
  const ds = parsed.dataSet;
  const pixels = ds.elements[PIXEL_DATA];
  const beyond = overrun(ds, fileSize);
  if (beyond !== undefined) {
    return { ok: false, reason: `truncated DICOM: element ${beyond.tag} needs ${beyond.dataOffset + beyond.length} bytes, the file has ${fileSize}` };
  }
  // A prefix that did not reach the pixel data, or whose header elements run past it, is not enough.
  if (!whole && (pixels === undefined || overrun(ds, bytes.length, pixels) !== undefined)) return undefined;
  const header = {} as DicomHeader;
  for (const [key, tag] of Object.entries(TAGS) as Array<[keyof DicomHeader, string]>) {
    header[key] = (ds.string(tag) ?? '').trim();
  }
  const missing = REQUIRED.filter((k) => header[k] === '');
  if (missing.length > 0) {
    return { ok: false, reason: `DICOM without ${missing.map((k) => `${k} ${TAGS[k]}`).join(', ')}: cannot tell where it belongs` };
  }
  return { ok: true, header };
}

/** Reads the header from the complete bytes of a file. */
export function readWholeDicom(bytes: Uint8Array): DicomReadResult {
  // With the whole file there is nothing more to ask for, so the result is always defined.
  return readDicomBytes(bytes, bytes.length) ?? { ok: false, reason: 'malformed DICOM: header could not be read' };
}

/** Reads the header of a file, reading only its first bytes when they hold the whole header. */
export async function readDicomFile(path: string, knownSize?: number): Promise<DicomReadResult> {
  if (knownSize !== undefined && knownSize <= HEAD_BYTES) return readWholeDicom(await readFile(path));
  const fh = await open(path, 'r');
  try {
    const size = knownSize ?? (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const first = readDicomBytes(head.subarray(0, bytesRead), size);
    if (first !== undefined) return first;
    return readWholeDicom(await fh.readFile());
  } finally {
    await fh.close();
  }
}
