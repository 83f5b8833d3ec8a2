import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DirectorySink, finalizeOutputs, type FinalizeArgs, type OutputSink, type ResolvedOutput } from './index.ts';
import { withTempDir } from '../../../test/helpers/temp.ts';

const SESSION = '/archive/experiments/XNAT_E00001';

function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir('xcs-finalize-', fn);
}

async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body);
  }
}

/** Every file under `dir`, relative, sorted, without the sink's key files. */
async function tree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory() && e.name !== '.xcs-commit.json')
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
    .sort();
}

interface Setup {
  mountDir: string;
  sink: DirectorySink;
  args: (outputs: ResolvedOutput[], extra?: Partial<FinalizeArgs>) => FinalizeArgs;
}

async function setup(dir: string): Promise<Setup> {
  const mountDir = join(dir, 'build', 'out');
  await mkdir(mountDir, { recursive: true });
  const sink = new DirectorySink(join(dir, 'archive'));
  await sink.ensureObject(SESSION);
  return {
    mountDir,
    sink,
    args: (outputs, extra = {}) => ({
      runId: 'run-1',
      outputs,
      mounts: [{ name: 'out', writable: true, 'container-path': '/output', 'xnat-host-path': mountDir }],
      inputValues: { session: SESSION },
      user: 'alice',
      sink,
      ...extra,
    }),
  };
}

function resource(handler: string, more: Partial<ResolvedOutput> = {}): ResolvedOutput {
  return { name: `${handler}-out:${handler}`, 'from-output-handler': handler, type: 'Resource', mount: 'out', 'handled-by': 'session', ...more };
}

test('a directory output becomes one resource with its tree; blank label = handler name; staging removed', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'nifti/a.nii': 'AAAA', 'nifti/sub/b.json': '{}', 'nifti/.hidden': 'h', 'other.txt': 'x' });
    const r = await finalizeOutputs(s.args([resource('nifti-resource', { path: 'nifti', label: '', format: 'NIFTI', required: true })]));
    assert.equal(r.status, 'complete', r.message);
    assert.deepEqual(r.created.map((c) => [c.uri, c.files, c.bytes, c.created]), [
      [`${SESSION}/resources/nifti-resource`, 3, 7, true],
    ]);
    const resDir = s.sink.dirOf(`${SESSION}/resources/nifti-resource`);
    assert.deepEqual(await tree(resDir), ['.hidden', 'a.nii', 'sub/b.json']);
    assert.equal(await readFile(join(resDir, 'a.nii'), 'utf8'), 'AAAA');
    assert.deepEqual(await readdir(s.sink.stagingRoot()), []);
    // Copies, not the mount's inodes: later writes to the build dir do not reach the archive.
    assert.notEqual((await stat(join(resDir, 'a.nii'))).ino, (await stat(join(s.mountDir, 'nifti/a.nii'))).ino);
  }));

