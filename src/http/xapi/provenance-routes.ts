/**
 * Provenance over `/xapi` (XCS additions; records written by `runtime/provenance/provenance.ts`):
 * - `GET /xapi/containers/{id}/provenance`: a run's merged record (image id and digests, command hash, command
 *   line, redacted environment, mounts, inputs and outputs with checksums);
 * - `GET /xapi/provenance/produced?object=URI`: runs that produced the object (or an object it is inside, or
 *   objects inside it) — `match` says which;
 * - `GET /xapi/provenance/used?object=URI`: runs that consumed it, the same way ("what to recompute if it changes");
 * - `GET /xapi/provenance/by-image?digest=sha256:…|name:tag`: runs of that image and the objects they produced.
 *
 * Access is reading a container's (ARCHITECTURE.md): the launcher, owners of the run's project and container
 * managers see a run in full; other readers of its project see it scrubbed (no command line, environment, mounts,
 * container, or values of non-object inputs; objects of projects they cannot read left out); everyone else does
 * not see it at all — a query leaves it out, a direct read answers 404. Records outlive a deleted run record.
 * An object the caller cannot read answers the same 404 as a missing one; a malformed parameter is a 400.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { User } from '../../archive/users.ts';
import { parseArchivePath } from '../../archive/uri.ts';
import { isImageReference } from '../../command/image-reference.ts';
import { XcsError } from '../../core/errors.ts';
import { archiveInventory } from '../../runtime/index.ts';
import type { ObjectIdentity } from '../../runtime/index.ts';
import { provenanceDocument } from '../../runtime/index.ts';
import { redactDeep, runSecrets } from '../../runtime/index.ts';
import type { ObjectHit, RunOwner } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import { userOf, type XapiContext } from './context.ts';

const tags = ['provenance'];
/** Runs listed per query at most (newest first); `total` gives the full count. */
const MAX_RUNS = 1000;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

type Level = 'full' | 'scrubbed' | 'none';

/** Per-request answers to "may this user read / own that project", asked once per project. */
class Viewer {
  private readonly reads = new Map<string, boolean>();
  private readonly owns = new Map<string, boolean>();

  constructor(readonly user: User, readonly manager: boolean, private readonly ctx: XapiContext) {}

  async canRead(project: string): Promise<boolean> {
    if (this.manager) return true;
    let v = this.reads.get(project);
    if (v === undefined) {
      v = this.ctx.users ? await this.ctx.users.can(this.user, 'read', { project }) : true;
      this.reads.set(project, v);
    }
    return v;
  }

  /** Readable projects seen so far, for the synchronous filter of scrubbed documents. */
  readableNow(project: string): boolean {
    return this.manager || this.reads.get(project) === true;
  }

  async level(owner: RunOwner): Promise<Level> {
    if (this.manager || this.user.siteAdmin || this.user.login === owner.userId) return 'full';
    if (owner.project === null) return 'none';
    let own = this.owns.get(owner.project);
    if (own === undefined) {
      own = this.ctx.users ? await this.ctx.users.can(this.user, 'delete', { project: owner.project }) : false;
      this.owns.set(owner.project, own);
    }
    if (own) return 'full';
    return (await this.canRead(owner.project)) ? 'scrubbed' : 'none';
  }
}

function objectParam(value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new XcsError('xapi.provenance.object-missing', 'Give the archive object as ?object=, e.g. /archive/experiments/XNAT_E00001/resources/NIFTI',
      { status: 400, path: 'object' });
  }
  // eslint-disable-next-line no-control-regex
  if (value.length > 4096 || !value.startsWith('/') || /[\u0000-\u001f]/.test(value)) {
    throw new XcsError('xapi.provenance.bad-object', `"${value.slice(0, 200)}" is not an archive URI`,
      { status: 400, path: 'object', hint: 'an archive URI starts with /archive/, /data/ or /REST/, e.g. /archive/experiments/XNAT_E00001' });
  }
  try {
    if (parseArchivePath(value).steps.length === 0) throw new Error('empty');
  } catch {
    throw new XcsError('xapi.provenance.bad-object', `"${value.slice(0, 200)}" is not an archive URI`,
      { status: 400, path: 'object', hint: 'e.g. /archive/experiments/XNAT_E00001/scans/1/resources/DICOM/files/1.dcm' });
  }
  return value;
}

