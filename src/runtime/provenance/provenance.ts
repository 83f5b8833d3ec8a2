/**
 * Provenance: what produced every output, written as the run happens (reference user-needs §12).
 *
 * Three phases, each appended once (`provenance-store.ts`):
 * - `launch` (when the run is recorded): who, where, the command as stored (id + SHA-256 of its JSON), the
 *   wrapper, the image reference, the resolved command line, the command's environment and mounts, every
 *   input value — sensitive values and credentials redacted.
 * - `start` (once the container exists): the image the engine created it from (id and registry digests of the
 *   container's own image, not of whatever the tag names later), the engine and XCS versions, the full
 *   environment (redacted), and for each archive object input its URI and — when it is a resource or file, or
 *   its files were mounted — the archive's stored checksums of its files and a manifest digest.
 * - `finalize` (after outputs were committed): each created object with the checksums the archive stored at
 *   commit (taken by finalization while staging).
 *
 * `provenanceDocument` merges the phases into the JSON served at `/xapi/containers/{id}/provenance`.
 * Recording never fails a run: a failure is logged and noted in the run's history.
 */
import { createHash } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { XCS_VERSION } from '../../core/version.ts';
import { describe } from '../store/failures.ts';
import type { InventoryFile, ObjectIdentity } from '../ports.ts';
import type { IndexedObject, ProvenancePhase, ProvenanceStore, StoredPhase } from './provenance-store.ts';
import { REDACTED, redactDeep, runSecrets, SCRUBBED_COMMAND_LINE } from '../secrets/redact.ts';
import type { EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';
import { allInputValues, type RunSpec } from '../store/run-spec.ts';

/** Files listed per object; the manifest digest and counts cover every file. */
export const LISTED_FILES = 1000;

/** Input types whose values are archive URIs. */
const OBJECT_TYPES = new Set(['Project', 'Subject', 'Session', 'Scan', 'Assessor', 'Resource', 'File', 'SubjectAssessor', 'ProjectAsset']);
/** Environment variables that are credentials, whatever their value. */
const CREDENTIAL_VARIABLES = new Set(['XNAT_PASS', 'XNAT_USER']);

export interface ObjectRecord {
  kind: ObjectIdentity['kind'];
  uri: string;
  'data-uri': string;
  project: string;
  /** Whether a container mount showed this object's files. */
  mounted?: boolean;
  files?: InventoryFile[];
  'file-count'?: number;
  'total-bytes'?: number;
  'manifest-sha256'?: string;
  'manifest-complete'?: boolean;
  'files-listed'?: number;
  'document-sha256'?: string;
}

const secretsOf = runSecrets;

/** The credentials are hidden by name (their values are not all among the run's secrets), the rest by the rule. */
function redactedEnvironment(env: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  return redactDeep(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, CREDENTIAL_VARIABLES.has(k) ? REDACTED : v])), secrets);
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function mountsOf(spec: RunSpec): Array<Record<string, unknown>> {
  return spec.mounts.map((m) => ({
    name: m.name, 'container-path': m['container-path'], writable: m.writable, 'host-path': m['xnat-host-path'],
    ...(m['copy-from'] ? { 'copied-from': m['copy-from'] } : {}),
    ...(m['via-setup-command'] ? { 'via-setup-command': m['via-setup-command'] } : {}),
  }));
}

/** The launch phase: everything known once the run is recorded. Synchronous: the run was just created. */
export function recordLaunch(res: EngineResources, run: RunRecord): void {
  try {
    const spec = run.spec;
    const secrets = secretsOf(run);
    const json = spec['command-id'] ? res.provenance.commandJson(spec['command-id']) : undefined;
    res.provenance.append({
      runId: run.id, phase: 'launch', owner: { userId: run.userId, project: run.project },
      // Every string through the one redaction rule: values built from a secret (mount paths too) are hidden.
      record: redactDeep({
        'user-id': run.userId, project: run.project, 'xcs-version': XCS_VERSION,
        command: {
          id: spec['command-id'], name: spec['command-name'],
          ...(json === undefined ? {} : { version: (JSON.parse(json) as { version?: string }).version ?? '', sha256: sha256(json) }),
        },
        wrapper: { id: spec['wrapper-id'], name: spec['wrapper-name'] },
        image: { reference: spec.image },
        'command-line': spec['command-line'],
        'override-entrypoint': spec.overrideEntrypoint,
        'working-directory': spec['working-directory'],
        environment: redactedEnvironment(spec['environment-variables'], secrets),
        mounts: mountsOf(spec),
        inputs: allInputValues(spec).map((v) => ({
          name: v.name, type: v.type, sensitive: v.sensitive, value: v.sensitive && v.value !== '' ? REDACTED : v.value,
        })),
        setups: spec['setup-commands'].map((s) => ({ image: s.image, 'command-line': s['command-line'] })),
        wrapups: spec['wrapup-commands'].map((s) => ({ image: s.image, 'command-line': s['command-line'] })),
      }, secrets),
      images: [{ kind: 'reference', value: spec.image }],
    });
  } catch (e) {
    noteFailure(res, run.id, 'launch', e);
  }
}

