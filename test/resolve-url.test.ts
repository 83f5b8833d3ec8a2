// `xcs resolve --url`: a local command file resolved against a running server's archive (archive URIs
// and ids looked up there, as the caller may see them), through the read-only /xapi/resolution routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { basic, startTestServer, type TestServer } from './archive-helpers.ts';

let s: TestServer;
let session = '';

before(async () => {
  s = await startTestServer();
  const { archive, users } = s.opened;
  await users.addUser({ login: 'stranger', password: 'pw' });
  await archive.createProject({ id: 'P' }, 'admin');
  const subject = await archive.createSubject('P', { label: 's1' }, 'admin');
  session = (await archive.createSession(subject.id, { label: 'e1' }, 'admin')).id;
  await archive.createScan(session, { id: '1', fields: { type: 'T1w' } }, 'admin');
  await archive.createResource({ kind: 'scan', session, scan: '1' }, { label: 'DICOM' }, 'admin');
});

after(async () => { await s.stop(); });

function xcs(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bin/xcs', args, { env: { ...process.env, XCS_USER: '', XCS_PASSWORD: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

test('xcs resolve --url resolves an archive URI on the server; a caller who cannot read it gets no object', async () => {
  const scanUri = `/archive/experiments/${session}/scans/1`;
  const args = ['resolve', '--command', 'examples/commands/dcm2niix.json', '--wrapper', 'dcm2niix-scan', '--input', `scan=${scanUri}`,
    '--url', s.url, '--json'];
  const ok = await xcs([...args, '--user', 'admin', '--password', s.adminPassword]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const r = JSON.parse(ok.stdout) as { mounts: Array<{ name: string; 'xnat-host-path': string }>; 'wrapper-input-values': Record<string, string> };
  assert.equal(r['wrapper-input-values'].scan, scanUri);
  const dicom = r.mounts.find((m) => m.name === 'dicom-in');
  assert.equal(dicom?.['xnat-host-path'], await s.opened.archive.directoryOf({ kind: 'resource',
    resource: (await s.opened.archive.listResources({ kind: 'scan', session, scan: '1' }))[0].id }));

  // Someone without access to P learns nothing: the scan is as missing as a wrong URI.
  const refused = await xcs([...args, '--user', 'stranger', '--password', 'pw']);
  assert.equal(refused.code, 1);
  const wrong = await xcs(['resolve', '--command', 'examples/commands/dcm2niix.json', '--wrapper', 'dcm2niix-scan', '--input',
    `scan=/archive/experiments/${session}/scans/404`, '--url', s.url, '--json', '--user', 'admin', '--password', s.adminPassword]);
  assert.equal((JSON.parse(refused.stdout) as { error: { message: string } }).error.message,
    (JSON.parse(wrong.stdout) as { error: { message: string } }).error.message.replace('/404', '/1'));
  // --archive and --url together are refused, saying so.
  const both = await xcs([...args, '--archive', 'package.json']);
  assert.match(both.stdout, /give --archive or --url, not both/);
});

test('/xapi/resolution routes: authentication required, unreadable objects 404, bad kinds 400', async () => {
  const uri = encodeURIComponent(`/archive/experiments/${session}`);
  assert.equal((await fetch(`${s.url}/xapi/resolution/object?uri=${uri}`)).status, 401);
  assert.equal((await fetch(`${s.url}/xapi/resolution/object?uri=${uri}`, { headers: basic('stranger', 'pw') })).status, 404);
  const admin = basic('admin', s.adminPassword);
  const o = await fetch(`${s.url}/xapi/resolution/object?uri=${uri}`, { headers: admin });
  assert.equal(((await o.json()) as { label: string }).label, 'e1');
  const scans = await (await fetch(`${s.url}/xapi/resolution/children?uri=${uri}&kind=scans`, { headers: admin })).json() as Array<{ id: string }>;
  assert.deepEqual(scans.map((x) => x.id), ['1']);
  assert.equal((await fetch(`${s.url}/xapi/resolution/children?uri=${uri}&kind=nope`, { headers: admin })).status, 400);
  assert.equal((await fetch(`${s.url}/xapi/resolution/children?uri=${uri}&kind=scans`, { headers: basic('stranger', 'pw') })).status, 404);
});

test('the README example of the --archive format resolves as the README says', async () => {
  const { readFile, writeFile, mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const readme = await readFile('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### `xcs resolve`'));
  const tree = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(tree, 'the README shows an --archive tree');
  const dir = await mkdtemp(join(tmpdir(), 'xcs-readme-tree-'));
  try {
    await writeFile(join(dir, 'tree.json'), tree);
    const r = await xcs(['resolve', '--command', 'examples/commands/dcm2niix.json', '--input', 'scan=/archive/experiments/XNAT_E00001/scans/1',
      '--archive', join(dir, 'tree.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mount: dicom-in \/input <- \/data\/archive\/P\/arc001\/sess01\/SCANS\/1\/DICOM/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
