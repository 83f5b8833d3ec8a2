/**
 * Finalization: check every output, stage every output, then commit them in dependency order.
 * See index.ts for the guarantees.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isXcsError, messageOf } from '../../core/errors.ts';
import { checkFilePath, checkLabel } from '../../archive/names.ts';
import { collectOutput, type CollectedFile } from './collect.ts';
import { handlerName, orderOutputs } from './order.ts';
import { stageFiles, stageFilesWithDigests } from './stage.ts';
import { failureKind } from '../../core/failure-kinds.ts';
import type {
  Committed, CreatedOutput, FailureCode, FinalizeArgs, FinalizeFailure, FinalizeResult, FinalizeWarning, OutputKind,
  ResolvedOutput, ResourceMeta, StagedFile,
} from './types.ts';

interface Plan {
  output: ResolvedOutput;
  kind: OutputKind;
  required: boolean;
  /** A wrapper input's archive URI, or the handler whose created object is the parent. */
  parent: { uri: string } | { handler: string };
  files: CollectedFile[];
  bytes: number;
  /** Assessor/Scan document. */
  xml?: string;
  stagedDir?: string;
  /** Digests of the staged files, for a sink that wants them. */
  staged?: StagedFile[];
}

const KNOWN_FAILURES: ReadonlySet<string> = new Set<FailureCode>([
  'output-missing', 'unsafe-path', 'mount-missing', 'wrapup-missing', 'parent-missing', 'handler-cycle',
  'bad-document', 'bad-name', 'permission-denied', 'disk-full', 'upload-failed',
]);

export function outputKind(type: string | null | undefined): OutputKind {
  return type === 'Assessor' || type === 'Scan' ? type : 'Resource';
}

function blank(s: string | null | undefined): boolean {
  return s === undefined || s === null || s.trim() === '';
}

/** Maps a thrown value to a failure code: out of space is `disk-full` wherever it happens. */
function codeOf(e: unknown, fallback: FailureCode): FailureCode {
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return 'disk-full';
  if (isXcsError(e)) {
    if (KNOWN_FAILURES.has(e.code)) return e.code as FailureCode;
    const kind = failureKind(e);
    if (kind === 'forbidden') return 'permission-denied';
    if (kind === 'missing') return 'parent-missing';
  }
  return fallback;
}

const HINTS: Record<FailureCode, string> = {
  'output-missing': 'Check that the command writes its result where the output\'s mount, path and glob say.',
  'unsafe-path': 'Output paths must stay inside the output directory.',
  'mount-missing': 'The output names a mount the command does not have; fix the command definition.',
  'wrapup-missing': 'Run the wrapup container before finalizing, and pass its output directory.',
  'parent-missing': 'The handler\'s as-a-child-of must name a wrapper input with an archive object, or another handler.',
  'handler-cycle': 'Break the loop in the handlers\' as-a-child-of settings.',
  'bad-document': 'An Assessor or Scan output must contain exactly one XNAT XML document.',
  'bad-name': 'Labels take letters, digits, "_", "-" and "."; file names may not hold control characters or "\\".',
  'permission-denied': 'Ask a project owner for edit rights on the target object.',
  'disk-full': 'Free space on the archive\'s disk, then finalize the run again; nothing was half written.',
  'upload-failed': 'Finalize the run again; outputs already committed are not duplicated.',
};

