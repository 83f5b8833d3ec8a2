/**
 * A small DICOM Part 10 encoder: explicit VR little endian only, no sequences.
 * It exists so that XCS can make its own test data (no downloads); it is not a
 * general DICOM toolkit.
 */
import { XcsError } from '../../core/errors.ts';

/** The value representations the generator needs. */
export type DicomVr = 'AE' | 'CS' | 'DA' | 'DS' | 'IS' | 'LO' | 'OB' | 'OW' | 'PN' | 'SH' | 'TM' | 'UI' | 'UL' | 'US';

export interface DicomElement {
  /** `(group << 16) | element`, e.g. 0x00100020 for PatientID. */
  tag: number;
  vr: DicomVr;
  /** Strings for text VRs (multiple values joined with `\`), numbers for UL/US, bytes for OB/OW. */
  value: string | number | readonly number[] | Uint8Array;
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation class UID, under the UUID-derived root 2.25 so it needs no registered org root. */
export const XCS_IMPLEMENTATION_CLASS_UID = '2.25.117394578470235081735237196201432409321';
const IMPLEMENTATION_VERSION = 'XCS_0_1';

/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set<DicomVr>(['OB', 'OW']);

function encodeValue(el: DicomElement): Buffer {
  const { vr, value } = el;
  if (vr === 'US' || vr === 'UL') {
    const values = typeof value === 'number' ? [value] : Array.isArray(value) ? (value as readonly number[]) : null;
    if (values === null) throw badValue(el);
    const size = vr === 'US' ? 2 : 4;
    const out = Buffer.alloc(values.length * size);
    values.forEach((v, i) => (vr === 'US' ? out.writeUInt16LE(v, i * 2) : out.writeUInt32LE(v, i * 4)));
    return out;
  }
  if (vr === 'OB' || vr === 'OW') {
    if (!(value instanceof Uint8Array)) throw badValue(el);
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(1)]);
  }
  if (typeof value !== 'string') throw badValue(el);
  const text = Buffer.from(value, 'latin1');
  if (text.length % 2 === 0) return text;
  // UIDs are padded with NUL, every other text VR with a space (PS3.5 §6.2).
  return Buffer.concat([text, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
}

function badValue(el: DicomElement): XcsError {
  return new XcsError('dicom.write.bad-value', `DICOM element ${tagText(el.tag)} (${el.vr}) has a value of the wrong kind`, {
    path: tagText(el.tag),
  });
}

export function tagText(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function encodeElement(el: DicomElement): Buffer {
  const value = encodeValue(el);
  const long = LONG_VRS.has(el.vr);
  if (!long && value.length > 0xffff) {
    throw new XcsError('dicom.write.too-long', `DICOM element ${tagText(el.tag)} is too long for VR ${el.vr}`, { path: tagText(el.tag) });
  }
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(el.tag >>> 16, 0);
  head.writeUInt16LE(el.tag & 0xffff, 2);
  head.write(el.vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function encodeSorted(elements: readonly DicomElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  return Buffer.concat(sorted.map(encodeElement));
}

/**
 * Encodes a dataset as a DICOM Part 10 file: 128-byte preamble, `DICM`, the
 * group 0002 file meta information, then the dataset in explicit VR little endian.
 * SOP class and instance UIDs for the meta header come from (0008,0016) and (0008,0018).
 */
export function encodePart10(dataset: readonly DicomElement[]): Buffer {
  const find = (tag: number): string => {
    const el = dataset.find((e) => e.tag === tag);
    if (el === undefined || typeof el.value !== 'string') {
      throw new XcsError('dicom.write.missing-uid', `a DICOM Part 10 file needs ${tagText(tag)} in its dataset`, { path: tagText(tag) });
    }
    return el.value;
  };
  const metaBody = encodeSorted([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { tag: 0x00020002, vr: 'UI', value: find(0x00080016) },
    { tag: 0x00020003, vr: 'UI', value: find(0x00080018) },
    { tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { tag: 0x00020012, vr: 'UI', value: XCS_IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION },
  ]);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: metaBody.length });
  const body = encodeSorted(dataset.filter((e) => e.tag >>> 16 !== 0x0002));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaBody, body]);
}
