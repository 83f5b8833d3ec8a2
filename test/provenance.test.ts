// Provenance end to end (real server, archive, SQLite and Docker): a run with a resource input and a resource output
// records the image id Docker reports, the archive's MD5s of its inputs and the real checksums of its outputs, with
// the sensitive value and XNAT_PASS nowhere; the produced/used/by-image queries find it and not an unrelated run;
// readers of the project get a scrubbed record, users of another project 404; records are append-only and outlive
// a deleted run; `xcs provenance --verify` reports a changed and a missing output file with exit code 1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { openRunDatabase } from '../src/runtime/index.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const run = promisify(execFile);
const PW = 'pw-prov-1';
const SECRET = 'Pr0v-s3cret-value-42';
const IMAGE = 'xcs-test/busybox:latest';
const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

const COMMAND = {
  name: 'prov-copy', version: '2', image: IMAGE, type: 'docker',
  'command-line': 'cp /input/a.txt /output/a-copy.txt && cat /input/sub/b.txt /input/a.txt > /output/joined.txt && echo #TOKEN# > /dev/null',
  'override-entrypoint': true,
  mounts: [{ name: 'in', writable: false, path: '/input' }, { name: 'out', writable: true, path: '/output' }],
  inputs: [{ name: 'token', 'replacement-key': '#TOKEN#', sensitive: true, required: false }],
  outputs: [{ name: 'copies', mount: 'out', required: true }],
  xnat: [{
    name: 'prov-session', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'in-resource', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'IN'",
      'provides-files-for-command-mount': 'in' }],
    'output-handlers': [{ name: 'out-resource', 'accepts-command-output': 'copies', 'as-a-child-of': 'session', type: 'Resource', label: 'OUT' }],
  }],
};

let s: TestServer;
const h = (who: string): Record<string, string> => (who === 'admin' ? basic('admin', s.adminPassword) : basic(who, PW));
let e1: { id: string; uri: string };
let e2: { id: string; uri: string };
let inputFiles: Map<string, string>;
let run1: number;
let run2: number;
let wid: number;

async function get<T>(who: string, path: string, status = 200): Promise<T> {
  const r = await call(s.url, 'GET', path, { headers: h(who) });
  assert.equal(r.status, status, `${who} GET ${path}: ${r.text.slice(0, 300)}`);
  return r.body as T;
}

async function launchOn(session: string): Promise<number> {
  const r = await call(s.url, 'POST', `/xapi/projects/P/wrappers/${wid}/root/session/launch`, { headers: h('member'), json: { session, token: SECRET } });
  assert.equal(r.status, 200, r.text);
  const id = (r.body as { id: number }).id;
  let status = '';
  for (let i = 0; i < 300 && !/^(Complete|Failed|Killed)/.test(status); i++) {
    status = (await get<{ status: string }>('admin', `/xapi/containers/${id}`)).status;
    if (!/^(Complete|Failed|Killed)/.test(status)) await sleep(100);
  }
  assert.equal(status, 'Complete');
  return id;
}