export function registerProvenanceRoutes(app: FastifyInstance, ctx: XapiContext, access: AccessControl): void {
  const engine = ctx.engine;
  const store = engine.provenance;
  const inventory = archiveInventory(ctx.archive);

  async function viewerOf(request: FastifyRequest): Promise<Viewer> {
    const user = userOf(request);
    return new Viewer(user, await access.isContainerManager(user), ctx);
  }

  /** The object, when it exists and the caller can read it; the same 404 otherwise. */
  async function readableObject(viewer: Viewer, uri: string): Promise<ObjectIdentity> {
    const o = await inventory.identify(uri);
    if (!o || !(await viewer.canRead(o.project))) {
      throw new XcsError('xapi.provenance.object-not-found', `No archive object ${uri} that you can read`, { status: 404, path: 'object' });
    }
    return o;
  }

  function ownerOf(runId: number): RunOwner | undefined {
    const run = engine.get(runId);
    return run ? { runId, userId: run.userId, project: run.project } : store.owner(runId);
  }

  /** One line per run in query answers: identity, image and status, nothing a project reader may not see. */
  function summary(runId: number, level: Level): Record<string, unknown> {
    const phases = store.phases(runId);
    const launch = phases.find((p) => p.phase === 'launch')?.record ?? {};
    const start = phases.find((p) => p.phase === 'start')?.record ?? {};
    const run = engine.get(runId);
    const owner = ownerOf(runId);
    const image = { ...(launch.image as Record<string, unknown> | undefined), ...(start.image as Record<string, unknown> | undefined) };
    return {
      id: runId, status: run?.status ?? 'Deleted', 'user-id': owner?.userId ?? null, project: owner?.project ?? null,
      command: launch.command ?? null, wrapper: launch.wrapper ?? null,
      image: image.reference ?? null, 'image-id': image.id ?? null, 'repo-digests': image['repo-digests'] ?? [],
      launched: phases[0] ? new Date(phases[0].recordedAt).toISOString() : null,
      scrubbed: level === 'scrubbed',
    };
  }

  async function hitsAnswer(request: FastifyRequest<{ Querystring: { object?: string } }>, relation: 'produced' | 'used'): Promise<Record<string, unknown>> {
    const uri = objectParam(request.query.object);
    const viewer = await viewerOf(request);
    const object = await readableObject(viewer, uri);
    const byRun = new Map<number, ObjectHit[]>();
    // A run used what is inside an input only when it saw the input's files (a mounted or a resource/file input).
    const hits = relation === 'produced' ? store.objectHits(['output'], object.key)
      : store.objectHits(['input', 'input-object'], object.key, ['input']);
    for (const h of hits) {
      const list = byRun.get(h.runId) ?? [];
      list.push(h);
      byRun.set(h.runId, list);
    }
    const runs: Array<Record<string, unknown>> = [];
    let total = 0;
    for (const [runId, hits] of byRun) {
      const owner = ownerOf(runId);
      const level = owner ? await viewer.level(owner) : 'none';
      if (level === 'none') continue;
      total++;
      if (runs.length >= MAX_RUNS) continue;
      const shown = [];
      for (const h of hits) {
        const project = decodeURIComponent(h.key.split('/')[2] ?? '');
        if (level === 'scrubbed' && !(await viewer.canRead(project))) continue;
        const match = h.key === object.key ? 'exact' : object.key.startsWith(`${h.key}/`) ? 'contains' : 'inside';
        shown.push({ name: h.name, uri: h.uri, match });
      }
      runs.push({ ...summary(runId, level), [relation === 'produced' ? 'outputs' : 'inputs']: shown });
    }
    return { object: { uri: object.uri, 'data-uri': object.dataUri, kind: object.kind, project: object.project }, total, runs };
  }

  const objectQuery = {
    type: 'object',
    properties: { object: { type: 'string', description: 'archive URI of a project, subject, session, scan, assessor, resource or file' } },
  };
  const matchDoc = 'Each run lists the matching objects with `match`: `exact`, `contains` (the run\'s object contains the one asked about) or '
    + '`inside` (the run\'s object is inside it). Runs of projects the caller only reads come scrubbed; others are left out.';

  app.get<{ Querystring: { object?: string } }>('/xapi/provenance/produced', {
    schema: { tags, summary: 'Runs that produced an archive object (XCS)', description: matchDoc, querystring: objectQuery },
  }, (request) => hitsAnswer(request, 'produced'));

  app.get<{ Querystring: { object?: string } }>('/xapi/provenance/used', {
    schema: { tags, summary: 'Runs that used an archive object as an input (XCS)', description: matchDoc, querystring: objectQuery },
  }, (request) => hitsAnswer(request, 'used'));

  app.get<{ Querystring: { digest?: string } }>('/xapi/provenance/by-image', {
    schema: {
      tags, summary: 'Runs of an image and the objects they produced (XCS)',
      description: '`digest` is an image id or registry digest (`sha256:` + 64 hex digits, or `repo@sha256:…`), or an image reference '
        + '(`name:tag`), which is resolved to the id the engine has for it now (or, when the engine no longer has it, matched against '
        + 'the references runs were launched with).',
      querystring: { type: 'object', properties: { digest: { type: 'string' } } },
    },
  }, async (request) => {
    const raw = (request.query.digest ?? '').trim();
    if (raw === '') {
      throw new XcsError('xapi.provenance.digest-missing', 'Give the image as ?digest=sha256:… (an image id or registry digest) or ?digest=name:tag',
        { status: 400, path: 'digest' });
    }
    if (raw.length > 512 || !(DIGEST.test(raw) || isImageReference(raw))) {
      throw new XcsError('xapi.provenance.bad-digest', `"${raw.slice(0, 200)}" is neither an image digest nor an image reference`,
        { status: 400, path: 'digest', hint: 'e.g. sha256:<64 hex digits>, repo@sha256:<64 hex digits> or xnat/dcm2niix:latest' });
    }
    const viewer = await viewerOf(request);
    const backend = engine.resources.backend;
    let values: string[];
    let resolvedFrom: string;
    let known = false;
    const at = raw.lastIndexOf('@');
    if (DIGEST.test(raw)) {
      values = [raw];
      resolvedFrom = 'digest';
    } else if (at > 0 && DIGEST.test(raw.slice(at + 1))) {
      values = [raw.slice(at + 1)];
      resolvedFrom = 'digest';
    } else {
      const image = await backend.inspectImage(raw);
      if (image) {
        values = [image.id];
        resolvedFrom = 'engine';
        known = true;
      } else if (HEX_ID.test(raw)) {
        values = [];
        resolvedFrom = 'digest';
      } else {
        const withTag = /:[^/]+$/.test(raw) ? raw : `${raw}:latest`;
        values = [...new Set([raw, withTag])];
        resolvedFrom = 'recorded-reference';
      }
    }
    const ids = resolvedFrom === 'recorded-reference' ? store.runsByImage(values, ['reference']) : store.runsByImage(values, ['id', 'digest']);
    const runs: Array<Record<string, unknown>> = [];
    let total = 0;
    for (const runId of ids) {
      const owner = ownerOf(runId);
      const level = owner ? await viewer.level(owner) : 'none';
      if (level === 'none') continue;
      total++;
      if (runs.length >= MAX_RUNS) continue;
      const outputs = [];
      for (const o of store.objectsOf(runId, ['output'])) {
        const project = decodeURIComponent(o.key.split('/')[2] ?? '');
        if (level === 'scrubbed' && !(await viewer.canRead(project))) continue;
        outputs.push({ name: o.name, uri: o.uri });
      }
      runs.push({ ...summary(runId, level), outputs });
    }
    if (total === 0 && !known && !(resolvedFrom === 'digest' && values.length > 0 && await backend.inspectImage(values[0]))) {
      throw new XcsError('xapi.provenance.image-not-found', `No image ${raw} here and no run you can see used it`, { status: 404, path: 'digest' });
    }
    return { image: { query: raw, ...(resolvedFrom === 'engine' ? { id: values[0] } : {}), 'resolved-from': resolvedFrom }, total, runs };
  });

  app.get<{ Params: { id: string } }>('/xapi/containers/:id/provenance', {
    schema: {
      tags, summary: 'What a run used and produced: image id and digests, command hash, command line, inputs and outputs with checksums (XCS)',
      params: { type: 'object', properties: { id: { type: 'string', description: 'run id, container id or container name' } }, required: ['id'] },
    },
  }, async (request) => {
    const key = request.params.id;
    const viewer = await viewerOf(request);
    const notFound = (): XcsError => new XcsError('xapi.container.not-found', `No container ${key}`, { status: 404, path: key });
    const run = engine.get(/^\d+$/.test(key) ? Number(key) : -1) ?? (() => {
      try { return engine.find(key); } catch { return undefined; }
    })();
    const runId = run?.id ?? (/^\d{1,15}$/.test(key) ? Number(key) : undefined);
    if (runId === undefined) throw notFound();
    const owner = ownerOf(runId);
    const level = owner ? await viewer.level(owner) : 'none';
    if (level === 'none') throw notFound();
    if (level === 'scrubbed') {
      // The document is filtered synchronously: learn first which of its objects' projects the caller reads.
      for (const o of store.objectsOf(runId, ['input', 'input-object', 'output'])) {
        await viewer.canRead(decodeURIComponent(o.key.split('/')[2] ?? ''));
      }
    }
    const doc = provenanceDocument(store, runId, {
      live: run ? { status: run.status, exitCode: run.exitCode } : null,
      scrubbed: level === 'scrubbed',
      readable: (p) => viewer.readableNow(p),
    });
    if (!doc) {
      throw new XcsError('xapi.provenance.none', `No provenance was recorded for container ${key}`,
        { status: 404, path: key, hint: 'runs recorded before provenance existed have none' });
    }
    // Records are redacted when written; while the run exists, its secrets are hidden again in case a record
    // was written under an older, narrower rule.
    return run ? redactDeep(doc, runSecrets(run)) : doc;
  });
}
