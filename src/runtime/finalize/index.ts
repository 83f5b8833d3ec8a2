/**
 * Finalization: after a run's container (and its wrapups) exited successfully, upload its outputs into
 * the archive — all of them, or none that would leave the run looking done.
 *
 *   finalizeOutputs(args: FinalizeArgs): Promise<FinalizeResult>
 *   archiveSink(archive, { canEdit }): OutputSink        — the embedded archive as the destination
 *   DirectorySink                                         — a plain directory tree as the destination
 *
 * Steps:
 * 1. Order: a handler whose `handled-by` names another handler goes after it; loops fail those outputs.
 * 2. Check, writing nothing: each output's source (mount `xnat-host-path`, or the wrapup's output dir),
 *    its `path` (relative, no `..`, not leading outside through links), its files (`glob` honoured — a
 *    deliberate deviation, XNAT ignores it; see collect.ts for links and special files), one XML file for
 *    an Assessor/Scan, and the user's edit permission on a parent that already exists. A missing required
 *    output fails the run here, naming the output, its path and glob; a missing optional one is recorded.
 * 3. Stage: every Resource output is copied (reflink when possible) or hard-linked into a per-run tree
 *    under the sink's staging root (same filesystem as the archive), then each staged file is read back
 *    and checked (regular file, same size) — in worker threads, computing its MD5 on the way when the
 *    sink keeps checksums (`digests`), so that the commit need not read anything again. Any fault — a
 *    full disk included (`disk-full`) — removes the tree and commits nothing.
 * 4. Commit in order, each with idempotency key `${runId}:${outputName}`: a Resource by moving its staged
 *    tree in, an Assessor/Scan from its XML document; chained Resources go into the object their parent
 *    handler created. The first commit failure stops the run (`failed`).
 *
 * "Never half an output" means: (a) each resource or item appears whole or not at all (the sink's commit
 * is atomic); (b) a run is `complete` only when every required output is committed; (c) a run that failed
 * or crashed during step 4 may be finalized again with the same arguments: already committed outputs
 * are recognised by their keys (reported with `created: false`) and only the rest are created.
 */
export { finalizeOutputs, outputKind, resourceMeta } from './finalize.ts';
export { collectOutput, safeSegments, type Collected, type CollectedFile, type CollectRequest } from './collect.ts';
export { handlerName, orderOutputs, type OutputOrder } from './order.ts';
export { copyIsolated, linkOrCopy } from './stage.ts';
export { DirectorySink, type DirectorySinkOptions } from './directory-sink.ts';
export { archiveSink, editPermission, type ArchiveSinkOptions, type EditPermissionSource } from './archive-sink.ts';
export type {
  Committed, CommitKey, CopyFn, CreatedOutput, FailureCode, FinalizeArgs, FinalizeFailure, FinalizeResult,
  FinalizeWarning, OutputKind, OutputSink, ResolvedMount, ResolvedOutput, ResourceMeta, StagedFile,
} from './types.ts';