before(async () => {
  s = await startTestServer();
  const { users, archive } = s.opened;
  for (const u of ['member', 'reader', 'other']) await users.addUser({ login: u, password: PW });
  await archive.createProject({ id: 'P' }, 'admin');
  await archive.createProject({ id: 'Q' }, 'admin');
  await users.setRole('P', 'member', 'member');
  await users.setRole('P', 'reader', 'collaborator');
  await users.setRole('Q', 'other', 'owner');
  const subject = await archive.createSubject('P', { label: 'S1' }, 'admin');
  const sessions = [];
  inputFiles = new Map([['a.txt', 'alpha\n'], ['sub/b.txt', 'bravo bravo\n']]);
  for (const label of ['E1', 'E2']) {
    const e = await archive.createSession(subject.id, { label, xsiType: 'xnat:mrSessionData' }, 'admin');
    const r = await archive.createResource({ kind: 'session', session: e.id }, { label: 'IN' }, 'admin');
    for (const [path, text] of inputFiles) await archive.putFile(r.id, path, Readable.from([Buffer.from(`${label} ${text}`)]), {}, 'admin');
    sessions.push({ id: e.id, uri: e.archiveUri });
  }
  [e1, e2] = sessions;
  const admin = h('admin');
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  wid = ((await call(s.url, 'GET', `/xapi/commands/${Number(reg.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/P/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  run1 = await launchOn(e1.uri);
  run2 = await launchOn(e2.uri);
});

after(async () => {
  await stopWithContainers(s);
});

interface FileRec { path: string; size: number; md5: string }
interface ObjectRec { kind: string; uri: string; 'data-uri': string; mounted?: boolean; files?: FileRec[]; 'file-count'?: number; 'manifest-sha256'?: string }
interface Prov {
  'run-id': number; status: string; scrubbed: boolean; 'command-line': string; environment?: Record<string, string>;
  image: { reference: string; id: string; 'repo-digests': string[] };
  engine: { name: string; version: string };
  command: { id: number; name: string; version: string; sha256: string };
  inputs: Array<{ name: string; value?: string; sensitive?: boolean; object?: ObjectRec }>;
  outputs: Array<{ name: string; object?: ObjectRec }>;
  mounts?: unknown[];
}

test('the record holds the image id Docker reports, the archive MD5s of the inputs and the real checksums of the outputs', async () => {
  const p = await get<Prov>('member', `/xapi/containers/${run1}/provenance`);
  assert.equal(p.status, 'Complete');
  assert.equal(p.scrubbed, false);
  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
  assert.equal(p.image.id, stdout.trim(), 'the image id is the engine\'s');
  assert.equal(p.image.reference, IMAGE);
  assert.ok(Array.isArray(p.image['repo-digests']));
  assert.equal(p.engine.name, 'docker');
  assert.match(p.engine.version, /^\d+\./);
  assert.equal(p.command.name, 'prov-copy');
  assert.match(p.command.sha256, /^sha256:[0-9a-f]{64}$/);
  assert.match(p['command-line'], /cp \/input\/a\.txt/);

  // Inputs: the resource, mounted, with the MD5s the archive stored (and the real ones: same bytes).
  const { archive } = s.opened;
  const inRes = (await archive.listResources({ kind: 'session', session: e1.id })).find((r) => r.label === 'IN');
  assert.ok(inRes);
  const stored = await archive.listFiles(inRes.id);
  const input = p.inputs.find((i) => i.name === 'in-resource')?.object;
  assert.ok(input, JSON.stringify(p.inputs));
  assert.equal(input.kind, 'resource');
  assert.equal(input.mounted, true);
  assert.deepEqual(input.files?.map((f) => [f.path, f.md5]), stored.map((f) => [f.name, f.checksum]).sort());
  for (const f of input.files ?? []) assert.equal(f.md5, md5(`E1 ${inputFiles.get(f.path)}`), f.path);
  assert.match(input['manifest-sha256'] ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(p.inputs.find((i) => i.name === 'session')?.object?.uri, e1.uri);

  // Outputs: the files' real checksums, computed here from the files in the archive.
  const out = p.outputs[0]?.object;
  assert.ok(out, JSON.stringify(p.outputs));
  assert.equal(out.kind, 'resource');
  assert.match(out.uri, new RegExp(`^${e1.uri}/resources/OUT$`));
  const outRes = (await archive.listResources({ kind: 'session', session: e1.id })).find((r) => r.label === 'OUT');
  assert.ok(outRes);
  const real = await Promise.all((await archive.listFiles(outRes.id)).map(async (f) => [f.name, md5(await readFile(f.absolutePath))]));
  assert.deepEqual(out.files?.map((f) => [f.path, f.md5]), real.sort());
  assert.deepEqual(Object.fromEntries(out.files?.map((f) => [f.path, f.md5]) ?? []), {
    'a-copy.txt': md5('E1 alpha\n'), 'joined.txt': md5('E1 bravo bravo\nE1 alpha\n'),
  });
});

test('the sensitive value and XNAT_PASS appear nowhere in the record, served or stored', async () => {
  for (const who of ['admin', 'member', 'reader']) {
    const r = await call(s.url, 'GET', `/xapi/containers/${run1}/provenance`, { headers: h(who) });
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes(SECRET), `${who} sees the sensitive value`);
  }
  const p = await get<Prov>('admin', `/xapi/containers/${run1}/provenance`);
  assert.equal(p.environment?.XNAT_PASS, '******');
  assert.equal(p.inputs.find((i) => i.name === 'token')?.value, '******');
  assert.ok(p['command-line'].includes('******'), p['command-line']);
  const db = openRunDatabase(join(s.dir, 'data', 'runs.sqlite'));
  try {
    const records = (db.prepare('SELECT record FROM provenance_records').all() as Array<{ record: string }>).map((r) => r.record).join('\n');
    const tokenSecret = (JSON.parse((db.prepare('SELECT secrets FROM runs WHERE id = ?').get(run1) as { secrets: string }).secrets) as string[])[0];
    assert.ok(tokenSecret && tokenSecret.length > 8);
    assert.ok(!records.includes(SECRET), 'the sensitive value is stored nowhere');
    assert.ok(!records.includes(tokenSecret), 'the XNAT_PASS secret is stored nowhere');
  } finally {
    db.close();
  }
});

interface Hits { object: { uri: string }; total: number; runs: Array<{ id: number; scrubbed: boolean; 'image-id': string; outputs?: Array<{ uri: string; match: string }>; inputs?: Array<{ name: string; match: string }> }> }

test('produced, used and by-image find the run, and not the unrelated one', async () => {
  const out1 = `${e1.uri}/resources/OUT`;
  const produced = await get<Hits>('member', `/xapi/provenance/produced?object=${encodeURIComponent(out1)}`);
  assert.deepEqual(produced.runs.map((r) => r.id), [run1]);
  assert.equal(produced.runs[0].outputs?.[0].match, 'exact');
  // A file inside the output, in its /data form, leads to the same run.
  const file = await get<Hits>('member', `/xapi/provenance/produced?object=${encodeURIComponent(`/data/experiments/${e1.id}/resources/OUT/files/joined.txt`)}`);
  assert.deepEqual(file.runs.map((r) => r.id), [run1]);
  assert.equal(file.runs[0].outputs?.[0].match, 'contains');
  // The session holds the outputs of that run only.
  const inSession = await get<Hits>('member', `/xapi/provenance/produced?object=${encodeURIComponent(e2.uri)}`);
  assert.deepEqual(inSession.runs.map((r) => r.id), [run2]);
  assert.equal(inSession.runs[0].outputs?.[0].match, 'inside');
  // Nothing produced the input.
  assert.deepEqual((await get<Hits>('member', `/xapi/provenance/produced?object=${encodeURIComponent(`${e1.uri}/resources/IN`)}`)).runs, []);

  const used = await get<Hits>('member', `/xapi/provenance/used?object=${encodeURIComponent(`${e2.uri}/resources/IN/files/sub/b.txt`)}`);
  assert.deepEqual(used.runs.map((r) => r.id), [run2]);
  // The session input was not mounted: only the resource whose files the run saw contains the file.
  assert.deepEqual(used.runs[0].inputs?.map((i) => [i.name, i.match]), [['in-resource', 'contains']]);
  const session = await get<Hits>('member', `/xapi/provenance/used?object=${encodeURIComponent(e1.uri)}`);
  assert.deepEqual(session.runs.map((r) => r.id), [run1]);
  assert.deepEqual(session.runs[0].inputs?.map((i) => [i.name, i.match]), [['in-resource', 'inside'], ['session', 'exact']]);
  // What a run wrote into the session it ran on is not something it used.
  assert.deepEqual((await get<Hits>('member', `/xapi/provenance/used?object=${encodeURIComponent(`${e1.uri}/resources/OUT`)}`)).runs, []);

  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
  const id = stdout.trim();
  const byId = await get<Hits>('member', `/xapi/provenance/by-image?digest=${id}`);
  assert.deepEqual(byId.runs.map((r) => r.id), [run2, run1]);
  assert.deepEqual(byId.runs.find((r) => r.id === run1)?.outputs?.map((o) => o.uri), [out1]);
  const byName = await get<Hits & { image: { id: string } }>('member', `/xapi/provenance/by-image?digest=${encodeURIComponent(IMAGE)}`);
  assert.equal(byName.image.id, id);
  assert.deepEqual(byName.runs.map((r) => r.id), [run2, run1]);
  // Another image the engine has: no runs; an unknown digest: 404.
  assert.deepEqual((await get<Hits>('member', `/xapi/provenance/by-image?digest=${encodeURIComponent('xcs-test/entrypoint:latest')}`)).runs, []);
  await get('member', `/xapi/provenance/by-image?digest=sha256:${'0'.repeat(64)}`, 404);
});

test('bad parameters are 400 naming the parameter; unknown and unreadable objects the same 404', async () => {
  for (const path of ['/xapi/provenance/produced', '/xapi/provenance/used?object=', '/xapi/provenance/used?object=etc/passwd',
    `/xapi/provenance/produced?object=${encodeURIComponent('/archive/bogus/1')}`, '/xapi/provenance/by-image', '/xapi/provenance/by-image?digest=NOT%20AN%20IMAGE']) {
    const r = await call(s.url, 'GET', path, { headers: h('member') });
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match((r.body as { path: string }).path, /^(object|digest)$/, path);
    assert.equal(typeof (r.body as { message: string }).message, 'string');
  }
  const hidden = await call(s.url, 'GET', `/xapi/provenance/produced?object=${encodeURIComponent(`${e1.uri}/resources/OUT`)}`, { headers: h('other') });
  const missing = await call(s.url, 'GET', `/xapi/provenance/produced?object=${encodeURIComponent(`${e1.uri}/resources/NOPE`)}`, { headers: h('other') });
  assert.equal(hidden.status, 404);
  assert.equal(missing.status, 404);
  assert.equal((hidden.body as { code: string }).code, (missing.body as { code: string }).code);
  assert.equal((hidden.body as { message: string }).message.replace('OUT', 'X'), (missing.body as { message: string }).message.replace('NOPE', 'X'));
});

test('permissions: another project\'s user 404, a reader of the project a scrubbed record, the launcher in full', async () => {
  await get('other', `/xapi/containers/${run1}/provenance`, 404);
  await get('other', `/xapi/provenance/used?object=${encodeURIComponent(e1.uri)}`, 404);
  const otherByImage = await get<Hits>('other', `/xapi/provenance/by-image?digest=${encodeURIComponent(IMAGE)}`);
  assert.deepEqual(otherByImage.runs, [], 'runs of projects the caller cannot read are left out');

  const scrubbed = await get<Prov>('reader', `/xapi/containers/${run1}/provenance`);
  assert.equal(scrubbed.scrubbed, true);
  assert.equal(scrubbed['command-line'], '[REDACTED]');
  assert.equal(scrubbed.environment, undefined);
  assert.equal(scrubbed.mounts, undefined);
  assert.ok(scrubbed.image.id.startsWith('sha256:'), 'the image identity is what provenance is for: readers see it');
  assert.ok(scrubbed.outputs[0]?.object?.files?.length === 2, 'readers see the outputs they can read, with checksums');
  assert.equal(scrubbed.inputs.find((i) => i.name === 'token')?.value, undefined, 'non-object values are left out');
  const readerHits = await get<Hits>('reader', `/xapi/provenance/produced?object=${encodeURIComponent(`${e1.uri}/resources/OUT`)}`);
  assert.deepEqual(readerHits.runs.map((r) => [r.id, r.scrubbed]), [[run1, true]]);
  const full = await get<Prov>('member', `/xapi/containers/${run1}/provenance`);
  assert.equal(full.scrubbed, false);
  assert.ok(Array.isArray(full.mounts));
});

test('records are append-only and outlive the deletion of the run record', async () => {
  const db = openRunDatabase(join(s.dir, 'data', 'runs.sqlite'));
  try {
    assert.throws(() => db.prepare("UPDATE provenance_records SET record = '{}' WHERE run_id = ?").run(run2), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM provenance_objects WHERE run_id = ?').run(run2), /append-only/);
  } finally {
    db.close();
  }
  const del = await call(s.url, 'DELETE', `/xapi/containers/${run2}`, { headers: h('admin') });
  assert.equal(del.status, 204, del.text);
  await get('admin', `/xapi/containers/${run2}`, 404);
  const p = await get<Prov>('member', `/xapi/containers/${run2}/provenance`);
  assert.equal(p.status, 'Deleted');
  assert.equal(p.outputs.length, 1);
  await get('other', `/xapi/containers/${run2}/provenance`, 404);
  const produced = await get<Hits>('member', `/xapi/provenance/produced?object=${encodeURIComponent(`${e2.uri}/resources/OUT`)}`);
  assert.deepEqual(produced.runs.map((r) => r.id), [run2]);
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('bin/xcs', ['provenance', ...args, '--url', s.url, '--user', 'member', '--password', PW], { encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

test('xcs provenance prints the summary; --verify passes, then reports a changed and a missing output file with exit 1', async () => {
  const summary = await cli(String(run1));
  assert.equal(summary.code, 0, summary.stderr);
  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
  assert.ok(summary.stdout.includes(stdout.trim()), summary.stdout);
  assert.match(summary.stdout, /cp \/input\/a\.txt/);
  assert.ok(summary.stdout.includes(md5('E1 alpha\n')), 'input and output checksums are printed');
  assert.ok(!summary.stdout.includes(SECRET));
  const json = await cli(String(run1), '--json');
  assert.equal((JSON.parse(json.stdout) as Prov)['run-id'], run1);

  const ok = await cli(String(run1), '--verify');
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /OK: 2 recorded output files/);

  // One file changed on disk behind the archive's back (same size; its stored MD5 stays), one deleted through the archive.
  const { archive } = s.opened;
  const outRes = (await archive.listResources({ kind: 'session', session: e1.id })).find((r) => r.label === 'OUT');
  assert.ok(outRes);
  const files = await archive.listFiles(outRes.id);
  const joined = files.find((f) => f.name === 'joined.txt');
  assert.ok(joined);
  await writeFile(joined.absolutePath, `${'X'.repeat(joined.size - 1)}\n`);
  await archive.delete({ kind: 'file', resource: outRes.id, path: 'a-copy.txt' }, {}, 'admin');
  const drift = await cli(String(run1), '--verify');
  assert.equal(drift.code, 1, drift.stdout + drift.stderr);
  assert.match(drift.stdout, /CHANGED\s+\S+: \S+ joined\.txt/);
  assert.match(drift.stdout, /MISSING\s+\S+: \S+ a-copy\.txt/);
  assert.match(drift.stdout, /DRIFT: 2 difference/);
});
