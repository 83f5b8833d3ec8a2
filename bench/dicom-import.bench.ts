/**
 * DICOM import speed: 10,000 small generated DICOM files (10 patients × 10 series × 100 slices, 16×16)
 * imported from a directory into a fresh embedded archive, in files per second, against `cp -r` of the
 * same directory on the same disk. Median of 3 runs each.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { importDicom } from '../src/archive/dicom/import.ts';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { median, timeRuns, type Bench } from './lib.ts';

const RUNS = 3;
/** Ours must reach at least this fraction of `cp -r`'s files per second. */
const TARGET_RATIO = 0.1;

const bench: Bench = {
  name: 'dicom-import',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-dicom-'));
    try {
      const src = join(dir, 'src');
      const manifest = await generateDicomSet(src, { patients: 10, seriesPerStudy: 10, slices: 100, seed: 'bench' });
      const n = manifest.files.length;
      let copyRun = 0;
      const cp = await timeRuns(RUNS, () => {
        const r = spawnSync('cp', ['-r', src, join(dir, `copy-${copyRun++}`)]);
        if (r.status !== 0) throw new Error(`cp -r failed: ${r.stderr.toString()}`);
      });
      let importRun = 0;
      const ours = await timeRuns(RUNS, async () => {
        const opened = await openEmbeddedArchive(join(dir, `data-${importRun++}`), { admin: { login: 'admin', password: 'bench' } });
        try {
          await opened.archive.createProject({ id: 'BENCH' }, 'admin');
          const report = await importDicom(opened.archive, { project: 'BENCH', source: src, user: 'admin' });
          if (report.files !== n) throw new Error(`imported ${report.files} of ${n} files`);
        } finally {
          await opened.close();
        }
      });
      const baseline = n / (median(cp) / 1000);
      const oursRate = n / (median(ours) / 1000);
      return [{
        name: `import ${n} DICOM files (directory → embedded archive), median of ${RUNS}`,
        unit: 'files/s',
        baseline,
        baselineLabel: 'cp -r',
        ours: oursRate,
        better: 'higher',
        target: `ratio >= ${TARGET_RATIO}`,
        met: oursRate / baseline >= TARGET_RATIO,
      }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
