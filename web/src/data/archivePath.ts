/**
 * The data pages' addresses mirror the archive's REST paths: `/ui/data/projects/P/subjects/S/experiments/E/scans/1/
 * resources/R` shows what `GET /data/projects/P/subjects/S/experiments/E/scans/1/resources/R` is, so every level has
 * a deep link and the page needs no lookup table. Ids are the archive's IDs (labels work too, as in the API).
 */

export type LevelKind = 'site' | 'project' | 'subject' | 'session' | 'scan' | 'assessor' | 'resource';

export interface Step {
  collection: string;
  id: string;
}

export interface ArchiveLevel {
  kind: LevelKind;
  steps: Step[];
  /** `/data/projects/P/...` — the object's REST address ('' for the site). */
  rest: string;
  /** `/archive/projects/P/...` — the URI the container service takes (availability, provenance). */
  uri: string;
  project?: string;
}

const KIND_OF: Record<string, LevelKind> = {
  projects: 'project', subjects: 'subject', experiments: 'session', scans: 'scan', assessors: 'assessor', resources: 'resource',
};

/** Collections shown under each kind, in tab order. */
export const CHILDREN: Record<LevelKind, string[]> = {
  site: ['projects'],
  project: ['subjects', 'experiments', 'resources'],
  subject: ['experiments', 'resources'],
  session: ['scans', 'assessors', 'resources'],
  scan: ['resources'],
  assessor: ['resources'],
  resource: ['files'],
};

export const COLLECTION_TITLES: Record<string, string> = {
  projects: 'Projects', subjects: 'Subjects', experiments: 'Sessions', scans: 'Scans', assessors: 'Assessments',
  resources: 'Resources', files: 'Files',
};

const enc = encodeURIComponent;

function restOf(steps: Step[]): string {
  return steps.length === 0 ? '' : `/data${steps.map((s) => `/${s.collection}/${enc(s.id)}`).join('')}`;
}

/** Reads `/data/projects/P/...` (the console path); null when it is not a data path. */
export function parseDataPath(path: string): ArchiveLevel | null {
  if (path !== '/data' && path !== '/data/' && !path.startsWith('/data/')) return null;
  const parts = path.slice('/data'.length).split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  if (parts.length % 2 !== 0) return null;
  const steps: Step[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    if (!(parts[i] in KIND_OF)) return null;
    steps.push({ collection: parts[i], id: parts[i + 1] });
  }
  return levelOf(steps);
}

export function levelOf(steps: Step[]): ArchiveLevel {
  const last = steps[steps.length - 1];
  const rest = restOf(steps);
  return {
    kind: last ? KIND_OF[last.collection] : 'site',
    steps,
    rest,
    uri: rest ? `/archive${rest.slice('/data'.length)}` : '',
    project: steps[0]?.collection === 'projects' ? steps[0].id : undefined,
  };
}

/** The console path of a level (for links). */
export function uiPath(steps: Step[]): string {
  return `/data${steps.map((s) => `/${s.collection}/${enc(s.id)}`).join('')}`;
}

export function child(level: ArchiveLevel, collection: string, id: string): Step[] {
  // A subject's sessions are listed through the project (`/projects/P/experiments?subject_ID=`); their pages sit
  // under the subject so the breadcrumbs keep it.
  return [...level.steps, { collection, id }];
}

/** The listing URL of a collection under a level, with the subject special case (its own listing has another shape). */
export function listingUrl(level: ArchiveLevel, collection: string): string {
  if (level.kind === 'subject' && collection === 'experiments') {
    const subject = level.steps[level.steps.length - 1].id;
    return `${restOf(level.steps.slice(0, -1))}/experiments?subject_ID=${enc(subject)}&format=json`;
  }
  return `${level.rest || '/data'}/${collection}?format=json`;
}
