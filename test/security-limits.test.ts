// Hostile uploads and bodies against a real server: archive bombs (one entry inflating a thousand times, a
// gzip stream doing the same, too many bytes, too many entries) are refused with 413 and leave nothing
// behind; damaged archives are 400; JSON nested millions of levels is refused by the depth check before
// parsing; over-long file names are a 400 naming the limit, never an error showing a server path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import yazl from 'yazl';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';

const P = 'LIMITS';
let s: TestServer;
let small: TestServer;
let admin: Record<string, string>;

async function zipOf(entries: Array<{ name: string; data: Buffer; compress?: boolean }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { compress: e.compress ?? true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function tarGzOf(name: string, data: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name, size: data.length }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/** Every file under `dir` (relative), to show an upload left nothing behind. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

async function setUp(server: TestServer): Promise<void> {
  const h = basic('admin', server.adminPassword);
  for (const path of [`/data/projects/${P}`, `/data/projects/${P}/resources/R`]) {
    const r = await fetch(`${server.url}${path}`, { method: 'PUT', headers: h });
    assert.equal(r.status, 201, await r.text());
  }
}

before(async () => {
  s = await startTestServer();
  small = await startTestServer({ unpackLimits: { maxTotalBytes: 1_000_000, maxEntries: 5 } });
  admin = basic('admin', s.adminPassword);
  await setUp(s);
  await setUp(small);
});

after(async () => {
  await s?.stop();
  await small?.stop();
});

interface Refusal { status: number; code: string; message: RegExp }

async function expectRefused(server: TestServer, method: string, path: string, body: Buffer | string, want: Refusal,
  headers: Record<string, string> = {}): Promise<void> {
  const r = await fetch(`${server.url}${path}`, { method, headers: { ...basic('admin', server.adminPassword), accept: 'application/json', ...headers }, body });
  const text = await r.text();
  assert.equal(r.status, want.status, `${path}: ${text}`);
  const json = JSON.parse(text) as { code: string; message: string };
  assert.equal(json.code, want.code, text);
  assert.match(json.message, want.message);
  assert.ok(!text.includes(server.dir) && !text.includes('/tmp/'), `a server path in ${text}`);
}

/** Nothing of a refused upload remains: no file rows, no files in the resource, nothing in staging. */
async function assertUnchanged(server: TestServer): Promise<void> {
  const list = await fetch(`${server.url}/data/projects/${P}/resources/R/files?format=json`, { headers: basic('admin', server.adminPassword) });
  assert.deepEqual((await list.json() as { ResultSet: { Result: unknown[] } }).ResultSet.Result, []);
  const res = await server.opened.archive.findChild({ kind: 'project', project: P }, 'resources', 'R');
  assert.ok(res);
  const resDir = await server.opened.archive.directoryOf(res);
  assert.deepEqual(await filesUnder(resDir), []);
  assert.deepEqual(await filesUnder(server.opened.archive.stagingDir()), []);
  assert.deepEqual(await server.opened.archive.listSubjects(P), []);
}

const RES_FILES = `/data/projects/${P}/resources/R/files`;
const IMPORT = `/data/services/import?import-handler=DICOM-zip&PROJECT_ID=${P}`;

test('a zip entry inflating a thousand times is refused (413) by resource extraction and DICOM import; nothing is left', async () => {
  const bomb = await zipOf([{ name: 'ok.dcm', data: randomBytes(1000) }, { name: 'zeros.dcm', data: Buffer.alloc(32 * 1024 * 1024) }]);
  assert.ok(bomb.length < 100_000, 'the bomb is small');
  const want = { status: 413, code: 'archive.unpack.ratio', message: /inflates \d+ times, more than the limit of 100/ };
  await expectRefused(s, 'PUT', `${RES_FILES}/bomb.zip?extract=true`, bomb, want);
  const form = new FormData();
  form.append('file', new Blob([bomb]), 'bomb.zip');
  const multi = await fetch(`${s.url}${RES_FILES}?extract=true`, { method: 'POST', headers: { ...admin, accept: 'application/json' }, body: form });
  assert.equal(multi.status, 413);
  assert.equal((await multi.json() as { code: string }).code, 'archive.unpack.ratio');
  await expectRefused(s, 'POST', IMPORT, bomb, want, { 'content-type': 'application/zip' });
  await assertUnchanged(s);
});

test('a tar.gz inflating a thousand times is refused (413) while it streams', async () => {
  const bomb = await tarGzOf('zeros.dcm', Buffer.alloc(64 * 1024 * 1024));
  assert.ok(bomb.length < 200_000);
  await expectRefused(s, 'POST', IMPORT, bomb, { status: 413, code: 'archive.unpack.ratio', message: /more than the limit of 100/ },
    { 'content-type': 'application/gzip' });
  await assertUnchanged(s);
});

test('imaging-like data (compressing a few times, above the floor) passes the default limits', async () => {
  // 4 MiB that deflate about 2–4 times, like DICOM pixel data.
  const noisy = Buffer.from(randomBytes(3 * 1024 * 1024).toString('base64').slice(0, 4 * 1024 * 1024));
  const zip = await zipOf([{ name: 'a/image.nii', data: noisy }]);
  const r = await fetch(`${s.url}/data/projects/${P}/resources/OK/files/ok.zip?extract=true`, { method: 'PUT', headers: admin, body: zip });
  assert.equal(r.status, 404, 'no such resource yet');
  assert.equal((await fetch(`${s.url}/data/projects/${P}/resources/OK`, { method: 'PUT', headers: admin })).status, 201);
  const put = await fetch(`${s.url}/data/projects/${P}/resources/OK/files/ok.zip?extract=true`, { method: 'PUT', headers: admin, body: zip });
  assert.equal(put.status, 200, await put.text());
  const back = await fetch(`${s.url}/data/projects/${P}/resources/OK/files/a/image.nii`, { headers: admin });
  assert.equal(Buffer.compare(Buffer.from(await back.arrayBuffer()), noisy), 0);
});

test('too many bytes or too many entries in one archive: 413 with the limit; nothing is left', async () => {
  const big = await zipOf([{ name: 'a.dcm', data: randomBytes(600_000), compress: false }, { name: 'b.dcm', data: randomBytes(600_000), compress: false }]);
  const tooBig = { status: 413, code: 'archive.unpack.too-large', message: /larger than 1000000 bytes/ };
  await expectRefused(small, 'PUT', `${RES_FILES}/big.zip?extract=true`, big, tooBig);
  await expectRefused(small, 'POST', IMPORT, big, tooBig, { 'content-type': 'application/zip' });
  const many = await zipOf(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.dcm`, data: randomBytes(10) })));
  const tooMany = { status: 413, code: 'archive.unpack.too-many-entries', message: /more than 5 files/ };
  await expectRefused(small, 'PUT', `${RES_FILES}/many.zip?extract=true`, many, tooMany);
  await expectRefused(small, 'POST', IMPORT, many, tooMany, { 'content-type': 'application/zip' });
  await assertUnchanged(small);
});

test('a damaged archive is a 400 and changes nothing', async () => {
  const good = await zipOf([{ name: 'a.dcm', data: randomBytes(5000) }]);
  const broken = Buffer.concat([good.subarray(0, 40), randomBytes(200)]);
  await expectRefused(s, 'PUT', `${RES_FILES}/broken.zip?extract=true`, broken, { status: 400, code: 'archive.zip.invalid', message: /zip/ });
  await expectRefused(s, 'POST', IMPORT, broken, { status: 400, code: 'dicom.import.bad-archive', message: /damaged or truncated/ },
    { 'content-type': 'application/zip' });
  await assertUnchanged(s);
});

test('JSON nested millions of levels is refused by the depth check, before parsing; too big a body is 413', async () => {
  const deep = '['.repeat(5_000_000);
  for (const path of ['/xapi/commands', '/xapi/commands/validate', '/xapi/users', '/data/projects']) {
    const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json', accept: 'application/json' }, body: deep });
    const body = await r.json() as { code: string; message: string };
    assert.equal(r.status, 400, path);
    assert.equal(body.code, 'http.json.too-deep', path);
    assert.match(body.message, /deeper than 64 levels \(at character 65\)/);
  }
  // Guests too: the body is refused, not parsed, whoever sends it.
  const guest = await fetch(`${s.url}/xapi/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
  assert.ok(guest.status === 400 || guest.status === 401, String(guest.status));
  await guest.arrayBuffer();
  // Brackets inside strings do not count, and 64 levels are fine.
  const ok = `${'['.repeat(64)}"${'['.repeat(1000)}"${']'.repeat(64)}`;
  const r = await fetch(`${s.url}/xapi/commands/validate`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: ok });
  assert.notEqual((await r.json() as { code?: string }).code, 'http.json.too-deep');
  const huge = await fetch(`${s.url}/xapi/commands`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' },
    body: `"${'x'.repeat(17 * 1024 * 1024)}"` });
  assert.equal(huge.status, 413);
  assert.equal((await huge.json() as { code: string }).code, 'http.body.too-large');
});

test('a file name part over 255 bytes is a 400 naming the limit, without a server path, however it is uploaded', async () => {
  const want = { status: 400, code: 'archive.name-too-long', message: /at most 255 bytes/ };
  await expectRefused(s, 'PUT', `${RES_FILES}/${'x'.repeat(300)}`, 'data', want);
  await expectRefused(s, 'PUT', `${RES_FILES}/dir/${'é'.repeat(128)}.txt`, 'data', want);
  const form = new FormData();
  form.append('file', new Blob(['data']), `${'y'.repeat(300)}.txt`);
  const r = await fetch(`${s.url}${RES_FILES}`, { method: 'POST', headers: { ...admin, accept: 'application/json' }, body: form });
  const text = await r.text();
  assert.equal(r.status, 400, text);
  assert.equal((JSON.parse(text) as { code: string }).code, 'archive.name-too-long');
  assert.ok(!text.includes(s.dir));
  await expectRefused(s, 'PUT', `${RES_FILES}/long.zip?extract=true`, await zipOf([{ name: `${'z'.repeat(300)}.dcm`, data: randomBytes(10) }]), want);
  // Plain-text answers (no Accept: JSON) name no path either.
  const plain = await fetch(`${s.url}${RES_FILES}/${'x'.repeat(300)}`, { method: 'PUT', headers: admin, body: 'data' });
  const plainText = await plain.text();
  assert.equal(plain.status, 400);
  assert.match(plainText, /at most 255 bytes/);
  assert.ok(!plainText.includes(s.dir) && !plainText.includes('ENAMETOOLONG'), plainText);
  await assertUnchanged(s);
  // 255 bytes is allowed.
  assert.equal((await fetch(`${s.url}/data/projects/${P}/resources/NAMES`, { method: 'PUT', headers: admin })).status, 201);
  const fits = await fetch(`${s.url}/data/projects/${P}/resources/NAMES/files/${'w'.repeat(255)}`, { method: 'PUT', headers: admin, body: 'data' });
  assert.equal(fits.status, 200, await fits.text());
});

test('a multi-file upload whose later part is refused keeps none of its files', async () => {
  const bomb = await zipOf([{ name: 'zeros.dcm', data: Buffer.alloc(32 * 1024 * 1024) }]);
  for (const [second, name, status] of [[new Blob([bomb]), 'bomb.zip', 413], [new Blob(['x']), `${'n'.repeat(300)}.txt`, 400]] as const) {
    const form = new FormData();
    form.append('a', new Blob(['first file']), 'first.txt');
    form.append('b', new Blob(['second file']), 'second.txt');
    form.append('c', second, name);
    const r = await fetch(`${s.url}${RES_FILES}?extract=true`, { method: 'POST', headers: { ...admin, accept: 'application/json' }, body: form });
    assert.equal(r.status, status, await r.text());
    await assertUnchanged(s);
  }
});