test('glob is honoured: * stays in one directory, ** crosses them, dot files match', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'a.nii': '1', 'b.json': '2', '.c.nii': '3', 'deep/d.nii': '4', 'deep/e.txt': '5' });
    const r = await finalizeOutputs(s.args([
      resource('top', { glob: '*.nii' }),
      resource('all', { glob: '**/*.nii' }),
      resource('file', { path: 'deep/e.txt' }),
    ]));
    assert.equal(r.status, 'complete', r.message);
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/resources/top`)), ['.c.nii', 'a.nii']);
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/resources/all`)), ['.c.nii', 'a.nii', 'deep/d.nii']);
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/resources/file`)), ['e.txt']);
  }));

test('a missing required output fails the run naming output, path and glob, and commits nothing at all', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'ok/a.txt': 'a', 'res/x.txt': 'x' });
    const r = await finalizeOutputs(s.args([
      resource('good', { path: 'ok', required: true }),
      resource('nothing', { path: 'results', required: true }),
      resource('unmatched', { path: 'res', glob: '*.nii', required: true }),
    ]));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.created, []);
    assert.deepEqual(r.failures.map((f) => [f.output, f.code, f.required]), [
      ['nothing-out:nothing', 'output-missing', true],
      ['unmatched-out:unmatched', 'output-missing', true],
    ]);
    assert.match(r.failures[0].message, /"nothing-out:nothing".*path "results"/);
    assert.match(r.failures[1].message, /"unmatched-out:unmatched".*glob matched no file.*path "res" with glob "\*\.nii"/);
    assert.match(r.message, /^Failed to upload required outputs\.\n/);
    assert.deepEqual(await tree(s.sink.dirOf(SESSION)), []);
  }));

test('a missing optional output is recorded and skipped; the run completes', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'ok/a.txt': 'a' });
    const r = await finalizeOutputs(s.args([resource('good', { path: 'ok' }), resource('maybe', { path: 'qc' })]));
    assert.equal(r.status, 'complete');
    assert.equal(r.message, '');
    assert.deepEqual(r.created.map((c) => c.output), ['good-out:good']);
    assert.deepEqual(r.failures.map((f) => [f.output, f.code, f.required]), [['maybe-out:maybe', 'output-missing', false]]);
  }));

test('absolute, ".." and link-escaping paths are refused as unsafe', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(dir, { 'secret/passwd': 'root:x' });
    await symlink(join(dir, 'secret'), join(s.mountDir, 'escape'));
    const r = await finalizeOutputs(s.args([
      resource('abs', { path: '/etc', required: true }),
      resource('up', { path: '../../secret', required: true }),
      resource('link', { path: 'escape', required: true }),
    ]));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.failures.map((f) => f.code), ['unsafe-path', 'unsafe-path', 'unsafe-path']);
    assert.deepEqual(await tree(s.sink.root), []);
  }));

test('links inside the tree: in-mount files are copied, outside/dangling/directory links and FIFOs skipped', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(dir, { 'secret/passwd': 'root:x' });
    await put(s.mountDir, { 'res/real.txt': 'REAL', 'shared/inmount.txt': 'IN' });
    await symlink(join(dir, 'secret/passwd'), join(s.mountDir, 'res/outside'));
    await symlink('../shared/inmount.txt', join(s.mountDir, 'res/inside'));
    await symlink('nowhere', join(s.mountDir, 'res/dangling'));
    await symlink('../shared', join(s.mountDir, 'res/dirlink'));
    assert.equal(spawnSync('mkfifo', [join(s.mountDir, 'res/pipe')]).status, 0);
    const r = await finalizeOutputs(s.args([resource('res', { path: 'res', required: true })]));
    assert.equal(r.status, 'complete', r.message);
    const resDir = s.sink.dirOf(`${SESSION}/resources/res`);
    assert.deepEqual(await tree(resDir), ['inside', 'real.txt']);
    const inside = join(resDir, 'inside');
    assert.equal(await readFile(inside, 'utf8'), 'IN');
    assert.ok((await stat(inside)).isFile());
    assert.deepEqual(r.warnings.map((w) => [w.path, w.code]).sort(), [
      ['dangling', 'link-skipped'], ['dirlink', 'link-skipped'], ['outside', 'link-skipped'], ['pipe', 'special-file-skipped'],
    ]);
    assert.match(r.warnings.find((w) => w.path === 'outside')!.message, /outside the output directory/);
  }));

test('an assessor from its XML, with a chained resource committed into it (listed before its parent)', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'assessor/qc.xml': '<xnat:QCAssessment ID="QC_1" label="qc"/>', 'files/report.pdf': 'pdf' });
    const child = resource('qc-files', { path: 'files', 'handled-by': 'qc-assessor', required: true });
    const parent: ResolvedOutput = { name: 'qc:qc-assessor', 'from-output-handler': 'qc-assessor', type: 'Assessor', mount: 'out', path: 'assessor', 'handled-by': 'session', required: true };
    const r = await finalizeOutputs(s.args([child, parent]));
    assert.equal(r.status, 'complete', r.message);
    assert.deepEqual(r.created.map((c) => [c.output, c.uri]), [
      ['qc:qc-assessor', `${SESSION}/assessors/QC_1`],
      ['qc-files-out:qc-files', `${SESSION}/assessors/QC_1/resources/qc-files`],
    ]);
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/assessors/QC_1`)), ['QC_1.xml', 'resources/qc-files/report.pdf']);
  }));

