/**
 * Provenance storage (tables of migration 6 in `db.ts`): each phase of a run (launch, start, finalize) is
 * appended once, with the rows that index it — archive objects used and produced, image digests — in the same
 * transaction. A second write of a phase (a job re-run after a crash) is ignored, and triggers refuse updates and
 * deletions, so what was recorded when the run happened is what is read back.
 */
import { sqlList } from '../../core/database/sync-sql.ts';
import type { RunDatabase } from '../store/db.ts';

export type ProvenancePhase = 'launch' | 'start' | 'finalize';
/**
 * `input`: an input whose files the run saw (a mounted object, or a resource or file); `input-object`: an object
 * input the run only referred to (e.g. the session it ran on, not mounted) — what is inside it was not used.
 */
export type ObjectRole = 'input' | 'input-object' | 'output';
/** `id`: the image id; `digest`: a registry digest (`sha256:…` of a `repo@sha256:…`); `reference`: as launched. */
export type ImageKeyKind = 'id' | 'digest' | 'reference';

export interface IndexedObject {
  role: ObjectRole;
  /** Input or output name. */
  name: string;
  key: string;
  uri: string;
}

export interface PhaseWrite {
  runId: number;
  phase: ProvenancePhase;
  record: Record<string, unknown>;
  /** Only with the `launch` phase: who ran it where, for access checks that outlive the run's record. */
  owner?: { userId: string; project: string | null };
  objects?: IndexedObject[];
  images?: Array<{ kind: ImageKeyKind; value: string }>;
}

export interface StoredPhase {
  phase: ProvenancePhase;
  recordedAt: number;
  record: Record<string, unknown>;
}

export interface RunOwner {
  runId: number;
  userId: string;
  project: string | null;
}

/** A run whose indexed object matched a query, and how. */
export interface ObjectHit {
  runId: number;
  role: ObjectRole;
  name: string;
  key: string;
  uri: string;
}

/**
 * The keys of an object's ancestors, nearest last (`/projects/P`, `/projects/P/subjects/S`, …). Keys alternate
 * collection and id; a file's path, which may hold `/`, is everything after `files`.
 */
export function ancestorKeys(key: string): string[] {
  const parts = key.split('/').slice(1);
  const out: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] === 'files') break;
    const k = `/${parts.slice(0, i + 2).join('/')}`;
    if (k !== key) out.push(k);
  }
  return out;
}

export class ProvenanceStore {
  private readonly db: RunDatabase;

  constructor(db: RunDatabase) {
    this.db = db;
  }

  /** Appends a phase; false (and nothing written) when the run already has it. */
  append(w: PhaseWrite): boolean {
    const now = Date.now();
    return this.db.transaction(() => {
      const done = this.db.prepare('INSERT INTO provenance_records (run_id, phase, recorded_at, record) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(w.runId, w.phase, now, JSON.stringify(w.record));
      if (done.changes === 0) return false;
      if (w.owner) {
        this.db.prepare('INSERT INTO provenance_runs (run_id, user_id, project, recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
          .run(w.runId, w.owner.userId, w.owner.project, now);
      }
      const obj = this.db.prepare('INSERT INTO provenance_objects (run_id, role, name, object_key, uri) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
      for (const o of w.objects ?? []) obj.run(w.runId, o.role, o.name, o.key, o.uri);
      const img = this.db.prepare('INSERT INTO provenance_images (run_id, kind, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
      for (const i of w.images ?? []) img.run(w.runId, i.kind, i.value);
      return true;
    })();
  }

  has(runId: number, phase: ProvenancePhase): boolean {
    return this.db.prepare('SELECT 1 FROM provenance_records WHERE run_id = ? AND phase = ?').get(runId, phase) !== undefined;
  }

  phases(runId: number): StoredPhase[] {
    const rows = this.db.prepare(`SELECT phase, recorded_at, record FROM provenance_records WHERE run_id = ?
        ORDER BY recorded_at, CASE phase WHEN 'launch' THEN 0 WHEN 'start' THEN 1 ELSE 2 END`)
      .all(runId) as Array<{ phase: ProvenancePhase; recorded_at: number; record: string }>;
    return rows.map((r) => ({ phase: r.phase, recordedAt: r.recorded_at, record: JSON.parse(r.record) as Record<string, unknown> }));
  }

  owner(runId: number): RunOwner | undefined {
    const r = this.db.prepare('SELECT run_id, user_id, project FROM provenance_runs WHERE run_id = ?').get(runId) as
      { run_id: number; user_id: string; project: string | null } | undefined;
    return r ? { runId: r.run_id, userId: r.user_id, project: r.project } : undefined;
  }

  owners(runIds: readonly number[]): Map<number, RunOwner> {
    const out = new Map<number, RunOwner>();
    const stmt = this.db.prepare('SELECT run_id, user_id, project FROM provenance_runs WHERE run_id = ?');
    for (const id of new Set(runIds)) {
      const r = stmt.get(id) as { run_id: number; user_id: string; project: string | null } | undefined;
      if (r) out.set(id, { runId: r.run_id, userId: r.user_id, project: r.project });
    }
    return out;
  }

  /**
   * Runs whose objects of `roles` are the object with `key` or one of its descendants (what the run used or made
   * is inside the object), or whose objects of `ancestorRoles` are one of its ancestors (the object is inside what
   * the run used or made). Index lookups only: equality on the key and the ancestors, a range for the descendants.
   */
  objectHits(roles: readonly ObjectRole[], key: string, ancestorRoles: readonly ObjectRole[] = roles): ObjectHit[] {
    const ancestors = ancestorKeys(key);
    const rows = this.db.prepare(`
      SELECT run_id, role, name, object_key, uri FROM provenance_objects
       WHERE (role IN ${sqlList(roles)} AND (object_key = ? OR (object_key > ? AND object_key < ?)))
          OR (role IN ${sqlList(ancestorRoles)} AND object_key IN ${sqlList(ancestors)})
       ORDER BY run_id DESC, name`)
      .all(...roles, key, `${key}/`, `${key}0`, ...ancestorRoles, ...ancestors) as
      Array<{ run_id: number; role: ObjectRole; name: string; object_key: string; uri: string }>;
    return rows.map((r) => ({ runId: r.run_id, role: r.role, name: r.name, key: r.object_key, uri: r.uri }));
  }

  /** The objects a run used or produced, as indexed. */
  objectsOf(runId: number, roles: readonly ObjectRole[]): IndexedObject[] {
    const rows = this.db.prepare(`SELECT role, name, object_key, uri FROM provenance_objects WHERE run_id = ? AND role IN ${sqlList(roles)} ORDER BY name`)
      .all(runId, ...roles) as Array<{ role: ObjectRole; name: string; object_key: string; uri: string }>;
    return rows.map((r) => ({ role: r.role, name: r.name, key: r.object_key, uri: r.uri }));
  }

  /** Runs recorded with this image key (newest first). */
  runsByImage(values: readonly string[], kinds: readonly ImageKeyKind[]): number[] {
    if (values.length === 0) return [];
    const rows = this.db.prepare(`SELECT DISTINCT run_id FROM provenance_images
       WHERE value IN ${sqlList(values)} AND kind IN ${sqlList(kinds)} ORDER BY run_id DESC`)
      .all(...values, ...kinds) as Array<{ run_id: number }>;
    return rows.map((r) => r.run_id);
  }

  /** The stored JSON text of a registered command, exactly as stored (what its hash is taken over). */
  commandJson(commandId: number): string | undefined {
    const r = this.db.prepare('SELECT json FROM commands WHERE id = ?').get(commandId) as { json: string } | undefined;
    return r?.json;
  }
}
