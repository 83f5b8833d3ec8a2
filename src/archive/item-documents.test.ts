// Assessor documents as XNAT inserts them: the type from xsi:type or the element name (schema convention),
// the document's own ID kept when valid and free, a known ID of the same session replacing that assessor,
// and refusals: an ID of another session's object (it would be overwritten), an ID XNAT would refuse.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive, type OpenedArchive } from './open.ts';
import { documentType, readAssessorDocument } from './item-documents.ts';
import { isXcsError } from '../core/errors.ts';
import { httpStatusOf } from '../http/error-mapping.ts';

/** The failure is answered with `status` over HTTP (http's error handler chooses it by code) and matches `more`. */
function answered(status: number, more: { code?: string; message?: RegExp } = {}): (e: unknown) => boolean {
  return (e) => isXcsError(e) && httpStatusOf(e) === status && (more.code === undefined || e.code === more.code) &&
    (more.message === undefined || more.message.test(e.message));
}

let dir: string;
let o: OpenedArchive;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xcs-item-documents-'));
  o = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'pw' } });
});
afterEach(async () => {
  await o.close();
  await rm(dir, { recursive: true, force: true });
});

const roi = (id: string, label: string) => `<icr:RoiCollection xmlns:icr="http://www.icr.ac.uk/icr" ID="${id}" label="${label}"/>`;

test('element names map to XNAT data types; names that fit no rule are kept with a warning', () => {
  assert.deepEqual(documentType('icr:RoiCollection'), { xsiType: 'icr:roiCollectionData' });
  assert.deepEqual(documentType('xnat:QCManualAssessment'), { xsiType: 'xnat:qcManualAssessorData' });
  // The schema convention for elements XCS has no table entry for.
  assert.deepEqual(documentType('fs:ASEGStats'), { xsiType: 'fs:asegStatsData' });
  assert.deepEqual(documentType('proc:genProcData'), { xsiType: 'proc:genProcData' });
  assert.deepEqual(documentType('anything', 'xnat:qcAssessmentData'), { xsiType: 'xnat:qcAssessmentData' });
  const odd = documentType('my:results');
  assert.equal(odd.xsiType, 'my:results');
  assert.match(odd.warning ?? '', /names no XNAT data type/);
  assert.throws(() => readAssessorDocument(roi('bad id!', 'x')), answered(400, { code: 'archive.xml.bad-id' }));
  assert.equal(readAssessorDocument(roi('', 'lab')).id, undefined);
});

test('a document keeps its own ID; the same ID again in the session replaces it; another session\'s ID is refused', async () => {
  const a = o.archive;
  await a.createProject({ id: 'P' }, 'u');
  const s = await a.createSubject('P', { label: 's1' }, 'u');
  const e1 = await a.createSession(s.id, { label: 'e1' }, 'u');
  const e2 = await a.createSession(s.id, { label: 'e2' }, 'u');

  const first = await a.createAssessorFromXml(e1.id, roi('ROI_1', 'roi_a'), 'u');
  assert.deepEqual([first.id, first.label, first.xsiType], ['ROI_1', 'roi_a', 'icr:roiCollectionData']);
  const again = await a.createAssessorFromXml(e1.id, roi('ROI_1', 'roi_b'), 'u');
  assert.equal(again.id, 'ROI_1');
  assert.equal(again.label, 'roi_b');
  assert.deepEqual((await a.listAssessors(e1.id)).map((x) => x.id), ['ROI_1']);

  // Writing another session's (or a session's own) ID would overwrite that object: refused, nothing changed.
  await assert.rejects(a.createAssessorFromXml(e2.id, roi('ROI_1', 'roi_c'), 'u'), answered(409, { message: /assessor of another session/ }));
  await assert.rejects(a.createAssessorFromXml(e2.id, roi(e1.id, 'roi_d'), 'u'), answered(409, { message: /a session/ }));
  assert.equal((await a.require({ kind: 'assessor', assessor: 'ROI_1' })).label, 'roi_b');
  assert.deepEqual(await a.listAssessors(e2.id), []);

  // An ID the accession counter will reach later is skipped by it.
  const taken = await a.createAssessorFromXml(e2.id, roi('XNAT_E00003', 'ahead'), 'u');
  assert.equal(taken.id, 'XNAT_E00003');
  const next = await a.createSession(s.id, { label: 'e3' }, 'u');
  assert.equal(next.id, 'XNAT_E00004');
});