test('an assessor needs exactly one XML file (XNAT\'s message); its chained child fails with it', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'two/a.xml': '<a/>', 'two/b.xml': '<b/>', 'none/x.txt': 'x' });
    const r = await finalizeOutputs(s.args([
      { name: 'a:two', 'from-output-handler': 'two', type: 'Assessor', mount: 'out', path: 'two', 'handled-by': 'session', required: true },
      { name: 'b:none', 'from-output-handler': 'none', type: 'Scan', mount: 'out', path: 'none', 'handled-by': 'session' },
      resource('under-none', { 'handled-by': 'none', required: true }),
    ]));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.failures.map((f) => [f.output, f.code]), [
      ['a:two', 'bad-document'], ['b:none', 'bad-document'], ['under-none-out:under-none', 'parent-missing'],
    ]);
    assert.equal(r.failures[0].message, 'Expecting precisely one xml file to upload for Assessor; found [a.xml, b.xml]');
    assert.equal(r.failures[1].message, 'Expecting precisely one xml file to upload for Scan; found [x.txt]');
  }));

test('handled-by loops and unknown parents fail with their own codes', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'a.txt': 'a' });
    const r = await finalizeOutputs(s.args([
      resource('x', { 'handled-by': 'y', required: true }),
      resource('y', { 'handled-by': 'x', required: true }),
      resource('z', { 'handled-by': 'no-such-input', required: true }),
    ]));
    assert.deepEqual(r.failures.map((f) => [f.output, f.code]), [
      ['x-out:x', 'handler-cycle'], ['y-out:y', 'handler-cycle'], ['z-out:z', 'parent-missing'],
    ]);
    assert.equal(r.failures[2].message, 'Cannot upload output "z-out:z". Could not instantiate object from input "no-such-input".');
  }));

test('a user who cannot edit the parent gets XNAT\'s permission message and nothing is written', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    const sink = new DirectorySink(s.sink.root, { canEdit: (user) => user !== 'bob' });
    await put(s.mountDir, { 'a.txt': 'a' });
    const r = await finalizeOutputs(s.args([resource('res', { required: true })], { sink, user: 'bob' }));
    assert.equal(r.status, 'failed');
    assert.equal(r.failures[0].code, 'permission-denied');
    assert.equal(r.failures[0].message, `User does not have permission to add resources to item with URI ${SESSION}.`);
    assert.deepEqual(await tree(s.sink.dirOf(SESSION)), []);
  }));

