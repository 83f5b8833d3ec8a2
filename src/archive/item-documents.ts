/**
 * What an assessor or scan document written by a tool says about itself, read the way XNAT reads it when
 * it inserts an XML document: the data type comes from `xsi:type`, else from the root element's name
 * (XNAT schemas declare an element per type, e.g. `<icr:RoiCollection>` of type `icr:roiCollectionData`),
 * and the document's own `ID` is kept when it is a valid ID.
 */
import { XcsError } from '../core/errors.ts';
import { typeOfElement, isKnownType } from './xsi.ts';
import { parseXmlRoot } from './xml.ts';
import type { ExtraFields } from './types.ts';

/** XNAT's rule for accession IDs: letters, digits, `_` and `-` (no spaces, dots or slashes). */
const XNAT_ID = /^[A-Za-z0-9_-]{1,255}$/;

export interface DocumentType {
  xsiType: string;
  /** Set when the type could not be told from the document: it is stored under the element's own name. */
  warning?: string;
}

/**
 * The data type of a document's root element. Known element names map through the table of `xsi.ts`;
 * otherwise XNAT's schema convention applies: an element `ns:RoiCollection` (capitalised) is the type
 * `ns:roiCollectionData`, an element already named `…Data` is its type. Anything else is kept as written,
 * with a warning, since no wrapper context will name it.
 */
export function documentType(element: string, xsiAttribute?: string): DocumentType {
  if (xsiAttribute) return { xsiType: typeOfElement(xsiAttribute) };
  const known = typeOfElement(element);
  if (isKnownType(known) || known !== element) return { xsiType: known };
  const m = /^([A-Za-z][\w.-]*):([A-Za-z][\w.-]*)$/.exec(element);
  if (!m) return { xsiType: element };
  const [, ns, local] = m;
  if (/Data$/.test(local) && /^[a-z]/.test(local)) return { xsiType: element };
  const caps = /^[A-Z]+/.exec(local)?.[0];
  if (caps) {
    // `QCAssessment` → `qcAssessment`, `RoiCollection` → `roiCollection`, `ECAT` → `ecat`.
    const keep = caps.length > 1 && caps.length < local.length ? caps.length - 1 : caps.length;
    return { xsiType: `${ns}:${local.slice(0, keep).toLowerCase()}${local.slice(keep)}Data` };
  }
  return {
    xsiType: element,
    warning: `the document's element <${element}> names no XNAT data type (expected ns:SomeName or ns:someNameData, `
      + 'or an xsi:type attribute); it is stored under its own name, which no wrapper context names',
  };
}

export interface AssessorDocument {
  /** The document's own ID when it is a valid XNAT ID; absent when blank. */
  id?: string;
  label: string;
  xsiType: string;
  fields: ExtraFields;
  warnings: string[];
}

/** Reads an assessor document; throws a 400 when it has no label, or an ID XNAT would refuse. */
export function readAssessorDocument(xml: string): AssessorDocument {
  const root = parseXmlRoot(xml);
  const { xsiType, warning } = documentType(root.element, root.attributes['xsi:type']);
  const rawId = (root.attributes.ID ?? root.leaves.ID ?? '').trim();
  if (rawId !== '' && !XNAT_ID.test(rawId)) {
    throw new XcsError('archive.xml.bad-id', `the assessor's ID "${rawId}" is not a valid XNAT ID: use letters, digits, "_" and "-"`,
      { path: 'ID', hint: 'Fix the ID the tool writes, or leave ID="" to have one assigned.' });
  }
  const label = root.attributes.label ?? root.leaves.label ?? (rawId || undefined);
  if (!label) {
    throw new XcsError('archive.xml.no-label', 'the assessor XML has no label (root attribute "label" or "ID")');
  }
  const fields: ExtraFields = {};
  if (root.leaves.date) fields.date = root.leaves.date;
  return { ...(rawId ? { id: rawId } : {}), label, xsiType, fields, warnings: warning ? [warning] : [] };
}

export interface ScanDocument {
  id: string;
  xsiType: string;
  fields: ExtraFields;
}

export function readScanDocument(xml: string): ScanDocument {
  const root = parseXmlRoot(xml);
  const xsiType = documentType(root.element, root.attributes['xsi:type']).xsiType;
  const id = root.attributes.ID;
  if (!id) throw new XcsError('archive.xml.no-id', 'the scan XML has no ID attribute on its root element');
  const fields: ExtraFields = {};
  for (const k of ['type', 'series_description', 'quality', 'frames', 'note', 'modality', 'UID']) {
    const v = root.attributes[k] ?? root.leaves[k];
    if (v !== undefined) fields[k] = v;
  }
  return { id, xsiType, fields };
}

/** A document's own ID that already names another experiment: inserting it would overwrite that one. */
export function takenId(id: string, owner: string): XcsError {
  return new XcsError('archive.conflict', `the document's ID "${id}" is already the ID of ${owner}`, {
    path: 'ID',
    hint: 'Have the tool write ID="" (an ID is then assigned) or an ID of its own that is not used yet.',
  });
}
