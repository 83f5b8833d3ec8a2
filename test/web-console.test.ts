// The web console in a real browser (Debian's chromium through playwright-core) against a real server, archive
// and Docker engine: sign in, the runs list, a launch through the form (an illegal value refused next to its
// input, then a good one) followed to Complete with its stdout in the live log, the "why not" reasons, a failed
// run's message in its row (arriving through the live status stream), a bulk dry run and launch over two sessions, a broken
// command checked in the editor with its JSON path, sign-out; a collaborator's launch refused with the server's
// message. Any console error the test did not cause on purpose fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { ensureDockerHarness } from './helpers/docker.ts';
import { requestJson } from './helpers/http.ts';
import { stopWithContainers } from './helpers/runs.ts';
import { seedWebFixture, WEB_PASSWORD, WEB_PROJECT, type WebFixture } from './helpers/web-fixture.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

let s: TestServer;
let fx: WebFixture;
let browser: Browser;
/** The run the admin launched through the form (the collaborator looks at it). */
let formRunId = 0;

/**
 * Console errors, except a refused request this test makes on purpose (Chrome logs every non-2xx fetch):
 * `[status, URL pattern]` pairs listed per page.
 */
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

async function chooseSessions(page: Page, labels: string[]): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Launch' }).click();
  await page.getByLabel('Project').selectOption(WEB_PROJECT);
  for (const l of labels) await page.locator(`[data-session="${l}"] input`).check();
}

before(async () => {
  await ensureDockerHarness();
  // Stamp-based: builds the console only when web/ changed since the last build.
  await promisify(execFile)('bash', ['scripts/build.sh'], { cwd: repoRoot });
  s = await startTestServer();
  fx = await seedWebFixture(s, s.adminPassword);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  if (s) await stopWithContainers(s);
});

