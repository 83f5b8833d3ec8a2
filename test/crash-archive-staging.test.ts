// `archive-staging` copy survives a crash: `xcs serve` is killed (SIGKILL) in staging, after the input was copied and
// before the container was created; the copy is then damaged as a crash in the middle of copying would leave it (a
// file missing, a stray one). Restarted, the server stages the run again from empty: the tool sees exactly the
// input's files, and the copy goes with the run's clean-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { jsonApi } from './helpers/http.ts';
import { registerEnabled, removeInstanceContainers } from './helpers/runs.ts';
import { sigkill, startServe, type ServeProcess } from './helpers/serve.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

const PASSWORD = 'crash-copy-pw';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

interface Container { status: string; history: Array<{ status: string; message: string | null }>; mounts: Array<{ name: string; 'xnat-host-path': string }> }

async function waitUntil(s: ServeProcess, cond: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a run whose server was killed in copy staging is staged again from empty after the restart', async () => {
  await ensureDockerHarness();
  const dir = await mkdtemp(join(tmpdir(), 'xcs-crash-copy-'));
  const data = join(dir, 'data');
  const servers: ServeProcess[] = [];
  try {
    process.env.XCS_ADMIN_PASSWORD = PASSWORD;
    const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
    const a = opened.archive;
    await a.createProject({ id: 'P' }, 'admin');
    const session = await a.createSession((await a.createSubject('P', { label: 'S' }, 'admin')).id, { label: 'E' }, 'admin');
    const resource = await a.createResource({ kind: 'session', session: session.id }, { label: 'SRC' }, 'admin');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) await a.putFile(resource.id, name, Readable.from([Buffer.from(`${name}\n`)]), {}, 'admin');
    await opened.close();

    const env = { XCS_ADMIN_PASSWORD: PASSWORD, XCS_MAX_RUNNING: '1' };
    const s1 = await startServe(data, { ...env, XCS_TEST_PAUSE_AT: 'staging' });
    servers.push(s1);
    const api1 = jsonApi(() => s1.url, auth);
    await api1('POST', '/xapi/docker/server', { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'auto-cleanup': true, 'archive-staging': 'copy' });
    const wrapperId = await registerEnabled(api1, {
      name: 'crash-copy', version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'override-entrypoint': true,
      'command-line': '(cd /in && find . | sort) > /out/listing.txt; cat /in/*.txt > /out/all.txt',
      mounts: [{ name: 'in', path: '/in', writable: false }, { name: 'out', path: '/out', writable: true }],
      outputs: [{ name: 'result', mount: 'out', required: true }],
      xnat: [{
        name: 'crash-copy-session', contexts: ['xnat:imageSessionData'],
        'external-inputs': [{ name: 'session', type: 'Session', required: true }],
        'derived-inputs': [{ name: 'src', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'SRC'",
          'provides-files-for-command-mount': 'in' }],
        'output-handlers': [{ name: 'r', 'accepts-command-output': 'result', 'as-a-child-of': 'session', type: 'Resource', label: 'COPIED' }],
      }],
    });
    const { id } = await api1<{ id: number }>('POST', `/xapi/wrappers/${wrapperId}/root/session/launch`,
      { session: `/archive/experiments/${session.id}` });
    await waitUntil(s1, async () => s1.output().includes('paused at staging'), 'the pause in staging');
    const staging = await api1<Container>('GET', `/xapi/containers/${id}`);
    assert.equal(staging.status, 'Staging');
    const buildRoot = dirname(staging.mounts.find((m) => m.name === 'out')!['xnat-host-path']);
    const copy = join(buildRoot, 'archive-copies', '1-in');
    assert.deepEqual((await readdir(copy)).sort(), ['a.txt', 'b.txt', 'c.txt'], 'the input was copied before the pause');
    await sigkill(s1);
    // What a crash in the middle of copying leaves: a file not copied yet, and one the input does not hold.
    await unlink(join(copy, 'b.txt'));
    await writeFile(join(copy, 'stray.txt'), 'stray\n');

    const s2 = await startServe(data, env);
    servers.push(s2);
    const api2 = jsonApi(() => s2.url, auth);
    const last: { run?: Container } = {};
    await waitUntil(s2, async () => {
      last.run = await api2<Container>('GET', `/xapi/containers/${id}`);
      return /^(Complete|Failed|Killed)/.test(last.run.status);
    }, 'the run to end after the restart');
    assert.equal(last.run?.status, 'Complete', JSON.stringify(last.run?.history));
    const file = async (name: string): Promise<string> =>
      (await fetch(`${s2.url}/data/experiments/${session.id}/resources/COPIED/files/${name}`, { headers: auth })).text();
    assert.equal(await file('listing.txt'), '.\n./a.txt\n./b.txt\n./c.txt\n', 'exactly the input\'s files');
    assert.equal(await file('all.txt'), 'a.txt\nb.txt\nc.txt\n');
    await waitUntil(s2, async () => !existsSync(copy), 'the copy to go with the clean-up');
  } finally {
    for (const s of servers) await sigkill(s);
    await removeInstanceContainers(data).catch(() => undefined);
    dropDataDirSchemas(data);
    await rm(dir, { recursive: true, force: true });
  }
});
