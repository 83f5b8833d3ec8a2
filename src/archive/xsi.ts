/**
 * The XNAT data types (xsi types) XCS knows, with their hierarchy. Sessions and scans must use a known
 * type (so typos are caught); assessors may use any `ns:name` — sites define their own.
 */
import { XcsError } from '../core/errors.ts';

/** type → parent type. */
const PARENT: Record<string, string> = {
  'xnat:projectData': '',
  'xnat:subjectData': '',
  'xnat:experimentData': '',
  'xnat:subjectAssessorData': 'xnat:experimentData',
  'xnat:imageSessionData': 'xnat:subjectAssessorData',
  'xnat:imageAssessorData': 'xnat:derivedData',
  'xnat:derivedData': 'xnat:experimentData',
  'xnat:qcAssessmentData': 'xnat:imageAssessorData',
  'xnat:qcManualAssessorData': 'xnat:imageAssessorData',
  'xnat:mrAssessorData': 'xnat:imageAssessorData',
  'xnat:petAssessorData': 'xnat:imageAssessorData',
  'xnat:imageScanData': '',
  'xnat:abstractResource': '',
  'xnat:resourceCatalog': 'xnat:abstractResource',
  // The ICR's ROI plugin (OHIF viewer, RT-STRUCT/SEG tools); its documents are `<icr:RoiCollection>`.
  'icr:roiCollectionData': 'xnat:imageAssessorData',
};

const SESSION_MODALITIES: Record<string, string> = {
  mr: 'MR', ct: 'CT', pet: 'PT', petmr: 'PT', cr: 'CR', dx: 'DX', mg: 'MG', us: 'US', nm: 'NM', xa: 'XA',
  rt: 'RT', seg: 'SEG', sr: 'SR', ot: 'OT', ecg: 'ECG', eeg: 'EEG', meg: 'MEG', opt: 'OPT', op: 'OP',
  es: 'ES', gm: 'GM', sm: 'SM', xc: 'XC', io: 'IO', rf: 'RF', hd: 'HD', dx3dcraniofacial: 'DX', epsunk: 'OT',
  otherDicom: 'OT',
};
for (const m of Object.keys(SESSION_MODALITIES)) {
  PARENT[`xnat:${m}SessionData`] = 'xnat:imageSessionData';
  PARENT[`xnat:${m}ScanData`] = 'xnat:imageScanData';
}
PARENT['xnat:scScanData'] = 'xnat:imageScanData';
PARENT['xnat:srScanData'] = 'xnat:imageScanData';
PARENT['xnat:voiceAudioScanData'] = 'xnat:imageScanData';

/** Root element names of XNAT XML documents → xsi types (`<xnat:MRSession>` is an `xnat:mrSessionData`). */
const ELEMENT_NAMES: Record<string, string> = {
  'xnat:Project': 'xnat:projectData',
  'xnat:Subject': 'xnat:subjectData',
  'xnat:QCAssessment': 'xnat:qcAssessmentData',
  'xnat:QCManualAssessment': 'xnat:qcManualAssessorData',
  'xnat:MRSession': 'xnat:mrSessionData',
  'xnat:CTSession': 'xnat:ctSessionData',
  'xnat:PETSession': 'xnat:petSessionData',
  'xnat:MRScan': 'xnat:mrScanData',
  'xnat:CTScan': 'xnat:ctScanData',
  'xnat:PETScan': 'xnat:petScanData',
  'icr:RoiCollection': 'icr:roiCollectionData',
};

export function isKnownType(xsiType: string): boolean {
  return xsiType in PARENT;
}

/** Whether `xsiType` is `ancestor` or derives from it (unknown types derive from nothing but themselves). */
export function isA(xsiType: string, ancestor: string): boolean {
  let t: string | undefined = xsiType;
  for (let guard = 0; t && guard < 16; guard++) {
    if (t.toLowerCase() === ancestor.toLowerCase()) return true;
    t = PARENT[t];
  }
  return false;
}

/** Every known type that is `xsiType` or derives from it, in canonical spelling (empty for an unknown type). */
export function typesDerivedFrom(xsiType: string): string[] {
  return Object.keys(PARENT).filter((t) => isA(t, xsiType)).sort();
}

/** The chain from the type up to its root, e.g. mrSessionData → imageSessionData → … → experimentData. */
export function ancestorsOf(xsiType: string): string[] {
  const out: string[] = [];
  let t: string | undefined = xsiType;
  while (t && out.length < 16) {
    out.push(t);
    t = PARENT[t];
  }
  return out;
}

/** Matches `ns:name`; XNAT namespaces and names are identifiers. */
const XSI_SYNTAX = /^[A-Za-z][\w.-]*:[A-Za-z][\w.-]*$/;

/** The canonical spelling of a known type, tolerating case differences (`xnat:MRSessionData`). */
function canonical(xsiType: string): string | undefined {
  if (xsiType in PARENT) return xsiType;
  if (xsiType in ELEMENT_NAMES) return ELEMENT_NAMES[xsiType];
  const lower = xsiType.toLowerCase();
  return Object.keys(PARENT).find((k) => k.toLowerCase() === lower);
}

function typesUnder(root: string): string[] {
  return Object.keys(PARENT).filter((t) => t !== root && isA(t, root)).sort();
}

/** Checks a session type; returns its canonical spelling or throws a 400 listing the known ones. */
export function checkSessionType(xsiType: string, path?: string): string {
  const c = canonical(xsiType);
  if (c && isA(c, 'xnat:subjectAssessorData') && !isA(c, 'xnat:derivedData')) return c;
  throw new XcsError('archive.xsi.unknown-session-type', `unknown session type "${xsiType}"`, {
    path, hint: `known session types: ${typesUnder('xnat:imageSessionData').join(', ')}`,
  });
}

export function checkScanType(xsiType: string, path?: string): string {
  const c = canonical(xsiType);
  if (c && isA(c, 'xnat:imageScanData')) return c;
  throw new XcsError('archive.xsi.unknown-scan-type', `unknown scan type "${xsiType}"`, {
    path, hint: `known scan types: ${typesUnder('xnat:imageScanData').join(', ')}`,
  });
}

/** Assessors: known types keep their spelling; any other well-formed `ns:name` is accepted. */
export function checkAssessorType(xsiType: string, path?: string): string {
  const c = canonical(xsiType);
  if (c && (isA(c, 'xnat:imageSessionData') || isA(c, 'xnat:imageScanData'))) {
    throw new XcsError('archive.xsi.not-assessor', `"${xsiType}" is not an assessor type`, { path });
  }
  if (c) return c;
  if (XSI_SYNTAX.test(xsiType)) return xsiType;
  throw new XcsError('archive.xsi.bad-syntax', `"${xsiType}" is not an xsi type (expected ns:name)`, {
    path,
  });
}

/** Turns an XML root element name into an xsi type. */
export function typeOfElement(element: string): string {
  return ELEMENT_NAMES[element] ?? canonical(element) ?? element;
}

/** The modality an image-session type implies (`xnat:ctSessionData` → `CT`). */
export function modalityOf(xsiType: string): string {
  const m = /^xnat:(\w+?)(Session|Scan)Data$/.exec(xsiType);
  return (m && SESSION_MODALITIES[m[1]]) ?? '';
}
