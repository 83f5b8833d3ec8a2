// HTTP statuses are chosen only in http's error handler (`src/http/error-mapping.ts`, by error code): no layer below
// http gives an `XcsError` a status. This reads the sources and fails on a `status: <number>` in a lower layer's
// source outside its tests (run statuses are strings, so a number there is an HTTP status).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XcsError } from '../src/core/errors.ts';
import { codesWithStatus, httpStatusOf } from '../src/http/error-mapping.ts';
import { ResolutionError } from '../src/resolution/index.ts';

const SRC = join(import.meta.dirname, '..', 'src');

/**
 * Lower-layer files that still give statuses, to be moved into the table: a list to shrink, never to grow (empty).
 */
const NOT_YET_MOVED = new Set<string>([]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('no layer below http gives an XcsError an HTTP status', () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file).split('\\').join('/');
    if (rel.startsWith('http/') || NOT_YET_MOVED.has(rel)) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/\bstatus:\s*\d{3}\b/.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], 'move these statuses into STATUS_OF_CODE in src/http/error-mapping.ts');
});

test('the table chooses the status by code; http\'s own statuses and resolution failures keep theirs', () => {
  const table = codesWithStatus();
  assert.equal(table.get('run.not-found'), 404);
  assert.equal(httpStatusOf(new XcsError('run.not-found', 'x')), 404);
  assert.equal(httpStatusOf(new XcsError('wrapper.disabled', 'x')), 400);
  assert.equal(httpStatusOf(new XcsError('launch.network-not-allowed', 'x')), 403);
  assert.equal(httpStatusOf(new XcsError('run.not-finished', 'x')), 409);
  // An error http made with a status keeps it (the same code means a missing parameter at the REST import).
  assert.equal(httpStatusOf(new XcsError('dicom.import.no-project', 'x', { status: 400 })), 400);
  assert.equal(httpStatusOf(new XcsError('dicom.import.no-project', 'x')), 404);
  // A resolution failure is the launch's, whatever the code it carries (an archive's not-found inside resolution).
  const explanation = { inputs: [] } as unknown as ConstructorParameters<typeof ResolutionError>[2];
  assert.equal(httpStatusOf(new ResolutionError('archive.not-found', 'x', explanation)), 400);
  // Anything else is the server's fault.
  assert.equal(httpStatusOf(new XcsError('some.unlisted-code', 'x')), 500);
});
