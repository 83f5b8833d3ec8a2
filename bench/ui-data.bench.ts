/**
 * The console's data page on a big project: a project of 10,000 sessions, opened at its sessions tab in Debian's
 * chromium (playwright-core), timed from navigation to the first session row on screen (target ≤ 1 s, median of 5).
 * The baseline, measured in the same run, is the plain JSON fetch of the whole listing
 * (`GET /data/projects/P/experiments?format=json`, all 10,000 rows) from Node — what a page without server paging
 * would have to download before drawing anything.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { median, timeRuns, type Bench, type BenchResult } from './lib.ts';
import { startServer } from '../src/app/server.ts';

const SESSIONS = 10_000;
const RUNS = 5;
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

async function firstRender(): Promise<BenchResult> {
  if (!existsSync(join(repoRoot, 'dist', 'web', 'index.html'))) execFileSync('bash', ['scripts/build.sh'], { cwd: repoRoot, stdio: 'inherit' });
  const dir = await mkdtemp(join(tmpdir(), 'xcs-bench-ui-'));
  process.env.XCS_ADMIN_PASSWORD = 'bench-pw';
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  delete process.env.XCS_ADMIN_PASSWORD;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const a = s.opened.archive;
    await a.createProject({ id: 'BIG' }, 'admin');
    const subjects = [];
    for (let i = 0; i < 100; i++) subjects.push(await a.createSubject('BIG', { label: `S${String(i).padStart(3, '0')}` }, 'admin'));
    for (let i = 0; i < SESSIONS; i++) {
      await a.createSession(subjects[i % subjects.length].id, { label: `MR${String(i).padStart(5, '0')}`, xsiType: 'xnat:mrSessionData' }, 'admin');
    }
    const headers = { authorization: `Basic ${Buffer.from('admin:bench-pw').toString('base64')}` };
    const listing = `${s.url}/data/projects/BIG/experiments?format=json`;
    let rows = 0;
    await fetch(listing, { headers }).then((r) => r.json());
    const baseline = await timeRuns(RUNS, async () => {
      rows = ((await (await fetch(listing, { headers })).json()) as { ResultSet: { Result: unknown[] } }).ResultSet.Result.length;
    });
    if (rows !== SESSIONS) throw new Error(`the listing has ${rows} rows, not ${SESSIONS}`);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${s.url}/`);
    await page.getByLabel('Login').fill('admin');
    await page.getByLabel('Password').fill('bench-pw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    const open = async (): Promise<void> => {
      await page.goto(`${s.url}/ui/data/projects/BIG?tab=experiments`);
      await page.getByTestId('table-experiments').getByRole('link', { name: 'MR00000', exact: true }).waitFor();
      await page.getByTestId('experiments-count').getByText(`${SESSIONS} sessions`).waitFor();
    };
    await open(); // warm: the browser's cache of the app's files, the server's first queries
    const ours = await timeRuns(RUNS, open);
    const domRows = await page.locator('[data-testid="table-experiments"] [role="row"]').count();
    process.stderr.write(`ui-data: ${domRows} rows in the DOM for ${SESSIONS} sessions\n`);
    const result = median(ours);
    return {
      name: `first render of /ui/data, project of ${SESSIONS} sessions (median of ${RUNS})`, unit: 'ms',
      baseline: median(baseline), baselineLabel: 'plain JSON fetch of the whole listing', ours: result, better: 'lower',
      target: '<= 1000 ms', met: result <= 1000,
    };
  } finally {
    await browser.close();
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const bench: Bench = {
  name: 'console data page',
  run: async () => [await firstRender()],
};
export default bench;
