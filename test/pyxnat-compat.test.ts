// Debian's pyxnat against a real XCS server: create, upload, list, attributes, download with checksums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from './archive-helpers.ts';

const script = fileURLToPath(new URL('./pyxnat/compat.py', import.meta.url));

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('close', (code) => resolve({ code, out }));
  });
}

test('pyxnat creates, uploads, lists, sets attributes and downloads through XCS', async () => {
  const server = await startTestServer();
  const work = await mkdtemp(join(tmpdir(), 'xcs-pyxnat-'));
  try {
    const { code, out } = await run('/usr/bin/python3', [script, server.url, 'admin', server.adminPassword, work]);
    assert.equal(code, 0, out);
    for (const step of ['project.create', 'subject.create', 'session.create', 'session.datatype', 'project.repr search', 'search.projects.all',
      'project.accessibility', 'scan.create',
      'resource.create', 'file.put', 'file.put.duplicate-refused', 'session.attrs', 'scan.attrs.type', 'file.get md5',
      'resource.get md5 img2.dcm', 'scans.download md5',
      'item.subject experiments/experiment', 'item.subject-experiments batch-launch', 'item.experiment scans/scan', 'item.scan file',
      'item.project', 'file.meta', 'file.delete', 'session.delete']) {
      assert.match(out, new RegExp(`^OK ${step.replace(/[.]/g, '\\.')}`, 'm'), `step ${step} missing:\n${out}`);
    }
    assert.match(out, /ALL DONE/);
    // What pyxnat did is in the archive: the session was deleted, the project and subject remain.
    const projects = await server.opened.archive.listProjects();
    assert.deepEqual(projects.map((p) => p.id), ['PYX']);
    assert.equal((await server.opened.archive.listSessions({ project: 'PYX' })).length, 0);
  } finally {
    await rm(work, { recursive: true, force: true });
    await server.stop();
  }
});
