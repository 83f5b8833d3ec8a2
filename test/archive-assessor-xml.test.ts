// Assessor creation from an XNAT XML document over real HTTP: PUT …/assessors/{label}?inbody=true (raw or
// multipart, by session ID and by project/subject path) and POST /xapi/archive/upload/xml.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';

let server: TestServer;
let session = '';
const PW = 'pw';

function qcXml(label: string, opts: { sessionRef?: string; project?: string; extra?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  ID="" label="${label}"${opts.project ? ` project="${opts.project}"` : ''}>
  <xnat:date>2024-02-03</xnat:date>
  ${opts.sessionRef ? `<xnat:imageSession_ID>${opts.sessionRef}</xnat:imageSession_ID>` : ''}
  ${opts.extra ?? ''}
</xnat:QCAssessment>`;
}

before(async () => {
  server = await startTestServer();
  const { archive, users } = server.opened;
  for (const u of ['member', 'collaborator', 'stranger']) await users.addUser({ login: u, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'collaborator', 'collaborator');
  const s = await archive.createSubject('P', { label: 's1' }, 'admin');
  session = (await archive.createSession(s.id, { label: 'e1' }, 'admin')).id;
});

after(async () => { await server.stop(); });

function put(path: string, body: string | FormData, login = 'member', type = 'text/xml'): Promise<Response> {
  const headers: Record<string, string> = { ...basic(login, PW) };
  if (typeof body === 'string') headers['content-type'] = type;
  return fetch(`${server.url}${path}`, { method: 'PUT', headers, body });
}

function uploadXml(body: string | FormData, login = 'member'): Promise<Response> {
  const headers: Record<string, string> = { ...basic(login, PW) };
  if (typeof body === 'string') headers['content-type'] = 'application/xml';
  return fetch(`${server.url}/xapi/archive/upload/xml`, { method: 'POST', headers, body });
}

async function assessors(): Promise<string[]> {
  return (await server.opened.archive.listAssessors(session)).map((a) => a.label).sort();
}

test('PUT …/assessors/{label}?inbody=true creates the assessor from the XML and answers its ID', async () => {
  const r = await put(`/data/experiments/${session}/assessors/qc1?inbody=true`, qcXml('qc1'));
  assert.equal(r.status, 201);
  const id = await r.text();
  assert.match(id, /^XNAT_E\d+$/);
  const rec = await server.opened.archive.require({ kind: 'assessor', assessor: id });
  assert.equal(rec.label, 'qc1');
  assert.equal(rec.xsiType, 'xnat:qcAssessmentData');
  // The stored document is the one sent (served back as the assessor's XML).
  const xml = await (await fetch(`${server.url}/data/experiments/${session}/assessors/qc1?format=xml`, { headers: basic('member', PW) })).text();
  assert.match(xml, /2024-02-03/);

  // Project/subject path form, multipart (pyxnat's create(xml=…) and curl -F).
  const form = new FormData();
  form.append('file', new Blob([qcXml('qc2')], { type: 'text/xml' }), 'qc2.xml');
  const m = await put('/data/projects/P/subjects/s1/experiments/e1/assessors/qc2?inbody=true', form);
  assert.equal(m.status, 201, await m.clone().text());
  assert.match(await m.text(), /^XNAT_E\d+$/);
  assert.deepEqual(await assessors(), ['qc1', 'qc2']);
});

test('PUT refuses malformed XML (400, saying what is wrong), duplicates (409) and non-editors; nothing is stored', async () => {
  const before = await assessors();
  const base = `/data/experiments/${session}/assessors`;
  const broken = await put(`${base}/bad?inbody=true`, qcXml('bad', { extra: '<xnat:note>unclosed' }));
  assert.equal(broken.status, 400);
  assert.match(await broken.text(), /malformed at line \d+: .*closes <xnat:note>/);
  const amp = await put(`${base}/bad?inbody=true`, qcXml('bad', { extra: '<xnat:note>a & b</xnat:note>' }));
  assert.equal(amp.status, 400);
  assert.match(await amp.text(), /bare "&"/);
  const truncated = await put(`${base}/bad?inbody=true`, qcXml('bad').slice(0, -25));
  assert.equal(truncated.status, 400);
  assert.match(await truncated.text(), /never closed/);
  const mismatch = await put(`${base}/other?inbody=true`, qcXml('bad'));
  assert.equal(mismatch.status, 400);
  assert.match(await mismatch.text(), /differs/);

  assert.equal((await put(`${base}/qc1?inbody=true`, qcXml('qc1'))).status, 409);
  assert.equal((await put(`${base}/c1?inbody=true`, qcXml('c1'), 'collaborator')).status, 403);
  assert.equal((await put(`${base}/s1?inbody=true`, qcXml('s1'), 'stranger')).status, 404);
  assert.deepEqual(await assessors(), before);
});

test('POST /xapi/archive/upload/xml finds the session from the XML and creates the assessor', async () => {
  const raw = await uploadXml(qcXml('up1', { sessionRef: session }));
  assert.equal(raw.status, 200);
  const id = await raw.text();
  assert.equal((await server.opened.archive.require({ kind: 'assessor', assessor: id })).label, 'up1');

  const form = new FormData();
  form.append('file', new Blob([qcXml('up2', { sessionRef: 'e1', project: 'P' })]), 'up2.xml');
  const multi = await uploadXml(form);
  assert.equal(multi.status, 200, await multi.clone().text());
  assert.match(await multi.text(), /^XNAT_E\d+$/);

  const before = await assessors();
  assert.deepEqual(before, ['qc1', 'qc2', 'up1', 'up2']);
  const dup = await uploadXml(qcXml('up1', { sessionRef: session }));
  assert.equal(dup.status, 409);
  const bad = await uploadXml(qcXml('up3', { sessionRef: session, extra: '<a></b>' }));
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /<\/b> closes <a>/);
  const noSession = await uploadXml(qcXml('up3'));
  assert.equal(noSession.status, 400);
  assert.match(await noSession.text(), /imageSession_ID/);
  assert.equal((await uploadXml(qcXml('up3', { sessionRef: session }), 'collaborator')).status, 403);
  assert.equal((await uploadXml(qcXml('up3', { sessionRef: session }), 'stranger')).status, 404);
  const guest = await fetch(`${server.url}/xapi/archive/upload/xml`, { method: 'POST', body: qcXml('up3', { sessionRef: session }),
    headers: { 'content-type': 'application/xml' } });
  assert.equal(guest.status, 401);
  assert.deepEqual(await assessors(), before);
});
