// A finalization killed outright (SIGKILL, no cleanup runs) after its first commit, then finalized again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { archiveSink, finalizeOutputs, type FinalizeArgs, type ResolvedOutput } from '../src/runtime/finalize/index.ts';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));

const OUTPUTS: ResolvedOutput[] = [
  { name: 'a:first', 'from-output-handler': 'first', type: 'Resource', mount: 'out', path: 'a', 'handled-by': 'session', required: true },
  { name: 'b:second', 'from-output-handler': 'second', type: 'Resource', mount: 'out', path: 'b', 'handled-by': 'session', required: true },
  { name: 'c:third', 'from-output-handler': 'third', type: 'Resource', mount: 'out', path: 'c', 'handled-by': 'session', required: true },
];

// The child finalizes with a sink that kills its own process as soon as the first commit returned.
const CHILD = `
import { openEmbeddedArchive } from ${JSON.stringify(join(repo, 'src/archive/open.ts'))};
import { archiveSink, finalizeOutputs } from ${JSON.stringify(join(repo, 'src/runtime/finalize/index.ts'))};
const [dataDir, argsJson] = process.argv.slice(2);
const { archive } = await openEmbeddedArchive(dataDir);
const real = archiveSink(archive, { canEdit: async () => true });
const sink = { ...real, commitResource: async (...a) => { const r = await real.commitResource(...a); process.kill(process.pid, 'SIGKILL'); return r; } };
await finalizeOutputs({ ...JSON.parse(argsJson), sink });
`;

test('killed after the first commit: the leftover staging is cleared and a retry commits the rest once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-finalize-crash-'));
  try {
    const dataDir = join(dir, 'data');
    const mountDir = join(dir, 'build', 'out');
    for (const [rel, body] of [['a/1.txt', 'one'], ['b/2.txt', 'two'], ['c/sub/3.txt', 'three']]) {
      await mkdir(dirname(join(mountDir, rel)), { recursive: true });
      await writeFile(join(mountDir, rel), body);
    }
    let opened = await openEmbeddedArchive(dataDir, { admin: { login: 'admin', password: 'pw' } });
    await opened.archive.createProject({ id: 'P' }, 'admin');
    const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
    const session = await opened.archive.createSession(subject.id, { label: 'MR' }, 'admin');
    await opened.close();

    const args: Omit<FinalizeArgs, 'sink'> = {
      runId: 'run-crash', outputs: OUTPUTS, user: 'admin', inputValues: { session: session.archiveUri },
      mounts: [{ name: 'out', 'xnat-host-path': mountDir }],
    };
    const childFile = join(dir, 'child.mts');
    await writeFile(childFile, CHILD);
    const child = spawnSync(process.execPath, ['--import', 'tsx', childFile, dataDir, JSON.stringify(args)], { cwd: repo, encoding: 'utf8' });
    assert.equal(child.signal, 'SIGKILL', child.stderr);

    opened = await openEmbeddedArchive(dataDir);
    try {
      const { archive } = opened;
      const sessionRef = { kind: 'session' as const, session: session.id };
      assert.deepEqual((await archive.listResources(sessionRef)).map((r) => r.label), ['first']);
      // The killed process could not clean up after itself.
      assert.ok((await readdir(archive.stagingDir())).includes('finalize-run-crash'));

      const r = await finalizeOutputs({ ...args, sink: archiveSink(archive, { canEdit: async () => true }) });
      assert.equal(r.status, 'complete', r.message);
      assert.deepEqual(r.created.map((c) => [c.output, c.created]), [['a:first', false], ['b:second', true], ['c:third', true]]);
      const resources = await archive.listResources(sessionRef);
      assert.deepEqual(resources.map((x) => [x.label, x.fileCount]).sort(), [['first', 1], ['second', 1], ['third', 1]]);
      assert.deepEqual((await archive.listFiles(resources.find((x) => x.label === 'third')!.id)).map((f) => f.name), ['sub/3.txt']);
      assert.ok(!(await readdir(archive.stagingDir())).includes('finalize-run-crash'));
    } finally {
      await opened.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
