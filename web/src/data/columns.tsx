/** What each archive listing shows: its columns (from XNAT's listing fields), the row's link and the filter field. */
import type { ReactNode } from 'react';
import type { Column } from '../components/VirtualTable.tsx';
import { formatBytes } from '../components/format.ts';
import { Link } from '../router.tsx';
import { child, uiPath, type ArchiveLevel } from './archivePath.ts';

export type ArchiveRow = Record<string, string>;

interface CollectionView {
  /** The row's id in a child path. */
  idOf: (r: ArchiveRow) => string;
  /** The column the server filters with `*text*` and sorts by. */
  filterField?: string;
  sortField: string;
  columns: (level: ArchiveLevel, collection: string) => Array<Column<ArchiveRow>>;
}

function linkCell(level: ArchiveLevel, collection: string, id: string, text: ReactNode): ReactNode {
  return <Link to={uiPath(child(level, collection, id))}>{text}</Link>;
}

const date = (v: string | undefined): string => (v ? v.replace('T', ' ').replace(/\.\d+.*$/, '') : '—');

export const VIEWS: Record<string, CollectionView> = {
  projects: {
    idOf: (r) => r.ID, filterField: 'ID', sortField: 'ID',
    columns: (l, c) => [
      { key: 'ID', header: 'Project', width: '12rem', render: (r) => linkCell(l, c, r.ID, r.ID) },
      { key: 'name', header: 'Name', width: '2fr', render: (r) => r.name || '—' },
      { key: 'description', header: 'Description', width: '3fr', render: (r) => <span className="muted">{r.description || ''}</span> },
    ],
  },
  subjects: {
    idOf: (r) => r.ID, filterField: 'label', sortField: 'label',
    columns: (l, c) => [
      { key: 'label', header: 'Subject', width: '2fr', render: (r) => linkCell(l, c, r.ID, r.label) },
      { key: 'ID', header: 'ID', width: '10rem', render: (r) => <span className="muted">{r.ID}</span> },
      { key: 'insert_date', header: 'Added', width: '12rem', render: (r) => date(r.insert_date) },
    ],
  },
  experiments: {
    idOf: (r) => r.ID, filterField: 'label', sortField: 'label',
    columns: (l, c) => [
      { key: 'label', header: 'Session', width: '2fr', render: (r) => linkCell(l, c, r.ID, r.label) },
      { key: 'subject_label', header: 'Subject', width: '1fr', render: (r) => r.subject_label || '—' },
      { key: 'xsiType', header: 'Type', width: '11rem', render: (r) => <span className="muted">{r.xsiType}</span> },
      { key: 'date', header: 'Date', width: '7rem', render: (r) => r.date || '—' },
      { key: 'insert_date', header: 'Added', width: '11rem', render: (r) => date(r.insert_date) },
    ],
  },
  scans: {
    idOf: (r) => r.ID, filterField: 'type', sortField: 'ID',
    columns: (l, c) => [
      { key: 'ID', header: 'Scan', width: '5rem', render: (r) => linkCell(l, c, r.ID, r.ID) },
      { key: 'type', header: 'Type', width: '1fr', render: (r) => r.type || '—' },
      { key: 'series_description', header: 'Series', width: '2fr', render: (r) => r.series_description || '—' },
      { key: 'frames', header: 'Frames', width: '5rem', align: 'right', render: (r) => r.frames || '—' },
      { key: 'xsiType', header: 'Kind', width: '11rem', render: (r) => <span className="muted">{r.xsiType}</span> },
    ],
  },
  assessors: {
    idOf: (r) => r.ID, filterField: 'label', sortField: 'label',
    columns: (l, c) => [
      { key: 'label', header: 'Assessment', width: '2fr', render: (r) => linkCell(l, c, r.ID, r.label) },
      { key: 'xsiType', header: 'Type', width: '1fr', render: (r) => <span className="muted">{r.xsiType}</span> },
      { key: 'date', header: 'Date', width: '7rem', render: (r) => r.date || '—' },
      { key: 'insert_date', header: 'Added', width: '11rem', render: (r) => date(r.insert_date) },
    ],
  },
  resources: {
    idOf: (r) => r.label, sortField: 'label',
    columns: (l, c) => [
      { key: 'label', header: 'Resource', width: '2fr', render: (r) => linkCell(l, c, r.label, r.label) },
      { key: 'format', header: 'Format', width: '1fr', render: (r) => r.format || '—' },
      { key: 'content', header: 'Content', width: '1fr', render: (r) => r.content || '—' },
      { key: 'file_count', header: 'Files', width: '5rem', align: 'right', render: (r) => r.file_count || '0' },
      { key: 'file_size', header: 'Size', width: '6rem', align: 'right', render: (r) => formatBytes(r.file_size) },
    ],
  },
  files: {
    idOf: (r) => r.Name, sortField: 'Name',
    columns: (l) => [
      { key: 'Name', header: 'File', width: '3fr', render: (r) => <a href={`${l.rest}/files/${r.Name.split('/').map(encodeURIComponent).join('/')}`} download={r.Name.split('/').pop()}>{r.Name}</a> },
      { key: 'Size', header: 'Size', width: '6rem', align: 'right', render: (r) => formatBytes(r.Size) },
      { key: 'file_format', header: 'Format', width: '1fr', render: (r) => r.file_format || '—' },
      { key: 'file_content', header: 'Content', width: '1fr', render: (r) => r.file_content || '—' },
    ],
  },
};
