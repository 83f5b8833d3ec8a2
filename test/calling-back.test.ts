// Calling-back tools (README "Calling-back tools"): a command using XNAT_HOST/XNAT_USER/XNAT_PASS is flagged by
// `xcs validate`, availability and the launch UI before anyone launches; at the default network `none` it fails
// with a hint naming the setting, and works after `container-network` is set as documented.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_IMAGES } from './helpers/docker.ts';
import { outFile, startSettingsServer, type SettingsServer } from './helpers/settings-server.ts';

let s: SettingsServer;

// Lists the projects over REST with the run's own credentials, as a pyxnat script would.
const CALL_BACK = 'AUTH=$(printf "%s:%s" "$XNAT_USER" "$XNAT_PASS" | base64 | tr -d "\\n"); ' +
  'wget -q -O /output/projects.json --header "Authorization: Basic $AUTH" "$XNAT_HOST/data/projects?format=json"';

before(async () => {
  s = await startSettingsServer();
  assert.equal((await s.setServer({ 'auto-cleanup': true })).status, 201);
});

after(async () => {
  await s.close();
});

test('xcs validate flags a command that calls back and names the setting', async () => {
  const file = join(s.dir, 'calls-back.json');
  await writeFile(file, JSON.stringify({ name: 'cb', version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'command-line': CALL_BACK }));
  const { stdout } = await promisify(execFile)('bin/xcs', ['validate', file, '--json']);
  const report = JSON.stringify(JSON.parse(stdout));
  assert.match(report, /command\.calls-back/);
  assert.match(report, /XNAT_HOST, XNAT_USER, XNAT_PASS/);
  assert.match(report, /container-network/);
});

test('a calling-back run fails at network none with a hint naming the setting, and works once container-network is set', async () => {
  const w = await s.register('callback', CALL_BACK);
  const uri = `/archive/experiments/${s.sessionId}`;
  // Flagged before launching: availability and the launch UI.
  const avail = await s.api<{ available: Array<{ 'wrapper-id': number; 'calls-back'?: { 'has-network': boolean; message: string } }> }>(
    'GET', `/xapi/availability?object=${encodeURIComponent(uri)}`);
  const flagged = avail.available.find((a) => a['wrapper-id'] === w);
  assert.equal(flagged?.['calls-back']?.['has-network'], false);
  assert.match(flagged?.['calls-back']?.message ?? '', /container-network/);
  const ui = await s.api<{ meta: { 'calls-back'?: { message: string } } }>('GET', `/xapi/projects/P/wrappers/${w}/launch?session=${encodeURIComponent(uri)}`);
  assert.match(ui.meta['calls-back']?.message ?? '', /no network.*container-network/);

  const failed = await s.waitEnd((await s.launch(w)).body.id as number);
  assert.equal(failed.status, 'Failed', JSON.stringify(failed.history));
  assert.match(failed['failure-hint'] ?? '', /network "none".*"container-network"/);

  // The documented setting: containers share the host's network and reach XCS on 127.0.0.1.
  assert.equal((await s.setServer({ 'auto-cleanup': true, 'container-network': 'host' })).status, 201);
  const ui2 = await s.api<{ meta: { 'calls-back'?: { 'has-network': boolean } } }>('GET', `/xapi/projects/P/wrappers/${w}/launch?session=${encodeURIComponent(uri)}`);
  assert.equal(ui2.meta['calls-back']?.['has-network'], true);
  const ok = await s.waitEnd((await s.launch(w)).body.id as number);
  assert.equal(ok.status, 'Complete', JSON.stringify(ok.history));
  assert.match(await outFile(s, 'callback', 'projects.json'), /"P"/);
  assert.equal(ok.env.XNAT_HOST, s.server.url);
});
