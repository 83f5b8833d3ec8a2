// Finalization into the real embedded archive (SQLite + files), from real output directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openEmbeddedArchive, type OpenedArchive } from '../src/archive/open.ts';
import {
  archiveSink, editPermission, finalizeOutputs, type FinalizeArgs, type OutputSink, type ResolvedOutput,
} from '../src/runtime/finalize/index.ts';

interface World {
  dir: string;
  opened: OpenedArchive;
  sessionUri: string;
  session: string;
  mountDir: string;
  sink: OutputSink;
  args: (outputs: ResolvedOutput[], extra?: Partial<FinalizeArgs>) => FinalizeArgs;
}

async function withWorld(fn: (w: World) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-finalize-archive-'));
  const opened = await openEmbeddedArchive(join(dir, 'data'), { admin: { login: 'admin', password: 'admin-pw' } });
  try {
    const { archive, users } = opened;
    await archive.createProject({ id: 'P1' }, 'admin');
    const subject = await archive.createSubject('P1', { label: 'S1' }, 'admin');
    const session = await archive.createSession(subject.id, { label: 'MR1' }, 'admin');
    await users.addUser({ login: 'alice', password: 'pw-alice' });
    await users.addUser({ login: 'carol', password: 'pw-carol' });
    await users.setRole('P1', 'alice', 'member');
    await users.setRole('P1', 'carol', 'collaborator');
    // The build directory sits next to the data directory, on the same disk, as in a real deployment.
    const mountDir = join(dir, 'build', 'out');
    await mkdir(mountDir, { recursive: true });
    const sink = archiveSink(archive, { canEdit: editPermission(users) });
    await fn({
      dir, opened, session: session.id, sessionUri: session.archiveUri, mountDir, sink,
      args: (outputs, extra = {}) => ({
        runId: 'run-7', outputs, user: 'alice', sink,
        mounts: [{ name: 'out', writable: true, 'container-path': '/output', 'xnat-host-path': mountDir }],
        inputValues: { session: session.archiveUri }, ...extra,
      }),
    });
  } finally {
    await opened.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body);
  }
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

const ASSESSOR_XML = '<?xml version="1.0"?>\n<xnat:QCAssessment xmlns:xnat="http://nrg.wustl.edu/xnat" ID="" label="MR1_qc"><xnat:date>2024-01-02</xnat:date></xnat:QCAssessment>';

function outputs(): ResolvedOutput[] {
  return [
    { name: 'report:qc-files', 'from-output-handler': 'qc-files', type: 'Resource', mount: 'out', path: 'report', 'handled-by': 'qc', required: true, label: 'QC_FILES', format: 'PDF', tags: ['qc'] },
    { name: 'assessor:qc', 'from-output-handler': 'qc', type: 'Assessor', mount: 'out', path: 'assessor', 'handled-by': 'session', required: true },
    { name: 'nifti:nifti', 'from-output-handler': 'nifti', type: 'Resource', mount: 'out', path: 'nifti', glob: '**/*.nii', 'handled-by': 'session', required: true, label: '', format: 'NIFTI', content: 'RAW' },
  ];
}

async function seed(w: World): Promise<void> {
  await put(w.mountDir, {
    'assessor/qc.xml': ASSESSOR_XML,
    'report/qc.pdf': 'PDF-BYTES',
    'nifti/a.nii': 'NII-A',
    'nifti/run2/b.nii': 'NII-B',
    'nifti/notes.txt': 'not selected',
  });
}

test('outputs land in the archive: resource rows, checksums, an assessor and a resource inside it', () =>
  withWorld(async (w) => {
    await seed(w);
    const r = await finalizeOutputs(w.args(outputs()));
    assert.equal(r.status, 'complete', r.message);
    const { archive } = w.opened;

    const sessionResources = await archive.listResources({ kind: 'session', session: w.session });
    assert.deepEqual(sessionResources.map((x) => [x.label, x.format, x.content, x.fileCount]), [['nifti', 'NIFTI', 'RAW', 2]]);
    const files = await archive.listFiles(sessionResources[0].id);
    assert.deepEqual(files.map((f) => [f.name, f.size, f.checksum]).sort(), [
      ['a.nii', 5, md5('NII-A')], ['run2/b.nii', 5, md5('NII-B')],
    ]);
    assert.equal(await readFile(files.find((f) => f.name === 'a.nii')!.absolutePath, 'utf8'), 'NII-A');

    const assessors = await archive.listAssessors(w.session);
    assert.equal(assessors.length, 1);
    assert.equal(assessors[0].label, 'MR1_qc');
    assert.equal(r.created.find((c) => c.output === 'assessor:qc')!.uri, `${w.sessionUri}/assessors/${assessors[0].id}`);
    const qcResources = await archive.listResources({ kind: 'assessor', assessor: assessors[0].id });
    assert.deepEqual(qcResources.map((x) => [x.label, x.format, x.tags, x.fileCount]), [['QC_FILES', 'PDF', ['qc'], 1]]);
    // Nothing is left in the staging area.
    assert.deepEqual((await readdir(archive.stagingDir())).filter((e) => e !== '.uploads'), []);
  }));

