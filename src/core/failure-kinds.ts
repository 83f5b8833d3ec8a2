/**
 * What kind of failure a code stands for, so that callers below http tell a missing object from a bad reference or
 * a conflict by the error's code (no layer below http chooses or reads HTTP statuses; http's error handler maps the
 * same codes to statuses). One list per kind; a code belongs to at most one.
 */
import { isXcsError } from '../core/errors.ts';

export type FailureKind = 'missing' | 'invalid' | 'conflict' | 'forbidden';

const CODES: Readonly<Record<FailureKind, readonly string[]>> = {
  missing: [
    'archive.not-found', 'archive.uri.unknown', 'command.not-found', 'dicom.import.no-project', 'image.not-found',
    'not-found', 'resolution.wrapper.not-found', 'run.not-found', 'users.not-found', 'wrapper.not-found',
    'xapi.command.not-found', 'xapi.mapping.not-found', 'xapi.orchestration.not-found', 'xapi.project.not-found',
    'xapi.wrapper.not-found',
  ],
  invalid: [
    'archive.bad-file-name', 'archive.bad-label', 'archive.commit.not-staged', 'archive.name-too-long',
    'archive.resource.relabel', 'archive.stage.not-regular', 'archive.upload.truncated', 'archive.uri.bad-escape',
    'archive.uri.not-object', 'archive.xml.bad-id', 'archive.xml.invalid', 'archive.xml.malformed',
    'archive.xml.no-id', 'archive.xml.no-label', 'archive.xsi.bad-syntax', 'archive.xsi.not-assessor',
    'archive.xsi.unknown-scan-type', 'archive.xsi.unknown-session-type', 'archive.zip.duplicate',
    'archive.zip.invalid', 'archive.zip.overlapping', 'bad-document', 'command.duplicate',
    'dicom.import.bad-archive', 'dicom.import.no-source', 'dicom.import.unsafe-entry', 'image.name-blank',
    'launch.root-missing', 'matcher.syntax', 'parent-missing', 'resolution.input.illegal-value',
    'resolution.setup.ambiguous', 'resolution.template.ambiguous', 'users.bad-login', 'users.no-password',
    'wrapper.disabled', 'xapi.mapping.not-convertible', 'xapi.subscription.invalid', 'xapi.webhook.invalid',
  ],
  conflict: [
    'archive.conflict', 'conflict', 'run.already-finished', 'run.finalizing', 'run.not-finished',
    'run.not-relaunchable', 'users.exists',
  ],
  forbidden: [
    'auth.forbidden', 'auth.run-token', 'launch.ipc-mode-not-allowed', 'launch.network-not-allowed',
    'launch.runtime-not-allowed',
  ],
};

const KIND_OF = new Map<string, FailureKind>(Object.entries(CODES).flatMap(([kind, codes]) => codes.map((c) => [c, kind as FailureKind] as const)));

/** The kind of an `XcsError` by its code, or null (not one of the kinds above, or not an `XcsError`). */
export function failureKind(e: unknown): FailureKind | null {
  return isXcsError(e) ? KIND_OF.get(e.code) ?? null : null;
}
