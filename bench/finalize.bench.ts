/**
 * Finalizing 5,000 files / 1 GB of output as one Resource into a fresh embedded archive, against `cp -r`
 * of the same tree in the same run. Median of 3; the disk is synced between runs so that one run's
 * write-back does not land in the next one's time.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { archiveSink, finalizeOutputs } from '../src/runtime/finalize/index.ts';
import { median, timeRuns, type Bench } from './lib.ts';

const FILES = 5000;
const TOTAL = 1024 ** 3;
const MIN = 20 * 1024;
const MAX = 400 * 1024;
const RUNS = 3;
const STAGINGS = ['copy', 'link'] as const;
type Staging = (typeof STAGINGS)[number];

/** Sizes spread evenly between MIN and MAX, scaled so that they add up to TOTAL. */
function sizes(): number[] {
  const raw = Array.from({ length: FILES }, (_, i) => MIN + ((MAX - MIN) * ((i * 7919) % FILES)) / (FILES - 1));
  const scale = TOTAL / raw.reduce((a, b) => a + b, 0);
  const out = raw.map((s) => Math.floor(s * scale));
  out[0] += TOTAL - out.reduce((a, b) => a + b, 0);
  return out;
}

async function generate(dir: string): Promise<void> {
  const pool = randomBytes(MAX * 2);
  const all = sizes();
  for (let d = 0; d < 50; d++) await mkdir(join(dir, `d${d}`), { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const i = next++;
      const offset = (i * 4099) % MAX;
      await writeFile(join(dir, `d${i % 50}`, `f${i}.dat`), pool.subarray(offset, offset + all[i]));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

const sync = (): void => void execFileSync('sync');

const bench: Bench = {
  name: 'finalize',
  async run() {
    const base = await mkdtemp(join(tmpdir(), 'xcs-bench-finalize-'));
    try {
      const out = join(base, 'build', 'out');
      await generate(join(out, 'results'));
      sync();
      const copyTimes: number[] = [];
      const ourTimes: Record<Staging, number[]> = { copy: [], link: [] };
      for (let i = 0; i < RUNS; i++) {
        const dest = join(base, `cp-${i}`);
        copyTimes.push(...(await timeRuns(1, () => execFileSync('cp', ['-r', join(out, 'results'), dest]))));
        sync();
        await rm(dest, { recursive: true, force: true });

        for (const staging of STAGINGS) ourTimes[staging].push(await finalizeOnce(base, out, `${staging}-${i}`, staging));
      }
      const cp = median(copyTimes);
      process.stderr.write(`finalize: cp -r ${copyTimes.map((t) => t.toFixed(0)).join('/')} ms; ` +
        STAGINGS.map((s) => `${s} ${ourTimes[s].map((t) => t.toFixed(0)).join('/')} ms`).join('; ') + '\n');
      return STAGINGS.map((staging) => {
        const ours = median(ourTimes[staging]);
        return {
          name: `finalize ${FILES} files / 1 GB into the embedded archive, staging=${staging} (median of ${RUNS})`,
          unit: 'ms', baseline: cp, baselineLabel: 'cp -r', ours, better: 'lower' as const,
          target: 'ratio <= 1.3', met: ours / cp <= 1.3,
        };
      });
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  },
};

/** One timed finalization into a fresh archive (opening it and creating the session are not timed). */
async function finalizeOnce(base: string, out: string, tag: string, staging: Staging): Promise<number> {
  const opened = await openEmbeddedArchive(join(base, `data-${tag}`), { admin: { login: 'admin', password: 'pw' } });
  const { archive } = opened;
  await archive.createProject({ id: 'P' }, 'admin');
  const subject = await archive.createSubject('P', { label: 'S' }, 'admin');
  const session = await archive.createSession(subject.id, { label: 'MR' }, 'admin');
  const sink = archiveSink(archive, { canEdit: async () => true });
  sync();
  const [ms] = await timeRuns(1, async () => {
    const r = await finalizeOutputs({
      runId: `bench-${tag}`, user: 'admin', sink, inputValues: { session: session.archiveUri }, staging,
      mounts: [{ name: 'out', 'xnat-host-path': out }],
      outputs: [{ name: 'results:res', type: 'Resource', mount: 'out', path: 'results', 'handled-by': 'session', required: true }],
    });
    if (r.status !== 'complete' || r.created[0].files !== FILES) throw new Error(`finalize failed: ${r.message}`);
  });
  sync();
  await opened.close();
  await rm(join(base, `data-${tag}`), { recursive: true, force: true });
  return ms;
}

export default bench;