export async function finalizeOutputs(args: FinalizeArgs): Promise<FinalizeResult> {
  const { runId, sink, user } = args;
  const failures: FinalizeFailure[] = [];
  const warnings: FinalizeWarning[] = [];
  const created: CreatedOutput[] = [];
  const inputUris = new Map(Object.entries(args.inputValues).filter(([, v]) => !blank(v)));
  const mounts = new Map(args.mounts.map((m) => [m.name, m]));
  const mode = args.staging === 'link' ? 'link' : 'copy';
  const digests = sink.digests === true;

  const fail = (output: ResolvedOutput, code: FailureCode, message: string, hint = HINTS[code]): void => {
    failures.push({ output: output.name, code, message, hint, required: output.required === true });
  };
  const failWith = (output: ResolvedOutput, e: unknown, fallback: FailureCode): void => {
    const code = codeOf(e, fallback);
    const hint = isXcsError(e) && e.hint ? e.hint : HINTS[code];
    const message = code === 'disk-full' && !isXcsError(e)
      ? `Output "${output.name}" could not be written: the disk is full (${messageOf(e)}).`
      : isXcsError(e) ? e.message : `Output "${output.name}" could not be uploaded: ${messageOf(e)}`;
    fail(output, code, message, hint);
  };
  const result = (): FinalizeResult => {
    const failed = failures.some((f) => f.required);
    return {
      status: failed ? 'failed' : 'complete',
      created,
      failures,
      warnings,
      message: failed
        ? `Failed to upload required outputs.\n${failures.filter((f) => f.required).map((f) => f.message).join('\n')}`
        : '',
    };
  };

  // 1. Check: order, sources, files, documents, permissions on existing parents. Nothing is written.
  const { ordered, cyclic } = orderOutputs(args.outputs, new Set(inputUris.keys()));
  for (const o of cyclic) {
    fail(o, 'handler-cycle', `Output "${o.name}" cannot be uploaded: its as-a-child-of chain loops back to itself.`);
  }
  const plans = new Map<string, Plan>();
  for (const output of ordered) {
    const plan = await check(output);
    if (plan) plans.set(handlerName(output), plan);
  }
  // A required failure here fails the run before anything reaches the archive.
  if (failures.some((f) => f.required)) return result();

  // 2. Stage every Resource output. Any fault removes the whole staging tree and commits nothing.
  const stagingTree = join(sink.stagingRoot(), `finalize-${runId.replace(/[^A-Za-z0-9._-]/g, '_')}`);
  try {
    await rm(stagingTree, { recursive: true, force: true }); // left by an interrupted attempt
    let n = 0;
    for (const plan of plans.values()) {
      if (plan.kind !== 'Resource') continue;
      plan.stagedDir = join(stagingTree, String(n++));
      try {
        if (args.copyFile) await stageFiles(plan.output.name, plan.files, plan.stagedDir, args.copyFile);
        else {
          const staged = await stageFilesWithDigests(plan.output.name, plan.files, plan.stagedDir, mode, digests);
          if (digests) plan.staged = staged;
        }
      } catch (e) {
        failWith(plan.output, e, 'upload-failed');
        // A staging fault is the machine's, not the output's: the run fails even for an optional output.
        failures[failures.length - 1].required = true;
        return result();
      }
    }

    // 3. Commit parents first. Each commit is atomic and idempotent, so a retry completes what is left.
    const createdUris = new Map<string, string>();
    for (const [handler, plan] of plans) {
      const o = plan.output;
      const parentUri = 'uri' in plan.parent ? plan.parent.uri : createdUris.get(plan.parent.handler);
      if (parentUri === undefined) {
        fail(o, 'parent-missing', `Output "${o.name}" cannot be uploaded: its parent output "${o['handled-by']}" was not uploaded.`);
        continue;
      }
      const key = { idempotencyKey: `${runId}:${o.name}`, user };
      try {
        if ('handler' in plan.parent && !(await sink.canEdit(user, parentUri))) {
          fail(o, 'permission-denied', permissionMessage(plan.kind, parentUri));
          continue;
        }
        const done = plan.kind === 'Resource'
          ? await sink.commitResource(parentUri, resourceMeta(o), plan.stagedDir ?? '', key, plan.staged)
          : await sink.createItem(parentUri, plan.kind, plan.xml ?? '', key);
        createdUris.set(handler, done.uri);
        created.push({ output: o.name, uri: done.uri, kind: plan.kind, files: plan.files.length, bytes: plan.bytes, created: done.created,
          ...(done.replaced?.length ? { replaced: done.replaced } : {}) });
        noteCommit(o.name, done, warnings);
      } catch (e) {
        failWith(o, e, 'upload-failed');
        // The archive refused or broke: stop, fail the run, leave the rest to an idempotent retry.
        failures[failures.length - 1].required = true;
        return result();
      }
    }
    return result();
  } finally {
    await rm(stagingTree, { recursive: true, force: true });
  }

  async function check(output: ResolvedOutput): Promise<Plan | undefined> {
    const kind = outputKind(output.type);
    const target = output['handled-by'];
    let parent: Plan['parent'];
    const inputUri = inputUris.get(target);
    if (inputUri !== undefined) {
      parent = { uri: inputUri };
    } else if (args.outputs.some((x) => handlerName(x) === target)) {
      if (!plans.has(target)) {
        fail(output, 'parent-missing', `Output "${output.name}" cannot be uploaded: its parent output "${target}" is not uploaded.`);
        return undefined;
      }
      parent = { handler: target };
    } else {
      fail(output, 'parent-missing', `Cannot upload output "${output.name}". Could not instantiate object from input "${target}".`);
      return undefined;
    }

    let sourceDir: string;
    const wrapup = output['via-wrapup-command'];
    if (!blank(wrapup)) {
      const dir = args.wrapupOutputDirs?.[output.name];
      if (!dir) {
        fail(output, 'wrapup-missing', `Container output "${output.name}" must be processed via wrapup container "${wrapup}" which was not found.`);
        return undefined;
      }
      sourceDir = dir;
    } else {
      const mount = mounts.get(output.mount);
      if (!mount || blank(mount['xnat-host-path'])) {
        fail(output, 'mount-missing', `Output "${output.name}" names mount "${output.mount}", which the run does not have.`);
        return undefined;
      }
      sourceDir = mount['xnat-host-path'];
    }

    let files: CollectedFile[];
    let bytes: number;
    try {
      const collected = await collectOutput({ output: output.name, sourceDir, path: output.path, glob: output.glob });
      warnings.push(...collected.warnings);
      files = collected.files;
      bytes = collected.bytes;
    } catch (e) {
      failWith(output, e, 'output-missing');
      return undefined;
    }

    // Refused names are found now, before anything is committed, rather than by the archive midway.
    const badFiles = files.filter((f) => !isStorable(f.rel)).map((f) => JSON.stringify(f.rel));
    if (badFiles.length > 0) {
      const shown = badFiles.slice(0, 5).join(', ') + (badFiles.length > 5 ? ` and ${badFiles.length - 5} more` : '');
      fail(output, 'bad-name', `Output "${output.name}" holds files whose names the archive cannot store: ${shown}.`);
      return undefined;
    }
    if (kind === 'Resource') {
      const label = resourceMeta(output).label;
      try {
        checkLabel('Resource label', label);
      } catch {
        fail(output, 'bad-name', `Output "${output.name}" has resource label "${label}", which is not a valid name.`);
        return undefined;
      }
    }

    let xml: string | undefined;
    if (kind !== 'Resource') {
      const xmls = files.filter((f) => f.rel.toLowerCase().endsWith('.xml'));
      if (xmls.length !== 1) {
        const found = xmls.length === 0 ? files.map((f) => f.rel) : xmls.map((f) => f.rel);
        fail(output, 'bad-document', `Expecting precisely one xml file to upload for ${kind}; found [${found.join(', ')}]`);
        return undefined;
      }
      try {
        xml = await readFile(xmls[0].source, 'utf8');
      } catch (e) {
        failWith(output, e, 'upload-failed');
        return undefined;
      }
    }

    if ('uri' in parent) {
      try {
        if (!(await sink.canEdit(user, parent.uri))) {
          fail(output, 'permission-denied', permissionMessage(kind, parent.uri));
          return undefined;
        }
      } catch (e) {
        failWith(output, e, 'parent-missing');
        return undefined;
      }
    }
    return { output, kind, required: output.required === true, parent, files, bytes, xml };
  }
}