test('outputs via a wrapup come from the wrapup\'s output directory; a missing one is named', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    const wrapupDir = join(dir, 'build', 'wrapup-out');
    await put(wrapupDir, { 'converted.nii': 'N' });
    await put(s.mountDir, { 'raw.dat': 'R' });
    const o = resource('conv', { 'via-wrapup-command': 'xnat/wrapup:1', required: true });
    const missing = await finalizeOutputs(s.args([o]));
    assert.equal(missing.failures[0].code, 'wrapup-missing');
    assert.match(missing.failures[0].message, /must be processed via wrapup container "xnat\/wrapup:1" which was not found/);
    const r = await finalizeOutputs(s.args([o], { wrapupOutputDirs: { [o.name]: wrapupDir } }));
    assert.equal(r.status, 'complete', r.message);
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/resources/conv`)), ['converted.nii']);
  }));

test('a full disk while staging fails the run as disk-full and leaves nothing half written', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`res/f${i}.bin`] = 'x'.repeat(1000);
    await put(s.mountDir, { ...files, 'first/a.txt': 'a' });
    let copies = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    // The real ENOSPC cannot be produced on demand here: write half the file, then fail like the kernel.
    // Copies still in flight finish only after the failure, as slow writes would.
    const fullDisk = async (src: string, dest: string): Promise<void> => {
      const n = ++copies;
      if (n === 11) {
        await writeFile(dest, (await readFile(src)).subarray(0, 100));
        setImmediate(release);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
      if (n > 11) await gate;
      await writeFile(dest, await readFile(src));
    };
    const r = await finalizeOutputs(s.args([resource('first', { path: 'first', required: true }), resource('res', { path: 'res' })], { copyFile: fullDisk }));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.failures.map((f) => [f.output, f.code, f.required]), [['res-out:res', 'disk-full', true]]);
    assert.match(r.failures[0].message, /disk is full/);
    assert.deepEqual(r.created, []);
    assert.deepEqual(await tree(s.sink.root), []);
    assert.deepEqual(await readdir(s.sink.stagingRoot()), []);
  }));

test('a crash after the first commit: finalizing again creates each output exactly once', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'assessor/qc.xml': '<qc ID="QC_9"/>', 'files/r.txt': 'r', 'log/l.txt': 'l' });
    const outputs: ResolvedOutput[] = [
      { name: 'qc:qc', 'from-output-handler': 'qc', type: 'Assessor', mount: 'out', path: 'assessor', 'handled-by': 'session', required: true },
      resource('qc-files', { path: 'files', 'handled-by': 'qc', required: true }),
      resource('log', { path: 'log', required: true }),
    ];
    let commits = 0;
    const crashing: OutputSink = {
      stagingRoot: () => s.sink.stagingRoot(),
      canEdit: (u, uri) => s.sink.canEdit(u, uri),
      createItem: async (...a) => { if (commits++ >= 1) throw new Error('archive went away'); return s.sink.createItem(...a); },
      commitResource: async (...a) => { if (commits++ >= 1) throw new Error('archive went away'); return s.sink.commitResource(...a); },
    };
    const first = await finalizeOutputs(s.args(outputs, { sink: crashing }));
    assert.equal(first.status, 'failed');
    assert.deepEqual(first.created.map((c) => c.output), ['qc:qc']);
    assert.deepEqual(first.failures.map((f) => [f.output, f.code]), [['qc-files-out:qc-files', 'upload-failed']]);
    assert.match(first.failures[0].hint, /again/);

    const second = await finalizeOutputs(s.args(outputs));
    assert.equal(second.status, 'complete', second.message);
    assert.deepEqual(second.created.map((c) => [c.output, c.created]), [['qc:qc', false], ['qc-files-out:qc-files', true], ['log-out:log', true]]);
    const third = await finalizeOutputs(s.args(outputs));
    assert.deepEqual(third.created.map((c) => c.created), [false, false, false]);
    assert.deepEqual(await tree(s.sink.dirOf(SESSION)), [
      'assessors/QC_9/QC_9.xml', 'assessors/QC_9/resources/qc-files/r.txt', 'resources/log/l.txt',
    ]);
  }));

test('staging "link" hard-links on the same filesystem; the default copies', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'a.bin': 'abc' });
    await finalizeOutputs(s.args([resource('linked')], { staging: 'link' }));
    const linked = await stat(join(s.sink.dirOf(`${SESSION}/resources/linked`), 'a.bin'));
    assert.equal(linked.ino, (await stat(join(s.mountDir, 'a.bin'))).ino);
  }));

test('names the archive cannot store are refused before anything is committed', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await put(s.mountDir, { 'ok/a.txt': 'a', 'odd/back\\slash.txt': 'b', 'odd/new\nline.txt': 'c', 'odd/fine.txt': 'd' });
    const r = await finalizeOutputs(s.args([
      resource('good', { path: 'ok', required: true }),
      resource('odd', { path: 'odd', required: true }),
      resource('label', { path: 'ok', label: '../escape', required: true }),
    ]));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.failures.map((f) => [f.output, f.code]), [['odd-out:odd', 'bad-name'], ['label-out:label', 'bad-name']]);
    assert.match(r.failures[0].message, /"back\\\\slash\.txt", "new\\nline\.txt"/);
    assert.match(r.failures[1].message, /resource label "\.\.\/escape"/);
    assert.deepEqual(await tree(s.sink.dirOf(SESSION)), []);
  }));

test('an empty directory without a glob is an empty resource (XNAT uploads the path itself); a path link inside the mount is followed', () =>
  withTmp(async (dir) => {
    const s = await setup(dir);
    await mkdir(join(s.mountDir, 'empty'), { recursive: true });
    await put(s.mountDir, { 'real/x.txt': 'x' });
    await symlink('real', join(s.mountDir, 'alias'));
    const r = await finalizeOutputs(s.args([resource('empty', { path: 'empty', required: true }), resource('alias', { path: 'alias', required: true })]));
    assert.equal(r.status, 'complete', r.message);
    assert.deepEqual(r.created.map((c) => [c.output, c.files]), [['empty-out:empty', 0], ['alias-out:alias', 1]]);
    assert.ok((await stat(s.sink.dirOf(`${SESSION}/resources/empty`))).isDirectory());
    assert.deepEqual(await tree(s.sink.dirOf(`${SESSION}/resources/alias`)), ['x.txt']);
  }));
