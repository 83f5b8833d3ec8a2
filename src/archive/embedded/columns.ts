/** XNAT field names ↔ table columns, and the value formats stored in rows (dates, extra fields, tags). */
import type { ExperimentsTable, ProjectsTable, ResourcesTable, ScansTable, SubjectsTable } from '../db.ts';
import type { ExtraFields } from '../types.ts';

export function xnatDate(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.0`;
}

export function parseFields(json: string): ExtraFields {
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' ? (v as ExtraFields) : {};
  } catch {
    return {};
  }
}

export function splitTags(tags: string): string[] {
  return tags.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

/** Columns of each table that callers may set by name (XNAT field name → column). */
export const PROJECT_FIELDS: Record<string, keyof ProjectsTable> = {
  name: 'name', secondary_id: 'secondary_id', description: 'description', 'pi/firstname': 'pi_firstname',
  pi_firstname: 'pi_firstname', 'pi/lastname': 'pi_lastname', pi_lastname: 'pi_lastname', keywords: 'keywords',
  accessibility: 'accessibility',
};
export const SUBJECT_FIELDS: Record<string, keyof SubjectsTable> = { label: 'label', group: 'grp', src: 'src' };
export const EXPERIMENT_FIELDS: Record<string, keyof ExperimentsTable> = {
  label: 'label', date: 'date', modality: 'modality', uid: 'uid', UID: 'uid', visit_id: 'visit_id',
};
export const SCAN_FIELDS: Record<string, keyof Omit<ScansTable, 'pk'>> = {
  type: 'type', series_description: 'series_description', quality: 'quality', frames: 'frames', note: 'note',
  modality: 'modality', uid: 'uid', UID: 'uid',
};
export const RESOURCE_FIELDS: Record<string, keyof Omit<ResourcesTable, 'id'>> = {
  label: 'label', format: 'format', content: 'content', description: 'description', tags: 'tags',
};

/** Splits `xsiType/field` or `field` values into known columns and extra fields. */
export function splitFields<T>(fields: ExtraFields, columns: Record<string, keyof T>): { set: Partial<T>; extra: ExtraFields } {
  const set: Partial<T> = {};
  const extra: ExtraFields = {};
  for (const [k, v] of Object.entries(fields)) {
    const name = k.includes(':') && k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    const col = columns[name] ?? columns[name.toLowerCase()];
    if (col) (set as Record<string, unknown>)[col as string] = v;
    else extra[name] = v;
  }
  return { set, extra };
}