/** Directories a container sees archive files from: read-only mounts, the sources of copied ones, setup inputs. */
function mountedSources(spec: RunSpec): Set<string> {
  const out = new Set<string>();
  const add = (p: string | null | undefined): void => { if (p) out.add(resolvePath(p)); };
  for (const m of spec.mounts) {
    if (m['via-setup-command']) continue;
    add(m.writable ? m['copy-from'] : m['xnat-host-path']);
  }
  for (const s of spec['setup-commands']) add(s.mounts.find((m) => m.name === 'input')?.['xnat-host-path']);
  return out;
}

async function objectRecord(res: EngineResources, o: ObjectIdentity, withFiles: boolean, mounted?: boolean): Promise<ObjectRecord> {
  const rec: ObjectRecord = { kind: o.kind, uri: o.uri, 'data-uri': o.dataUri, project: o.project };
  if (mounted !== undefined) rec.mounted = mounted;
  if (!withFiles || !res.inventory) return rec;
  const inv = await res.inventory.inventory(o, LISTED_FILES);
  return {
    ...rec, 'file-count': inv.count, 'total-bytes': inv.bytes, 'manifest-sha256': `sha256:${inv.manifestSha256}`,
    'manifest-complete': inv.complete, 'files-listed': inv.files.length, files: inv.files,
    ...(inv.documentSha256 ? { 'document-sha256': `sha256:${inv.documentSha256}` } : {}),
  };
}

/**
 * The start phase, once the container exists (and before it starts, so that what the inputs were is taken
 * before the run could change them): the image it was created from, the engine, the environment, the inputs.
 */
export async function recordStart(res: EngineResources, run: RunRecord, containerId: string, environment: Record<string, string>): Promise<void> {
  if (res.provenance.has(run.id, 'start')) return;
  // Runs created without `RunEngine.submit` (retries, relaunches) get their launch phase now.
  if (!res.provenance.has(run.id, 'launch')) recordLaunch(res, run);
  try {
    const state = await res.backend.inspect(containerId);
    const imageRef = state.imageId ?? run.spec.image;
    const image = await res.backend.inspectImage(imageRef);
    const engine = res.backend.engineVersion ? await res.backend.engineVersion() : null;
    const sources = mountedSources(run.spec);
    const inputs: Array<{ name: string; object: ObjectRecord }> = [];
    const objects: IndexedObject[] = [];
    for (const v of [...run.spec['external-wrapper-input-values'], ...run.spec['derived-input-values']]) {
      if (!OBJECT_TYPES.has(v.type) || !v.value.startsWith('/') || !res.inventory) continue;
      const o = await res.inventory.identify(v.value);
      if (!o) continue;
      const mounted = sources.has(resolvePath(o.directory));
      const filesSeen = mounted || o.kind === 'resource' || o.kind === 'file';
      inputs.push({ name: v.name, object: await objectRecord(res, o, filesSeen, mounted) });
      objects.push({ role: filesSeen ? 'input' : 'input-object', name: v.name, key: o.key, uri: o.uri });
    }
    const id = image?.id ?? state.imageId ?? null;
    const repoDigests = image?.repoDigests ?? [];
    const secrets = secretsOf(res.store.require(run.id));
    res.provenance.append({
      runId: run.id, phase: 'start',
      record: redactDeep({
        container: { id: containerId, name: run.containerName, backend: res.backend.kind },
        image: { reference: run.spec.image, id, 'repo-digests': repoDigests, tags: image?.tags ?? [] },
        engine: engine ? { name: engine.name, version: engine.version, 'api-version': engine.apiVersion, os: engine.os, arch: engine.arch }
          : { name: res.backend.kind, version: 'unknown' },
        'xcs-version': XCS_VERSION,
        environment: redactedEnvironment(environment, secrets),
        objects: inputs,
      }, secrets),
      objects,
      images: [
        ...(id ? [{ kind: 'id' as const, value: id }] : []),
        ...repoDigests.map((d) => ({ kind: 'digest' as const, value: d.slice(d.indexOf('@') + 1) })),
      ],
    });
  } catch (e) {
    noteFailure(res, run.id, 'start', e);
  }
}

/**
 * The finalize phase: every object the run's outputs created, with the checksums the archive stored at
 * commit, and the earlier versions of files a re-run replaced (`replaced-files`: their stored size and
 * MD5, which match the finalize record of the run that produced them).
 */