function isStorable(rel: string): boolean {
  try {
    checkFilePath(rel);
    return true;
  } catch {
    return false;
  }
}

function permissionMessage(kind: OutputKind, uri: string): string {
  return kind === 'Resource'
    ? `User does not have permission to add resources to item with URI ${uri}.`
    : `User does not have permission to add ${kind === 'Assessor' ? 'assessors' : 'scans'} to item with URI ${uri}.`;
}

/** The handler's resource fields; a blank label becomes the handler's name, as in XNAT. */
export function resourceMeta(o: ResolvedOutput): ResourceMeta {
  const meta: ResourceMeta = { label: blank(o.label) ? handlerName(o) : (o.label as string).trim() };
  if (!blank(o.format)) meta.format = o.format as string;
  if (!blank(o.content)) meta.content = o.content as string;
  if (!blank(o.description)) meta.description = o.description as string;
  const tags = (o.tags ?? []).filter((t) => !blank(t));
  if (tags.length > 0) meta.tags = tags;
  return meta;
}

/** Warnings a commit leaves: replaced files of an earlier run (named, so the history shows them) and the sink's own. */
function noteCommit(output: string, done: Committed, warnings: FinalizeWarning[]): void {
  const replaced = done.replaced ?? [];
  if (replaced.length > 0) {
    const names = replaced.slice(0, 5).map((f) => f.path).join(', ') + (replaced.length > 5 ? `, … (${replaced.length} in all)` : '');
    warnings.push({ output, code: 'files-replaced', path: '', message: `replaced ${replaced.length} file(s) an earlier run had stored: ${names}` });
  }
  for (const w of done.warnings ?? []) warnings.push({ output, code: 'document-type', path: '', message: w });
}