test('the server redirects / to the console and serves it with a strict CSP; unknown app paths get the app', async () => {
  const root = await fetch(`${s.url}/`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/ui/');
  const deep = await fetch(`${s.url}/ui/runs/12345`);
  assert.equal(deep.status, 200);
  assert.match(deep.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.match(await deep.text(), /<div id="root">/);
  const missing = await fetch(`${s.url}/ui/assets/nope-123.js`);
  assert.equal(missing.status, 404);
});

test('admin: sign in, launch through the form, follow the run, why-not, failed row, bulk, commands, sign out', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchConsole(page, [
    [400, /\/root\/session\/launch$/], // the illegal greeting, refused on purpose
    [400, /\/xapi\/commands\/validate$/], // text that is not JSON, on purpose
    [401, /\/xapi\/containers$/], // the call made after signing out
  ]);
  await signIn(page, 'admin', s.adminPassword);
  await page.getByText('No runs yet').waitFor();

  // Launch page: the wrappers that can run on MR1, and why the others cannot.
  await chooseSessions(page, ['MR1']);
  const whyNot = page.locator('.why-not');
  await whyNot.getByText('Cannot run on MR1').waitFor();
  await whyNot.locator(`[data-wrapper-id="${fx.disabledWrapper}"]`, { hasText: `not enabled in project ${WEB_PROJECT}` }).waitFor();
  await whyNot.getByText('runs on xnat:imageScanData, not on xnat:mrSessionData').waitFor();

  await page.locator(`[data-wrapper-id="${fx.echoWrapper}"] input`).check();
  const greeting = page.getByLabel('greeting');
  await greeting.waitFor();
  assert.equal(await greeting.inputValue(), 'Hello', 'the default value is filled in');
  assert.equal(await page.getByLabel('note').isVisible(), false, 'the advanced input is folded away');
  assert.equal(await page.getByLabel('token').inputValue(), '', 'a configured secret never reaches the form');
  // An illegal value: refused by the server, shown next to the input it names.
  await greeting.fill('Hi;there');
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.locator('[data-input="greeting"] .field-error', { hasText: 'illegal string ";"' }).waitFor();
  assert.equal(await greeting.getAttribute('aria-invalid'), 'true');

  await greeting.fill('Howdy');
  await page.getByText(/Advanced inputs/).click();
  await page.getByLabel('note').fill('from-advanced');
  await page.getByLabel('shout').check();
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/ui\/runs\/\d+$/);
  const runId = Number(/(\d+)$/.exec(page.url())![1]);
  formRunId = runId;

  // The run page: Complete, stdout in the log pane, the output linked, the sensitive input masked.
  await page.getByTestId('run-status').getByText('Complete', { exact: true }).waitFor({ timeout: 30_000 });
  await page.locator('pre[data-log="stdout"]', { hasText: 'Howdy from MR1 mode fast LOUD' }).waitFor({ timeout: 10_000 });
  await page.getByRole('tab', { name: 'stderr' }).click();
  await page.locator('pre[data-log="stderr"]', { hasText: 'note from-advanced' }).waitFor();
  await page.getByRole('link', { name: `${fx.sessions[0].uri}/resources/REPORT` }).waitFor();
  await page.locator('ol.timeline', { hasText: 'Finalizing' }).waitFor();
  assert.ok(!(await page.content()).includes('tok-secret-123'), 'the secret default is nowhere in the page');
  assert.ok(!page.url().includes('tok-secret'), 'nor in the URL');

  // A failed run launched elsewhere shows up in the open list by itself, with its message and hint.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
  await page.locator(`tr[data-run-id="${runId}"]`, { hasText: 'Complete' }).waitFor();
  await page.getByText('Live updates').waitFor(); // the list follows the status stream (polling is the fallback)
  const admin = { authorization: `Basic ${Buffer.from(`admin:${s.adminPassword}`).toString('base64')}` };
  const failed = await requestJson<{ id: number }>(s.url, admin, 'POST',
    `/xapi/projects/${WEB_PROJECT}/wrappers/${fx.failWrapper}/root/session/launch`, { session: fx.sessions[0].uri });
  const failedRow = page.locator(`tr[data-run-id="${failed.id}"]`);
  await failedRow.locator('.row-failure', { hasText: 'Non-zero exit code 3' }).waitFor({ timeout: 20_000 });
  await failedRow.getByText('non-zero code').waitFor(); // the hint
  await page.getByLabel('Status').selectOption('failed');
  await page.locator('tbody tr').first().waitFor();
  assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id'))), [String(failed.id)]);
  assert.match(page.url(), /status=failed/, 'the filter is in the URL');

  // Bulk: a dry run over two sessions, then the launch, each target linked to its run.
  await chooseSessions(page, ['MR2', 'MR3']);
  await page.locator(`[data-wrapper-id="${fx.echoWrapper}"] input`).check();
  await page.getByRole('button', { name: 'Dry run' }).click();
  const report = page.locator('.bulk-report');
  await report.getByText('Dry run: 2 would launch, 0 would not').waitFor();
  await report.locator('li', { hasText: 'MR2' }).waitFor();
  await report.locator('li', { hasText: 'MR3' }).waitFor();
  await page.getByRole('button', { name: 'Launch 2 runs' }).click();
  await report.getByText('Launched: 2 launched, 0 failed').waitFor();
  assert.equal(await report.getByRole('link', { name: /^run #\d+$/ }).count(), 2);
  // The batch's failed runs can be retried together; none of these failed (they may still be running).
  await report.getByRole('button', { name: 'Retry the failed runs of this batch' }).click();
  await report.getByRole('status').getByText(/^No run of this batch failed/).waitFor();

  // Commands: a broken command, its error at its JSON path; text that is not JSON, its position.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Commands' }).click();
  await page.getByRole('cell', { name: /web-echo/ }).waitFor();
  const editor = page.getByLabel('Command JSON');
  await editor.fill(JSON.stringify({ name: 'broken', image: 'busybox:1', inputs: [{ name: 'a b' }], xnat: [] }));
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.diagnostic.error', { hasText: '/inputs/0/name' }).waitFor();
  await page.getByText('Invalid', { exact: true }).waitFor();
  await editor.fill('{"name": "x",\n  oops }');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.getByRole('alert').getByText(/line 2/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Check and register' }).count(), 1, 'managers may register');

  // Sign out: the form again, and the session is over on the server too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to XCS' }).waitFor();
  const status = await page.evaluate(async () => (await fetch('/xapi/containers', { headers: { 'X-Requested-With': 'XMLHttpRequest' } })).status);
  assert.equal(status, 401);
  await page.close();
  assert.deepEqual(errors, []);
});

test('a collaborator sees the launch refused with the server\'s message and may not read the logs', async () => {
  const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
  const page = await context.newPage();
  const errors = watchConsole(page, [
    [403, /\/root\/session\/launch$/], // launching needs edit access: refused on purpose
    [403, /\/logs\/std(out|err)$/], // logs are the launcher's, owners' and managers'
  ]);
  await signIn(page, 'reader', WEB_PASSWORD);
  await chooseSessions(page, ['MR1']);
  await page.locator(`[data-wrapper-id="${fx.failWrapper}"] input`).check();
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.getByRole('alert').getByText(`User reader does not have edit access to project ${WEB_PROJECT}, which launching needs`).waitFor();
  await page.getByText('a project owner can make you a member').waitFor();
  assert.match(page.url(), /\/ui\/launch\?/, 'still on the launch page');

  // A run of the project launched by someone else: visible, scrubbed, its logs refused with the reason.
  assert.ok(formRunId > 0, 'the admin test ran first');
  await page.goto(`${s.url}/ui/runs/${formRunId}`);
  await page.getByTestId('run-status').getByText('Complete', { exact: true }).waitFor();
  await page.getByRole('alert').getByText(/may not act on container/).waitFor();
  await context.close();
  assert.deepEqual(errors, []);
});
