/**
 * Turns read DICOM headers into an import plan: subjects by PatientID, sessions
 * by StudyInstanceUID, scans by SeriesInstanceUID, with XNAT-style labels, ids
 * and xsi types.
 *
 * Labelling rules (XNAT lets sites configure these; ours are fixed and documented):
 * - subject label: PatientID, else PatientName, else `UNKNOWN`;
 * - session label: `{subject}_{AccessionNumber}`, else `{subject}_{StudyID}`, else
 *   `{subject}_{StudyDate}`, else `{subject}_{last component of StudyInstanceUID}`;
 *   a different study that would get a label already taken gets `_2`, `_3`…;
 * - labels keep only XNAT's label characters `A-Z a-z 0-9 _ -`; any other run of
 *   characters becomes one `_`;
 * - scan id: SeriesNumber; a second series with the same number in a session gets `{n}-2`, `{n}-3`…;
 *   no SeriesNumber gives `0`;
 * - scan type and series description: SeriesDescription;
 * - xsi types from Modality (session: PT wins over MR over CT, as in a PET/CT study).
 */
import type { DicomHeader } from './read.ts';

export interface PlannedFile<S> {
  /** The name inside the scan's DICOM resource: `{SOPInstanceUID}.dcm`. */
  name: string;
  source: S;
}

export interface PlannedScan<S> {
  id: string;
  seriesInstanceUid: string;
  seriesNumber: string;
  type: string;
  seriesDescription: string;
  modality: string;
  xsiType: string;
  manufacturer: string;
  model: string;
  files: PlannedFile<S>[];
}

export interface PlannedSession<S> {
  label: string;
  studyInstanceUid: string;
  xsiType: string;
  modality: string;
  /** ISO date `YYYY-MM-DD` or empty. */
  date: string;
  /** `HH:MM:SS` or empty. */
  time: string;
  scans: PlannedScan<S>[];
}

export interface PlannedSubject<S> {
  label: string;
  patientId: string;
  patientName: string;
  sessions: PlannedSession<S>[];
}

export interface ImportPlan<S> {
  subjects: PlannedSubject<S>[];
  /** Files not planned, with why (e.g. a second copy of an instance). */
  duplicates: Array<{ source: S; reason: string }>;
}

export interface ReadInstance<S> {
  header: DicomHeader;
  source: S;
}

/** XNAT's label characters; everything else collapses to `_`. */
export function sanitizeLabel(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
}

const SESSION_TYPES: Record<string, string> = {
  MR: 'xnat:mrSessionData', CT: 'xnat:ctSessionData', PT: 'xnat:petSessionData', US: 'xnat:usSessionData',
  CR: 'xnat:crSessionData', DX: 'xnat:dxSessionData', MG: 'xnat:mgSessionData', NM: 'xnat:nmSessionData',
  XA: 'xnat:xaSessionData', OPT: 'xnat:optSessionData', EPS: 'xnat:epsSessionData',
};
const SCAN_TYPES: Record<string, string> = {
  MR: 'xnat:mrScanData', CT: 'xnat:ctScanData', PT: 'xnat:petScanData', US: 'xnat:usScanData',
  CR: 'xnat:crScanData', DX: 'xnat:dxScanData', MG: 'xnat:mgScanData', NM: 'xnat:nmScanData',
  XA: 'xnat:xaScanData', OPT: 'xnat:optScanData', EPS: 'xnat:epsScanData', SR: 'xnat:srScanData',
  SC: 'xnat:scScanData', OT: 'xnat:otherDicomScanData',
};
/** Which modality names the session when a study mixes several (PET/CT → PET session). */
const SESSION_PRIORITY = ['PT', 'MR', 'CT', 'NM', 'US', 'XA', 'MG', 'DX', 'CR', 'OPT', 'EPS'];

export function sessionXsiType(modality: string): string {
  return SESSION_TYPES[modality] ?? 'xnat:otherDicomSessionData';
}

export function scanXsiType(modality: string): string {
  return SCAN_TYPES[modality] ?? 'xnat:otherDicomScanData';
}

function isoDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.replace(/[.-]/g, ''));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : '';
}

function isoTime(tm: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(tm.replace(/:/g, ''));
  return m ? `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}` : '';
}

function uniqueLabel(base: string, taken: Set<string>): string {
  let label = base;
  for (let n = 2; taken.has(label); n++) label = `${base}_${n}`;
  taken.add(label);
  return label;
}

function sessionBase(subject: string, h: DicomHeader): string {
  const tail = sanitizeLabel(h.accessionNumber) || sanitizeLabel(h.studyId) || sanitizeLabel(h.studyDate)
    || sanitizeLabel(h.studyInstanceUid.split('.').pop() ?? '') || 'SESSION';
  return `${subject}_${tail}`;
}

