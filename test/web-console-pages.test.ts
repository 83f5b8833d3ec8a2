// The console's data, admin and dashboard pages in a real browser (Debian's chromium through playwright-core) against
// a real server, archive and Docker engine, after real runs: an admin walks the data from project to file (a download,
// an upload), imports a DICOM zip with its report, enables a wrapper for a project in the admin grid, sees a setting
// refused next to its field, reads the dashboard's charts and relaunches a failed run; a member browses the same data,
// finds no admin link, and sees the server refuse an enablement change and a relaunch; a project owner changes their
// project's enablement without seeing the site settings. Screenshots of every page are saved under
// .xcs-test/screenshots/ (git-ignored). Any console error the test did not cause on purpose fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import yazl from 'yazl';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { generateDicomSet } from '../src/archive/dicom/generate.ts';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { requestJson } from './helpers/http.ts';
import { stopWithContainers } from './helpers/runs.ts';
import { seedWebFixture, WEB_PASSWORD, WEB_PROJECT, type WebFixture } from './helpers/web-fixture.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const SHOTS = join(repoRoot, '.xcs-test', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';

let s: TestServer;
let fx: WebFixture;
let browser: Browser;
let dicomZip: Buffer;
let echoRun = 0;
let failedRun = 0;

function watchConsole(page: Page, expected: Array<[number, RegExp]>): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    const status = /status of (\d+)/.exec(m.text());
    const url = m.location().url;
    if (status && expected.some(([code, re]) => Number(status[1]) === code && re.test(url))) return;
    errors.push(`${m.text()} (${url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto(`${s.url}/`);
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
}

const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
const admin = () => ({ authorization: `Basic ${Buffer.from(`admin:${s.adminPassword}`).toString('base64')}` });

async function waitEnded(id: number): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const run = await requestJson<{ status: string }>(s.url, admin(), 'GET', `/xapi/containers/${id}`);
    if (/^(Complete|Failed|Killed)/.test(run.status)) return run.status;
    await sleep(250);
  }
  throw new Error(`run ${id} did not end`);
}

before(async () => {
  await ensureDockerHarness();
  await promisify(execFile)('bash', ['scripts/build.sh'], { cwd: repoRoot });
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });
  s = await startTestServer();
  fx = await seedWebFixture(s, s.adminPassword);
  await s.opened.users.addUser({ login: 'olga', password: WEB_PASSWORD, enabled: true, verified: true });
  await s.opened.users.setRole(WEB_PROJECT, 'olga', 'owner');
  // Real runs for the dashboard and provenance: one that completes, one that fails.
  const launch = (wrapper: number) => requestJson<{ id: number }>(s.url, admin(), 'POST',
    `/xapi/projects/${WEB_PROJECT}/wrappers/${wrapper}/root/session/launch`, { session: fx.sessions[0].uri });
  echoRun = (await launch(fx.echoWrapper)).id;
  failedRun = (await launch(fx.failWrapper)).id;
  const src = join(s.dir, 'dicom-src');
  const manifest = await generateDicomSet(src, { patients: 1, seriesPerStudy: 2, slices: 2, seed: 'web' });
  const zip = new yazl.ZipFile();
  for (const f of manifest.files) zip.addBuffer(await readFile(join(src, f)), f);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  dicomZip = Buffer.concat(chunks);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  assert.equal(await waitEnded(echoRun), 'Complete');
  assert.match(await waitEnded(failedRun), /^Failed/);
});

after(async () => {
  await browser?.close();
  if (s) await stopWithContainers(s);
});

test('admin: data from project to file, download, upload, DICOM import, admin grid, settings refusal, dashboard, relaunch', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchConsole(page, [[400, /\/xapi\/docker\/server$/]]); // the bad setting, refused on purpose
  await signIn(page, 'admin', s.adminPassword);
  try {

  // Projects → WEB → its sessions (a tab with the server's count) → MR1.
  await nav(page, 'Data').click();
  await page.getByRole('heading', { name: 'Data', level: 1 }).waitFor();
  await page.getByRole('link', { name: WEB_PROJECT, exact: true }).click();
  await page.getByRole('heading', { name: `Project ${WEB_PROJECT}` }).waitFor();
  // The tabs follow the keyboard: the arrow key moves from Subjects to Sessions (count from the server).
  await page.getByRole('tab', { name: /Subjects/ }).focus();
  await page.keyboard.press('ArrowRight');
  await page.getByRole('tab', { name: /Sessions 3/, selected: true }).waitFor();
  await page.getByRole('link', { name: 'MR1', exact: true }).click();
  await page.getByRole('heading', { name: `Session ${fx.sessions[0].id}` }).waitFor();
  // What can run here, and why not the others; the runs that used it.
  await page.locator(`.wrappers [data-wrapper-id="${fx.echoWrapper}"]`).waitFor();
  await page.locator(`.why-not [data-wrapper-id="${fx.disabledWrapper}"]`, { hasText: `not enabled in project ${WEB_PROJECT}` }).waitFor();
  await page.getByTestId('provenance').locator(`[data-run-id="${echoRun}"]`).first().waitFor();
  await shot(page, 'data-session');

  // The session's resources → NOTES → its file, downloaded; then an upload into it.
  await page.getByRole('tab', { name: /Resources/ }).click();
  await page.getByRole('link', { name: 'NOTES', exact: true }).click();
  await page.getByRole('heading', { name: 'Resource NOTES' }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'notes.txt' }).click()]);
  assert.equal(await readFile(await download.path(), 'utf8'), 'MR1\n');
  await page.getByLabel('Files to add to this resource').setInputFiles({ name: 'added.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded from the console\n') });
  await page.getByRole('button', { name: /^Upload 1 file$/ }).click();
  await page.getByRole('status').getByText('Stored: added.txt').waitFor();
  await page.getByRole('link', { name: 'added.txt' }).waitFor();
  const stored = await fetch(`${s.url}${`/data/experiments/${fx.sessions[0].id}/resources/NOTES/files/added.txt`}`, { headers: admin() });
  assert.equal(await stored.text(), 'uploaded from the console\n');
  assert.match(await page.getByRole('link', { name: 'Download all (zip)' }).getAttribute('href') ?? '', /\/resources\/NOTES\/files\?format=zip$/);
  await shot(page, 'data-resource');

  // A DICOM import into the project, with the report.
  await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: `project ${WEB_PROJECT}` }).click();
  await page.getByLabel('A zip, tar or tar.gz of DICOM files').setInputFiles({ name: 'study.zip', mimeType: 'application/zip', buffer: dicomZip });
  await page.getByRole('button', { name: `Import into ${WEB_PROJECT}` }).click();
  const report = page.getByTestId('import-report');
  await report.getByText(/Imported 4 files/).waitFor({ timeout: 30_000 });
  await report.getByText('1 session (1 new)', { exact: false }).waitFor();
  await page.getByRole('tab', { name: /Sessions 4/ }).waitFor();
  await shot(page, 'data-import');
  // The imported session, down to a scan's DICOM files.
  await report.getByRole('link').first().click();
  await page.getByRole('tab', { name: /Scans 2/, selected: true }).waitFor();
  await page.getByTestId('table-scans').getByRole('link').first().click();
  await page.getByRole('heading', { name: /^Scan / }).waitFor();
  await page.getByTestId('table-resources').getByRole('link', { name: 'DICOM', exact: true }).click();
  await page.getByTestId('files-count').getByText('2 files').waitFor();

  // Admin: the grid enables the second wrapper for WEB; a bad setting is refused next to its field.
  await nav(page, 'Admin').click();
  const grid = page.getByTestId('enablement-grid');
  const cell = grid.getByRole('checkbox', { name: `Enable Echo (not enabled here) for ${WEB_PROJECT}` });
  assert.equal(await cell.isChecked(), false);
  await cell.click(); // the box follows the server: it changes once the PUT succeeded
  for (let i = 0; i < 40; i++) {
    const e = await requestJson<{ 'enabled-for-project': boolean }>(s.url, admin(), 'GET', `/xapi/projects/${WEB_PROJECT}/wrappers/${fx.disabledWrapper}/enabled`);
    if (e['enabled-for-project']) break;
    assert.ok(i < 39, 'the wrapper is enabled for the project on the server');
    await sleep(100);
  }
  for (let i = 0; !(await cell.isChecked()); i++) {
    assert.ok(i < 40, 'the box shows the new state');
    await sleep(100);
  }
  await shot(page, 'admin');
  await page.getByRole('tab', { name: 'Server settings' }).click();
  await page.getByLabel('Process limit').fill('-5');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('[data-setting="pids-limit"] .field-error').waitFor();
  assert.equal(await page.getByLabel('Process limit').getAttribute('aria-invalid'), 'true');
  // The other sections: the engine's images, the automation, the project's members.
  await page.getByRole('tab', { name: 'Images' }).click();
  await page.locator('[data-image="xcs-test/busybox:latest"]').waitFor();
  await page.getByRole('tab', { name: 'Automation' }).click();
  await page.getByRole('heading', { name: 'Orchestrations' }).waitFor();
  await page.getByRole('tab', { name: 'Users and roles' }).click();
  await page.getByLabel(`Role of member in ${WEB_PROJECT}`).waitFor();

  // The dashboard after real runs: totals, both charts drawn, the failure's cause and hint.
  await nav(page, 'Dashboard').click();
  await page.getByTestId('totals').getByText('Runs').waitFor();
  await page.getByTestId('chart-per-hour').locator('canvas').waitFor();
  await page.getByTestId('chart-commands').locator('canvas').waitFor();
  await page.getByTestId('failures').getByText(/non-zero-exit/).waitFor();
  await page.getByTestId('per-command').getByRole('rowheader', { name: 'Echo' }).waitFor();
  await shot(page, 'dashboard');

  // The failed run: relaunched from its page, which opens the new run.
  await page.goto(`${s.url}/ui/runs/${failedRun}`);
  await page.getByRole('button', { name: 'Retry failed runs of this wrapper' }).waitFor();
  await shot(page, 'run');
  await page.getByRole('button', { name: 'Relaunch' }).click();
  await page.waitForURL((u) => /\/ui\/runs\/(\d+)$/.test(u.pathname) && !u.pathname.endsWith(`/${failedRun}`));
  await page.getByTestId('run-status').waitFor();
  } catch (e) {
    await shot(page, 'failure-admin');
    console.log('FAILED AT', page.url(), errors);
    throw e;
  }
  await page.close();
  await context.close();
  assert.deepEqual(errors, []);
});

test('member: the same data, no admin link, and an enablement change refused with the server\'s reason', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = watchConsole(page, [
    [403, /\/xapi\/projects\/WEB\/wrappers\/\d+\/(enabled|disabled)$/], // enablement is the owners'
    [403, /\/xapi\/containers\/\d+\/relaunch$/], // relaunching someone else's run is the owners' and managers'
    [403, /\/logs\/std(out|err)$/], // so are its logs
  ]);
  await signIn(page, 'member', WEB_PASSWORD);
  assert.equal(await nav(page, 'Admin').count(), 0, 'members are not offered the admin page');
  await nav(page, 'Data').click();
  await page.getByRole('link', { name: WEB_PROJECT, exact: true }).click();
  await page.getByRole('tab', { name: /Sessions/ }).click();
  await page.getByTestId('table-experiments').getByRole('link', { name: 'MR2', exact: true }).waitFor();

  // The launch page lists sessions through the server's filter; a chosen session stays listed when filtered out.
  await nav(page, 'Launch').click();
  await page.getByLabel('Project').selectOption(WEB_PROJECT);
  await page.locator('[data-session="MR1"]').waitFor();
  await page.getByLabel('Find').fill('MR3');
  await page.locator('[data-session="MR1"]').waitFor({ state: 'detached' });
  await page.locator('[data-session="MR3"] input').check();
  await page.getByLabel('Find').fill('MR2');
  await page.locator('[data-session="MR2"]').waitFor();
  assert.equal(await page.locator('[data-session="MR3"] input').isChecked(), true, 'the chosen session is still listed');
  assert.equal(await page.locator('[data-session="MR1"]').count(), 0);

  await page.goto(`${s.url}/ui/admin`);
  await page.getByRole('note').getByText('for site administrators').waitFor();
  assert.equal(await page.getByRole('tab', { name: 'Server settings' }).count(), 0);
  const box = page.getByTestId('enablement-grid').getByRole('checkbox', { name: `Enable Always fails for ${WEB_PROJECT}` });
  await box.click();
  await page.getByRole('alert').getByText(/does not have owner access to project WEB/).waitFor();
  assert.equal(await box.isChecked(), true, 'a refused change leaves the box as it was');
  assert.equal(await page.getByTestId('enablement-grid').getByRole('checkbox', { name: /for the site$/ }).first().isDisabled(), true);

  await nav(page, 'Dashboard').click();
  await page.getByTestId('totals').waitFor();
  await page.goto(`${s.url}/ui/runs/${failedRun}`);
  await page.getByRole('button', { name: 'Relaunch' }).click();
  await page.getByRole('alert').getByText('Refused').waitFor();
  assert.match(page.url(), new RegExp(`/ui/runs/${failedRun}$`), 'still on the run');
  await page.close();
  await context.close();
  assert.deepEqual(errors, []);
});

test('project owner: the admin link, their project\'s enablement changed, no site settings', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = watchConsole(page, []);
  await signIn(page, 'olga', WEB_PASSWORD);
  await nav(page, 'Admin').click();
  await page.getByRole('heading', { name: 'Administration' }).waitFor();
  assert.equal(await page.getByRole('tab', { name: 'Server settings' }).count(), 0, 'site settings are for site administrators');
  const box = page.getByTestId('enablement-grid').getByRole('checkbox', { name: `Enable Echo a scan for ${WEB_PROJECT}` });
  assert.equal(await box.isChecked(), true);
  await box.click();
  for (let i = 0; await box.isChecked(); i++) {
    assert.ok(i < 40, 'the owner\'s change is accepted');
    await sleep(100);
  }
  const scanWrapper = (await requestJson<{ xnat: Array<{ id: number; name: string }> }>(s.url, admin(), 'GET', `/xapi/commands/${fx.echoCommand}`))
    .xnat.find((w) => w.name === 'echo-scan')!.id;
  const e = await requestJson<{ 'enabled-for-project': boolean }>(s.url, admin(), 'GET', `/xapi/projects/${WEB_PROJECT}/wrappers/${scanWrapper}/enabled`);
  assert.equal(e['enabled-for-project'], false);
  await page.getByRole('tab', { name: 'Users and roles' }).click();
  await page.getByLabel(`Role of member in ${WEB_PROJECT}`).waitFor();
  await page.close();
  await context.close();
  assert.deepEqual(errors, []);
});
