/**
 * `xcs provenance RUN --verify`: downloads the files of each output a run's provenance records, recomputes their
 * MD5s from the bytes (not from the archive's stored checksums, which a change on disk would leave stale) and
 * reports drift: files changed, missing or added since the run. Over `/data`, so it verifies what clients get.
 */
import { createHash } from 'node:crypto';
import type { XapiClient } from '../http/xapi/client.ts';

export interface RecordedFile {
  path: string;
  size: number;
  md5: string;
}

export interface Drift {
  output: string;
  uri: string;
  kind: 'changed' | 'missing' | 'added' | 'object-missing' | 'not-verified';
  path?: string;
  detail?: string;
}

export interface VerifyReport {
  checked: number;
  drift: Drift[];
}

interface OutputEntry {
  name?: string;
  uri?: string;
  object?: {
    kind?: string; uri?: string; 'data-uri'?: string; files?: RecordedFile[]; 'file-count'?: number; 'files-listed'?: number;
  };
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

async function md5Of(res: Response): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      const b = chunk as Uint8Array;
      hash.update(b);
      size += b.byteLength;
    }
  }
  return { md5: hash.digest('hex'), size };
}

export async function verifyOutputs(client: XapiClient, record: Record<string, unknown>): Promise<VerifyReport> {
  const outputs = Array.isArray(record.outputs) ? (record.outputs as OutputEntry[]) : [];
  const drift: Drift[] = [];
  let checked = 0;
  for (const out of outputs) {
    const name = out.name ?? '';
    const o = out.object;
    const uri = o?.uri ?? out.uri ?? '';
    const dataUri = o?.['data-uri'];
    if (!o || !dataUri) {
      drift.push({ output: name, uri, kind: 'object-missing', detail: 'the output was not found when the run ended' });
      continue;
    }
    if (o.kind !== 'resource') {
      drift.push({ output: name, uri, kind: 'not-verified', detail: `a ${o.kind ?? 'non-resource'} output: only resources are verified file by file` });
      continue;
    }
    const listing = await client.request('GET', `${dataUri}/files?format=json`, undefined, true);
    if (listing.status === 404) {
      drift.push({ output: name, uri, kind: 'object-missing', detail: 'the resource is no longer in the archive' });
      continue;
    }
    const now = ((await listing.json()) as { ResultSet?: { Result?: Array<{ Name?: string }> } }).ResultSet?.Result ?? [];
    const recorded = o.files ?? [];
    for (const f of recorded) {
      checked++;
      const res = await client.request('GET', `${dataUri}/files/${encodePath(f.path)}`, undefined, true);
      if (res.status === 404) {
        await res.body?.cancel();
        drift.push({ output: name, uri, kind: 'missing', path: f.path });
        continue;
      }
      const got = await md5Of(res);
      if (got.md5 !== f.md5 || got.size !== f.size) {
        drift.push({ output: name, uri, kind: 'changed', path: f.path, detail: `md5 ${f.md5} (${f.size} bytes) then, ${got.md5} (${got.size} bytes) now` });
      }
    }
    // Only a complete listing can tell what was added since.
    if ((o['files-listed'] ?? recorded.length) >= (o['file-count'] ?? recorded.length)) {
      const known = new Set(recorded.map((f) => f.path));
      for (const r of now) if (r.Name !== undefined && !known.has(r.Name)) drift.push({ output: name, uri, kind: 'added', path: r.Name });
    } else {
      drift.push({ output: name, uri, kind: 'not-verified', detail: `only the first ${o['files-listed']} of ${o['file-count']} files were recorded by name` });
    }
  }
  return { checked, drift };
}
