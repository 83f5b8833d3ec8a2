/**
 * Putting data in: files uploaded into a resource (`PUT …/resources/R/files/NAME`, one request per file, the
 * server's permission check deciding), and a DICOM zip imported into a project (`POST /data/projects/P/import`)
 * with a progress bar while it uploads and the import report after — sessions created or merged, files skipped and why.
 * The import goes through XMLHttpRequest only because fetch cannot report upload progress.
 */
import { useId, useState, type FormEvent } from 'react';
import { ApiError, enc, errorOf, messageOf, request } from '../api/client.ts';
import { ErrorBox } from '../components/States.tsx';
import { formatBytes } from '../components/format.ts';
import { Link } from '../router.tsx';
import { uiPath } from './archivePath.ts';

export function UploadFiles({ resourceRest, onUploaded }: { resourceRest: string; onUploaded: () => void }) {
  const id = useId();
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone([]);
    const stored: string[] = [];
    try {
      for (const f of files) {
        await request('PUT', `${resourceRest}/files/${enc(f.name)}`, { body: f, headers: { 'Content-Type': 'application/octet-stream' } });
        stored.push(f.name);
        setDone([...stored]);
      }
      setFiles([]);
      (document.getElementById(id) as HTMLInputElement | null)?.form?.reset();
      onUploaded();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel upload" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Upload files</h3>
      <label htmlFor={id}>Files to add to this resource</label>
      <input id={id} type="file" multiple onChange={(e) => setFiles([...(e.target.files ?? [])])} />
      <button type="submit" className="primary" disabled={busy || files.length === 0}>{busy ? 'Uploading…' : `Upload ${files.length || ''} file${files.length === 1 ? '' : 's'}`}</button>
      {done.length > 0 ? <p role="status" className="notice">Stored: {done.join(', ')}</p> : null}
      {error ? <ErrorBox title="Upload refused" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
    </form>
  );
}

interface ImportReport {
  project: string;
  subjects: number;
  sessions: number;
  scans: number;
  files: number;
  created: { subjects: number; sessions: number; scans: number };
  imported: Array<{ id: string; label: string; subject: string; subjectLabel: string; created: boolean; scans: Array<{ id: string; files: number; created: boolean }> }>;
  skipped: Array<{ name: string; reason: string }>;
}

function postWithProgress(url: string, file: File, onProgress: (fraction: number) => void): Promise<ImportReport> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/zip');
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new Error('the upload was interrupted'));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try { resolve(JSON.parse(xhr.responseText) as ImportReport); } catch { reject(new Error('the server answered something other than a report')); }
        return;
      }
      void errorOf(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText })).then(reject);
    };
    xhr.send(file);
  });
}

export function DicomImport({ project, onImported }: { project: string; onImported: () => void }) {
  const id = useId();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setReport(null);
    setProgress(0);
    try {
      setReport(await postWithProgress(`/data/projects/${enc(project)}/import?format=json`, file, setProgress));
      onImported();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(messageOf(err)));
    } finally {
      setProgress(null);
    }
  };
  const uploading = progress !== null && progress < 1;
  return (
    <form className="panel import" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Import DICOM</h3>
      <label htmlFor={id}>A zip, tar or tar.gz of DICOM files</label>
      <input id={id} type="file" accept=".zip,.tar,.tgz,.gz,application/zip" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      <button type="submit" className="primary" disabled={!file || progress !== null}>Import into {project}</button>
      {file ? <span className="muted"> {formatBytes(file.size)}</span> : null}
      {progress !== null ? (
        <div className="progress-line">
          <progress max={1} value={uploading ? progress : undefined} aria-label={uploading ? 'Upload progress' : 'Importing'} />
          <span role="status">{uploading ? `Uploading ${Math.round(progress * 100)} %` : 'Uploaded; the server is filing the images…'}</span>
        </div>
      ) : null}
      {error ? <ErrorBox title="Import refused" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
      {report ? (
        <div className="import-report" role="status" data-testid="import-report">
          <p><strong>Imported {report.files} file{report.files === 1 ? '' : 's'}</strong>: {report.sessions} session{report.sessions === 1 ? '' : 's'} ({report.created.sessions} new),
            {' '}{report.scans} scan{report.scans === 1 ? '' : 's'} ({report.created.scans} new), {report.subjects} subject{report.subjects === 1 ? '' : 's'} ({report.created.subjects} new);
            {' '}{report.skipped.length} skipped.</p>
          <ul>
            {report.imported.map((s) => (
              <li key={s.id}>
                <Link to={uiPath([{ collection: 'projects', id: project }, { collection: 'subjects', id: s.subject }, { collection: 'experiments', id: s.id }])}>{s.label}</Link>
                {' '}<span className="muted">{s.subjectLabel} · {s.created ? 'created' : 'merged into'} · {s.scans.length} scan{s.scans.length === 1 ? '' : 's'}</span>
              </li>
            ))}
          </ul>
          {report.skipped.length > 0 ? (
            <details>
              <summary>Skipped files ({report.skipped.length})</summary>
              <ul>{report.skipped.slice(0, 200).map((s, i) => <li key={i}><code>{s.name}</code> — {s.reason}</li>)}</ul>
            </details>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