function compareSeries(a: DicomHeader, b: DicomHeader): number {
  // A missing or non-numeric SeriesNumber counts as 0, as the scan id it gets.
  const na = Number.parseInt(a.seriesNumber, 10) || 0;
  const nb = Number.parseInt(b.seriesNumber, 10) || 0;
  if (na !== nb) return na - nb;
  return a.seriesInstanceUid < b.seriesInstanceUid ? -1 : a.seriesInstanceUid > b.seriesInstanceUid ? 1 : 0;
}

export interface GroupOptions {
  /** Session labels already used in the project by other studies (StudyInstanceUID differs). */
  takenSessionLabels?: Iterable<string>;
  /** Existing labels for known studies: StudyInstanceUID → session label (re-imports land there). */
  knownSessions?: ReadonlyMap<string, string>;
}

/** Groups instances; deterministic for a given set of headers whatever their order. */
export function groupInstances<S>(instances: Iterable<ReadInstance<S>>, options: GroupOptions = {}): ImportPlan<S> {
  const byPatient = new Map<string, Map<string, Map<string, Array<ReadInstance<S>>>>>();
  const seenInstances = new Map<string, S>();
  const duplicates: ImportPlan<S>['duplicates'] = [];
  for (const inst of instances) {
    const h = inst.header;
    const earlier = seenInstances.get(h.sopInstanceUid);
    if (earlier !== undefined) {
      duplicates.push({ source: inst.source, reason: `duplicate DICOM instance ${h.sopInstanceUid} (already in this import)` });
      continue;
    }
    seenInstances.set(h.sopInstanceUid, inst.source);
    const subject = sanitizeLabel(h.patientId) || sanitizeLabel(h.patientName) || 'UNKNOWN';
    let studies = byPatient.get(subject);
    if (!studies) byPatient.set(subject, (studies = new Map()));
    let series = studies.get(h.studyInstanceUid);
    if (!series) studies.set(h.studyInstanceUid, (series = new Map()));
    let list = series.get(h.seriesInstanceUid);
    if (!list) series.set(h.seriesInstanceUid, (list = []));
    list.push(inst);
  }

  const takenSessions = new Set(options.takenSessionLabels ?? []);
  for (const label of options.knownSessions?.values() ?? []) takenSessions.add(label);
  const subjects: PlannedSubject<S>[] = [];
  for (const subjectLabel of [...byPatient.keys()].sort()) {
    const studies = byPatient.get(subjectLabel)!;
    const first = [...studies.values()][0].values().next().value![0].header;
    const subject: PlannedSubject<S> = { label: subjectLabel, patientId: first.patientId, patientName: first.patientName, sessions: [] };
    subjects.push(subject);
    const studyEntries = [...studies.entries()].map(([uid, series]) => ({ uid, series, head: [...series.values()][0][0].header }));
    studyEntries.sort((a, b) => (a.head.studyDate + a.head.studyTime + a.uid).localeCompare(b.head.studyDate + b.head.studyTime + b.uid));
    for (const { uid, series, head } of studyEntries) {
      const label = options.knownSessions?.get(uid) ?? uniqueLabel(sessionBase(subjectLabel, head), takenSessions);
      const modalities = new Set([...series.values()].map((l) => l[0].header.modality));
      const modality = SESSION_PRIORITY.find((m) => modalities.has(m)) ?? [...modalities].sort()[0] ?? '';
      const session: PlannedSession<S> = {
        label, studyInstanceUid: uid, modality, xsiType: sessionXsiType(modality),
        date: isoDate(head.studyDate), time: isoTime(head.studyTime), scans: [],
      };
      subject.sessions.push(session);
      const scanIds = new Set<string>();
      const ordered = [...series.values()].sort((a, b) => compareSeries(a[0].header, b[0].header));
      for (const list of ordered) {
        const h = list[0].header;
        const number = /^-?\d+$/.test(h.seriesNumber) ? String(Number.parseInt(h.seriesNumber, 10)) : sanitizeLabel(h.seriesNumber) || '0';
        let id = number;
        for (let n = 2; scanIds.has(id); n++) id = `${number}-${n}`;
        scanIds.add(id);
        list.sort((a, b) => (Number.parseInt(a.header.instanceNumber, 10) || 0) - (Number.parseInt(b.header.instanceNumber, 10) || 0));
        session.scans.push({
          id, seriesInstanceUid: h.seriesInstanceUid, seriesNumber: h.seriesNumber,
          type: h.seriesDescription, seriesDescription: h.seriesDescription,
          modality: h.modality, xsiType: scanXsiType(h.modality), manufacturer: h.manufacturer, model: h.model,
          files: list.map((i) => ({ name: `${i.header.sopInstanceUid}.dcm`, source: i.source })),
        });
      }
    }
  }
  return { subjects, duplicates };
}
