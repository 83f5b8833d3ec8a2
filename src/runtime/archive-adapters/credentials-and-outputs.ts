/**
 * The engine's ports implemented over the embedded archive: callback credentials are the archive's alias
 * tokens; outputs go through output finalization (`./finalize/`) into the archive, with the idempotency key
 * `${runId}:${outputName}` that finalization uses.
 */
import type { Archive, ObjectRef } from '../../archive/types.ts';
import type { UserDirectory } from '../../archive/users.ts';
import { archiveSink, finalizeOutputs } from '../finalize/index.ts';
import type { CredentialPort, FinalizeOptions, FinalizeOutcome, OutputFailure, OutputFinalizerPort } from '../ports.ts';
import type { RunRecord } from '../store/run-store.ts';
import { wrapperInputValues } from '../store/run-spec.ts';

/**
 * Alias tokens confined to their run (`RunScope`): root URIs are resolved to archive objects when the token is
 * issued; one that does not resolve (deleted meanwhile) gives no write access.
 */
export function aliasTokenCredentials(users: UserDirectory, archive: Archive): CredentialPort {
  return {
    async issue(login, ttlSeconds, scope) {
      const roots: ObjectRef[] = [];
      for (const uri of scope.roots) {
        try {
          roots.push(await archive.resolveUri(uri));
        } catch {
          // Nothing to write to there.
        }
      }
      const t = await users.issueAliasToken(login, ttlSeconds, { scope: { run: scope.run, project: scope.project ?? '', roots } });
      return { alias: t.alias, secret: t.secret };
    },
    invalidate: (alias) => users.invalidateAliasToken(alias),
  };
}

function outputFailureCode(code: string): OutputFailure['code'] {
  if (code === 'output-missing' || code === 'disk-full') return code;
  return 'upload-failed';
}

export function archiveOutputs(archive: Archive, users: UserDirectory): OutputFinalizerPort {
  const sink = archiveSink(archive, {
    canEdit: async (login, project) => users.can(await users.getUser(login), 'edit', { project }),
  });
  return {
    async finalize(run: RunRecord, options: FinalizeOptions = {}): Promise<FinalizeOutcome> {
      const result = await finalizeOutputs({
        wrapupOutputDirs: options.wrapupOutputDirs,
        staging: options.staging ?? 'copy',
        runId: String(run.id),
        outputs: run.spec.outputs,
        mounts: run.spec.mounts,
        inputValues: wrapperInputValues(run.spec),
        user: run.userId,
        sink,
      });
      const created: Record<string, string> = {};
      const replaced: NonNullable<FinalizeOutcome['replaced']> = {};
      for (const c of result.created) {
        created[c.output] = c.uri;
        if (c.replaced) replaced[c.output] = c.replaced;
      }
      return {
        status: result.status,
        created,
        replaced,
        notes: result.warnings.filter((w) => w.code === 'files-replaced' || w.code === 'document-type')
          .map((w) => `${w.output}: ${w.message}`),
        failures: result.failures.map((f) => ({
          output: f.output, code: outputFailureCode(f.code), message: `${f.message}${f.hint ? ` (${f.hint})` : ''}`, required: f.required,
        })),
      };
    },
  };
}
