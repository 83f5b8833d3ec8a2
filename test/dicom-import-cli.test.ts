// `xcs import-dicom` as a user runs it: a real process on a real data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { openEmbeddedArchive } from '../src/archive/open.ts';

test('xcs import-dicom creates the project, imports, reports skipped files, and is idempotent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-dicom-cli-'));
  try {
    const src = join(dir, 'src');
    await generateDicomSet(src, { patients: 2, seriesPerStudy: 2, slices: 2, seed: 'cli' });
    await writeFile(join(src, 'notes.txt'), 'not DICOM');
    const data = join(dir, 'data');
    const env = { ...process.env, XCS_ADMIN_PASSWORD: 'pw' };
    const run = () => spawnSync('bin/xcs', ['import-dicom', 'CLI1', src, '--data', data], { encoding: 'utf8', env });
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /created project CLI1/);
    assert.match(r.stderr, /reading 9 files/);
    assert.match(r.stdout, /created SUBJ001\/SUBJ001_ACC00101 \(XNAT_E\d+, xnat:mrSessionData\): 1 T1w_MPRAGE \[2\], 2 T2w_SPACE \[2\]/);
    assert.match(r.stdout, /skipped notes\.txt: not DICOM/);
    assert.match(r.stdout, /imported 8 files into project CLI1: 2 subjects, 2 sessions, 4 scans \(new: 2 subjects, 2 sessions, 4 scans\); 1 files skipped/);
    const again = run();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /\(new: 0 subjects, 0 sessions, 0 scans\)/);
    const opened = await openEmbeddedArchive(data);
    try {
      assert.equal((await opened.archive.listSessions({ project: 'CLI1' })).length, 2);
    } finally {
      await opened.close();
    }
    const bad = spawnSync('bin/xcs', ['import-dicom', 'CLI1', join(dir, 'missing'), '--data', data], { encoding: 'utf8', env });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /cannot read .*missing/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
