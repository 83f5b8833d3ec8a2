// The web console's launch form on a Slurm site, in a real browser (Debian's chromium through playwright-core)
// against a real server whose backend is the one-machine cluster of scripts/slurm-harness.sh: the partitions the
// site lets users choose are a "Where it runs" select (the site's own first); a choice the site stopped allowing
// after the form was loaded is refused next to that select, naming the allowed ones; an allowed one launches a job
// in that partition (scontrol shows it). Any console error the test did not cause on purpose fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type ConsoleMessage } from 'playwright-core';
import { startServer, type RunningServer } from '../src/app/server.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { requestJson } from './helpers/http.ts';
import { ensureSlurmHarness, slurmHarnessAbsent } from './helpers/slurm.ts';
import { seedWebFixture, WEB_PASSWORD, WEB_PROJECT, type WebFixture } from './helpers/web-fixture.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ADMIN_PASSWORD = 'admin-pw-slurm';
const absent = slurmHarnessAbsent();
const run = promisify(execFile);

let dir: string;
let server: RunningServer;
let fx: WebFixture;
let browser: Browser;
const admin = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` };
const api = <T>(method: string, path: string, body?: unknown): Promise<T> => requestJson<T>(server.url, admin, method, path, body);

function slurmSettings(partitions: string[]): Record<string, unknown> {
  return { backend: 'slurm', host: 'unix:///var/run/docker.sock', 'auto-cleanup': true, 'slurm-job-root': join(dir, 'jobs'),
    'slurm-partition': 'xcs', 'slurm-runner-local': true, 'slurm-user-settable': { partition: partitions } };
}

async function start(): Promise<RunningServer> {
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = ADMIN_PASSWORD;
  try {
    return await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data') });
  } finally {
    delete process.env.XCS_ADMIN_PASSWORD;
  }
}

before(async () => {
  if (absent !== null) return;
  await Promise.all([ensureDockerHarness(), ensureSlurmHarness(), promisify(execFile)('bash', ['scripts/build.sh'], { cwd: repoRoot })]);
  dir = await mkdtemp(join(tmpdir(), 'xcs-web-slurm-'));
  await mkdir(join(dir, 'jobs'));
  server = await start();
  await api('POST', '/xapi/docker/server', slurmSettings(['xcs', 'xcs-other']));
  // The backend takes effect at the next start.
  await server.close();
  server = await start();
  fx = await seedWebFixture(server, ADMIN_PASSWORD);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (absent !== null) return;
  await browser?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the launch form offers the partitions the site allows; a refused one is shown at its select; the chosen one runs the job', { skip: absent ?? false }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    // The launch refused on purpose (Chrome logs every non-2xx fetch).
    if (m.type() === 'error' && !(/status of 400/.test(m.text()) && /\/root\/session\/launch$/.test(m.location().url))) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(`${server.url}/`);
  await page.getByLabel('Login').fill('member');
  await page.getByLabel('Password').fill(WEB_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Launch' }).click();
  await page.getByLabel('Project').selectOption(WEB_PROJECT);
  await page.locator('[data-session="MR1"] input').check();
  await page.locator(`[data-wrapper-id="${fx.echoWrapper}"] input`).check();

  const group = page.getByRole('group', { name: 'Where it runs' });
  const partition = group.getByLabel('Slurm partition');
  await partition.waitFor();
  assert.equal(await partition.inputValue(), 'xcs', 'the site\'s partition is chosen at first');
  assert.deepEqual(await partition.locator('option').allTextContents(), ['xcs (site default)', 'xcs-other']);
  await partition.selectOption('xcs-other');

  // The site stops allowing it while the form is open: the launch is refused at the select, with the allowed ones.
  await api('POST', '/xapi/docker/server', slurmSettings(['xcs']));
  const before = (await api<unknown[]>('GET', '/xapi/containers')).length;
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.locator('[data-input="slurm-partition"] .field-error', { hasText: '"slurm-partition" must be one of "xcs"' }).waitFor();
  assert.equal(await partition.getAttribute('aria-invalid'), 'true');
  assert.equal((await api<unknown[]>('GET', '/xapi/containers')).length, before, 'a refused launch makes no run');

  // Allowed again: the run's job is submitted to the chosen partition.
  await api('POST', '/xapi/docker/server', slurmSettings(['xcs', 'xcs-other']));
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/ui\/runs\/\d+$/);
  const runId = Number(/(\d+)$/.exec(page.url())![1]);
  await page.getByTestId('run-status').getByText('Complete', { exact: true }).waitFor({ timeout: 120_000 });
  const record = await api<{ 'service-id': string | null }>('GET', `/xapi/containers/${runId}`);
  assert.match(record['service-id'] ?? '', /^\d+$/);
  const { stdout } = await run('scontrol', ['show', 'job', '-o', record['service-id'] ?? '']);
  assert.equal(/\bPartition=(\S+)/.exec(stdout)?.[1], 'xcs-other');
  await page.close();
  assert.deepEqual(errors, []);
});