export async function recordOutputs(res: EngineResources, run: RunRecord, created: Record<string, string>,
  replaced: Record<string, Array<{ path: string; size: number; md5: string }>> = {}): Promise<void> {
  if (res.provenance.has(run.id, 'finalize') || !res.inventory) return;
  try {
    const outputs: Array<Record<string, unknown>> = [];
    const objects: IndexedObject[] = [];
    for (const [name, uri] of Object.entries(created)) {
      const spec = run.spec.outputs.find((o) => o.name === name);
      const o = await res.inventory.identify(uri);
      if (!o) {
        outputs.push({ name, uri, missing: true });
        continue;
      }
      outputs.push({ name, type: spec?.type ?? 'Resource', ...(spec?.label ? { label: spec.label } : {}), object: await objectRecord(res, o, true),
        ...(replaced[name]?.length ? { 'replaced-files': replaced[name] } : {}) });
      objects.push({ role: 'output', name, key: o.key, uri: o.uri });
    }
    res.provenance.append({ runId: run.id, phase: 'finalize', record: { 'exit-code': run.exitCode, outputs }, objects });
  } catch (e) {
    noteFailure(res, run.id, 'finalize', e);
  }
}

function noteFailure(res: EngineResources, runId: number, phase: ProvenancePhase, e: unknown): void {
  res.log.warn(`run ${runId}: provenance of the ${phase} phase not recorded: ${describe(e)}`);
  try {
    res.store.note(runId, 'Provenance incomplete', { source: 'system', message: `The ${phase} phase was not recorded: ${describe(e)}` });
  } catch { /* the run may be gone; the log line stays */ }
}

// ---- reading -----------------------------------------------------------------------------------------------

export interface DocumentOptions {
  /** The run's current status and exit code, when its record still exists. */
  live?: { status: string; exitCode: string | null } | null;
  /** Readers who are neither launcher, project owner nor container manager get the scrubbed form (§6.3). */
  scrubbed: boolean;
  /** Whether the viewer may read a project (scrubbed documents leave out objects of other projects). */
  readable?: (project: string) => boolean;
}

function at(phases: StoredPhase[], phase: ProvenancePhase): Record<string, unknown> | undefined {
  return phases.find((p) => p.phase === phase)?.record;
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function asArray(v: unknown): Array<Record<string, unknown>> {
  return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [];
}

/** The merged record of a run, or null when nothing was recorded for it. */
export function provenanceDocument(store: ProvenanceStore, runId: number, opts: DocumentOptions): Record<string, unknown> | null {
  const phases = store.phases(runId);
  if (phases.length === 0) return null;
  const launch = at(phases, 'launch') ?? {};
  const start = at(phases, 'start') ?? {};
  const fin = at(phases, 'finalize');
  const owner = store.owner(runId);
  const readable = (o: unknown): boolean => !opts.scrubbed || !opts.readable || opts.readable(String(asRecord(o).project ?? ''));
  const objects = new Map(asArray(start.objects).map((o) => [String(o.name), o.object]));
  const inputs = asArray(launch.inputs).map((i) => {
    const object = objects.get(String(i.name));
    const shown = object !== undefined && readable(object);
    if (opts.scrubbed) return { name: i.name, type: i.type, ...(shown ? { value: asRecord(object).uri, object } : {}) };
    return { ...i, ...(shown ? { object } : {}) };
  });
  const outputs = fin ? asArray(fin.outputs).filter((o) => o.object === undefined || readable(o.object)) : [];
  const doc: Record<string, unknown> = {
    'run-id': runId,
    status: opts.live ? opts.live.status : 'Deleted',
    'exit-code': opts.live ? opts.live.exitCode : (fin?.['exit-code'] ?? null),
    'user-id': owner?.userId ?? launch['user-id'], project: owner?.project ?? launch.project ?? null,
    scrubbed: opts.scrubbed,
    recorded: Object.fromEntries(phases.map((p) => [p.phase, new Date(p.recordedAt).toISOString()])),
    'xcs-version': start['xcs-version'] ?? launch['xcs-version'],
    command: launch.command, wrapper: launch.wrapper,
    image: { ...asRecord(launch.image), ...asRecord(start.image) },
    engine: start.engine ?? null,
  };
  if (!opts.scrubbed) {
    Object.assign(doc, {
      container: start.container ?? null,
      'command-line': launch['command-line'], 'override-entrypoint': launch['override-entrypoint'],
      'working-directory': launch['working-directory'],
      environment: start.environment ?? launch.environment, mounts: launch.mounts,
      setups: launch.setups, wrapups: launch.wrapups,
    });
  } else {
    doc['command-line'] = SCRUBBED_COMMAND_LINE;
  }
  doc.inputs = inputs;
  doc.outputs = outputs;
  return doc;
}