test('finalizing the same run twice creates nothing new', () =>
  withWorld(async (w) => {
    await seed(w);
    assert.equal((await finalizeOutputs(w.args(outputs()))).status, 'complete');
    const again = await finalizeOutputs(w.args(outputs()));
    assert.equal(again.status, 'complete', again.message);
    assert.deepEqual(again.created.map((c) => c.created), [false, false, false]);
    const { archive } = w.opened;
    assert.equal((await archive.listAssessors(w.session)).length, 1);
    assert.equal((await archive.listResources({ kind: 'session', session: w.session })).length, 1);
  }));

test('a crash after the first commit, then a retry: every output exactly once in the archive', () =>
  withWorld(async (w) => {
    await seed(w);
    let commits = 0;
    const crashing: OutputSink = {
      ...w.sink,
      createItem: async (...a) => { if (commits++ >= 1) throw new Error('process killed'); return w.sink.createItem(...a); },
      commitResource: async (...a) => { if (commits++ >= 1) throw new Error('process killed'); return w.sink.commitResource(...a); },
    };
    const first = await finalizeOutputs(w.args(outputs(), { sink: crashing }));
    assert.equal(first.status, 'failed');
    assert.deepEqual(first.created.map((c) => c.output), ['assessor:qc']);

    const retry = await finalizeOutputs(w.args(outputs()));
    assert.equal(retry.status, 'complete', retry.message);
    assert.deepEqual(retry.created.map((c) => [c.output, c.created]), [
      ['assessor:qc', false], ['report:qc-files', true], ['nifti:nifti', true],
    ]);
    const { archive } = w.opened;
    const assessors = await archive.listAssessors(w.session);
    assert.equal(assessors.length, 1);
    assert.equal((await archive.listResources({ kind: 'assessor', assessor: assessors[0].id })).length, 1);
    assert.equal((await archive.listResources({ kind: 'session', session: w.session })).length, 1);
  }));

test('a collaborator cannot write outputs: XNAT\'s message, and the archive is unchanged', () =>
  withWorld(async (w) => {
    await seed(w);
    const r = await finalizeOutputs(w.args(outputs(), { user: 'carol' }));
    assert.equal(r.status, 'failed');
    assert.ok(r.failures.some((f) => f.code === 'permission-denied'
      && f.message === `User does not have permission to add resources to item with URI ${w.sessionUri}.`));
    assert.deepEqual(r.created, []);
    const { archive } = w.opened;
    assert.equal((await archive.listAssessors(w.session)).length, 0);
    assert.equal((await archive.listResources({ kind: 'session', session: w.session })).length, 0);
  }));

test('a scan from its XML document, with a resource committed into the new scan', () =>
  withWorld(async (w) => {
    await put(w.mountDir, {
      'scan/scan.xml': '<xnat:MRScan xmlns:xnat="http://nrg.wustl.edu/xnat" ID="101" type="DERIVED"/>',
      'scanfiles/d.nii': 'D',
    });
    const r = await finalizeOutputs(w.args([
      { name: 'scan:scan', 'from-output-handler': 'scan', type: 'Scan', mount: 'out', path: 'scan', 'handled-by': 'session', required: true },
      { name: 'files:scan-files', 'from-output-handler': 'scan-files', type: 'Resource', mount: 'out', path: 'scanfiles', label: 'NIFTI', 'handled-by': 'scan', required: true },
    ]));
    assert.equal(r.status, 'complete', r.message);
    const { archive } = w.opened;
    const scans = await archive.listScans(w.session);
    assert.deepEqual(scans.map((s) => s.id), ['101']);
    const res = await archive.listResources({ kind: 'scan', session: w.session, scan: '101' });
    assert.deepEqual(res.map((x) => [x.label, x.fileCount]), [['NIFTI', 1]]);
    const again = await finalizeOutputs(w.args([
      { name: 'scan:scan', 'from-output-handler': 'scan', type: 'Scan', mount: 'out', path: 'scan', 'handled-by': 'session', required: true },
    ]));
    assert.deepEqual(again.created.map((c) => c.created), [false]);
  }));
