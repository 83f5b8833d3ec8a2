// Server settings that take effect (README "Site settings"), checked on the real containers with `docker inspect`:
// hardened defaults, container-user, capabilities, process/memory/CPU limits, read-only root, path translation,
// auto-cleanup on and off; settings XCS cannot honour and launches that weaken isolation are refused with why-not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dockerInspect, outFile, startSettingsServer, type SettingsServer } from './helpers/settings-server.ts';

const MIB = 1024 * 1024;
let s: SettingsServer;

before(async () => {
  s = await startSettingsServer();
});

after(async () => {
  await s.close();
});

test('by default a container has no capabilities, no-new-privileges, a process limit and no network; the record says so', async () => {
  // Clean-up off so the container can be inspected after the run.
  assert.equal((await s.setServer({ 'auto-cleanup': false })).status, 201);
  const w = await s.register('defaults', 'grep CapEff /proc/self/status > /output/caps.txt');
  const r = await s.launch(w);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const c = await s.waitEnd(r.body.id as number);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  assert.match(await outFile(s, 'defaults', 'caps.txt'), /CapEff:\s+0+\s*$/, 'no effective capability inside');
  const i = await dockerInspect(c['container-name']);
  assert.ok(i, 'auto-cleanup off: the container is kept');
  assert.deepEqual(i.HostConfig.CapDrop, ['ALL']);
  assert.equal(i.HostConfig.CapAdd, null);
  assert.deepEqual(i.HostConfig.SecurityOpt, ['no-new-privileges']);
  assert.equal(i.HostConfig.Privileged, false);
  assert.equal(i.HostConfig.PidsLimit, 4096);
  assert.equal(i.HostConfig.NetworkMode, 'none');
  assert.equal(i.HostConfig.Memory, 0, 'no default memory limit unless the site sets one');
  assert.equal(i.HostConfig.ReadonlyRootfs, false);
  assert.equal(c['run-settings'].autoCleanup, false);
  assert.equal(c['run-settings'].containerNetwork, 'none');
  assert.equal(c.env.XNAT_HOST, s.server.url, 'XNAT_HOST defaults to the server\'s own URL');
});

test('container-user, cap-add, pids-limit, default memory/CPU, read-only root and path translation reach the container', async () => {
  const alias = join(s.dir, 'alias-of-data');
  await symlink(s.dataDir, alias);
  const set = await s.setServer({
    'auto-cleanup': false, 'container-user': '1234:1234', 'cap-add': ['chown'], 'pids-limit': 64, 'default-limit-memory': 64,
    'default-limit-cpu': 0.5, 'read-only-rootfs': true, 'path-translation-xnat-prefix': s.dataDir, 'path-translation-docker-prefix': alias,
    'processing-url': 'http://127.0.0.1:9/',
  });
  assert.equal(set.status, 201, JSON.stringify(set.body));
  const w = await s.register('tuned', 'id -u > /output/report.txt; touch /tmp/t && echo tmp-writable >> /output/report.txt; ' +
    '(touch /root-probe 2>/dev/null && echo root-writable || echo root-read-only) >> /output/report.txt; echo "$XNAT_HOST" >> /output/report.txt');
  const r = await s.launch(w);
  const c = await s.waitEnd(r.body.id as number);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  // The tool ran as 1234 and could write its output directory (staging gave it to that user).
  assert.equal(await outFile(s, 'tuned', 'report.txt'), '1234\ntmp-writable\nroot-read-only\nhttp://127.0.0.1:9\n');
  const i = await dockerInspect(c['container-name']);
  assert.ok(i);
  assert.equal(i.Config.User, '1234:1234');
  assert.deepEqual(i.HostConfig.CapDrop, ['ALL']);
  assert.deepEqual(i.HostConfig.CapAdd, ['CAP_CHOWN']);
  assert.equal(i.HostConfig.PidsLimit, 64);
  assert.equal(i.HostConfig.Memory, 64 * MIB);
  assert.equal(i.HostConfig.NanoCpus, 500_000_000);
  assert.equal(i.HostConfig.ReadonlyRootfs, true);
  assert.ok('/tmp' in i.HostConfig.Tmpfs, 'a writable /tmp');
  const mounts = i.HostConfig.Mounts as Array<{ Source: string; Target: string }>;
  const out = mounts.find((m) => m.Target === '/output');
  assert.ok(out && out.Source.startsWith(`${alias}/`), `the mount source is translated: ${JSON.stringify(mounts)}`);
  assert.equal(c.env.XNAT_HOST, 'http://127.0.0.1:9', 'the record shows the XNAT_HOST the container got');
  assert.equal(c['run-settings'].containerUser, '1234:1234');

  // Live for new runs only: the earlier run's record keeps what it ran with.
  const first = (await s.api<Array<{ id: number }>>('GET', '/xapi/containers?all=true')).map((x) => x.id).sort((a, b) => a - b)[0];
  const earlier = await s.api<{ 'run-settings': { containerUser: string | null } }>('GET', `/xapi/containers/${first}`);
  assert.equal(earlier['run-settings'].containerUser, null);
});

test('auto-cleanup on removes the container and its build directory; off keeps them', async () => {
  await s.setServer({ 'auto-cleanup': false });
  // Two commands: each run uploads its own resource.
  const off = await s.register('cleanup-off', 'echo kept > /output/x.txt');
  const on = await s.register('cleanup-on', 'echo gone > /output/x.txt');
  const kept = await s.waitEnd((await s.launch(off)).body.id as number);
  assert.equal(kept.status, 'Complete');
  await s.setServer({ 'auto-cleanup': true });
  const removed = await s.waitEnd((await s.launch(on)).body.id as number);
  assert.equal(removed.status, 'Complete');
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    gone = (await dockerInspect(removed['container-name'])) === null;
    if (!gone) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(gone, 'auto-cleanup on: the container is removed once the run ended');
  assert.ok(await dockerInspect(kept['container-name']), 'auto-cleanup off when it ran: its container is still there');
  assert.ok(existsSync(kept.mounts[0]['xnat-host-path']), 'and its build directory');
  assert.ok(!existsSync(removed.mounts[0]['xnat-host-path']), 'auto-cleanup on: the build directory is removed');
});

test('settings XCS cannot honour are refused with the reason, and nothing is stored', async () => {
  const before = (await s.request('GET', '/xapi/docker/server')).body;
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ backend: 'kubernetes' }, '/backend', /no backend of kind kubernetes yet/],
    [{ backend: 'slurm' }, '/slurm-job-root', /slurm backend needs "slurm-job-root"/],
    [{ backend: 'slurm', 'slurm-job-root': 'jobs' }, '/slurm-job-root', /absolute directory/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-qos': 'a b' }, '/slurm-qos', /Slurm name/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-runner': 'docker;id' }, '/slurm-runner', /program name/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-url': 'http://root:pw@head:6820', 'slurm-rest-user': 'xcs' },
      '/slurm-rest-url', /without credentials/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-url': 'file:///etc/passwd', 'slurm-rest-user': 'xcs' }, '/slurm-rest-url', /http:\/\//],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-url': 'http://head:6820' }, '/slurm-rest-user', /needs "slurm-rest-user"/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-url': 'http://head:6820', 'slurm-rest-user': 'x;id' }, '/slurm-rest-user', /user name/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-url': 'http://head:6820', 'slurm-rest-user': 'xcs',
      'slurm-rest-token-file': 'token' }, '/slurm-rest-token-file', /absolute path/],
    [{ backend: 'slurm', 'slurm-job-root': '/shared/jobs', 'slurm-rest-token-file': '/t' }, '/slurm-rest-url', /go with "slurm-rest-url"/],
    [{ 'container-user': 'nobody' }, '/container-user', /numeric uid or uid:gid/],
    [{ 'status-email-enabled': true }, '/status-email-enabled', /no SMTP server is configured/],
    [{ 'gpu-vendor': 'nvidia' }, '/gpu-vendor', /kubernetes backend/],
    [{ 'archive-pvc-name': 'pvc' }, '/archive-pvc-name', /kubernetes backend/],
    [{ 'swarm-constraints': [{ attribute: 'node.role', values: ['worker'] }] }, '/swarm-constraints', /swarm backend/],
    [{ 'cap-add': ['ALL'] }, '/cap-add/0', /cannot be ALL/],
    [{ 'cap-add': ['SYS_ADMIN'] }, '/cap-add/0', /privileged/],
    [{ 'pids-limit': 0 }, '/pids-limit', /whole number ≥ 16/],
    [{ 'container-network': 'container:x' }, '/container-network', /none, host, bridge/],
    [{ 'processing-url': 'ftp://x' }, '/processing-url', /http\(s\) URL/],
    [{ 'webhook-allowed-hosts': ['127.0.0.1', '10.0.0.0/33'] }, '/webhook-allowed-hosts/1',
      /"webhook-allowed-hosts" item 2 must be a host name, an IP address or a CIDR range \(e\.g\. 10\.0\.0\.0\/8\), not "10\.0\.0\.0\/33"/],
    [{ 'webhook-allowed-hosts': 'localhost' }, '/webhook-allowed-hosts', /"webhook-allowed-hosts" must be a list of strings/],
    [{ 'status-event-retention-days': 0 }, '/status-event-retention-days', /"status-event-retention-days" must be a whole number ≥ 1 \(days\), not 0/],
    [{ 'delivery-retention-days': 'soon' }, '/delivery-retention-days', /"delivery-retention-days" must be a whole number ≥ 1 \(days\), not "soon"/],
    [{ 'archive-staging': 'rsync' }, '/archive-staging', /\n"archive-staging" must be bind or copy, not "rsync"$/],
    [{ 'archive-staging': true }, '/archive-staging', /\n"archive-staging" must be bind or copy, not true$/],
  ];
  for (const [keys, path, message] of cases) {
    const r = await s.setServer(keys);
    assert.equal(r.status, 400, JSON.stringify(keys));
    const details = r.body.details as Array<{ path: string; message: string }> | undefined;
    const paths = details ? details.map((d) => d.path) : [r.body.path];
    assert.ok(paths.includes(path), `${JSON.stringify(keys)}: ${JSON.stringify(r.body)}`);
    assert.match(String(r.body.message), message);
  }
  assert.deepEqual((await s.request('GET', '/xapi/docker/server')).body, before);
});

test('options that weaken isolation are refused naming the setting, and granted once it allows them', async () => {
  await s.setServer({ 'auto-cleanup': false });
  const refusals: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'ipc-mode': 'host' }, /allow-ipc-host/],
    [{ network: 'host' }, /allowed-command-networks/],
    [{ network: 'container:some-other' }, /allowed-command-networks/],
    [{ runtime: 'nvidia' }, /allowed-runtimes/],
  ];
  const before = (await s.api<unknown[]>('GET', '/xapi/containers?all=true')).length;
  for (const [extra, setting] of refusals) {
    const w = await s.register(`weak-${Object.keys(extra)[0]}-${String(Object.values(extra)[0]).replace(/\W/g, '')}`, 'true', extra);
    const r = await s.launch(w);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(`${String(r.body.message)} ${String(r.body.hint)}`, setting);
  }
  assert.equal((await s.api<unknown[]>('GET', '/xapi/containers?all=true')).length, before, 'nothing was recorded');
  // Availability says why before anyone launches.
  const avail = await s.api<{ unavailable: Array<{ 'command-name': string; reasons: Array<{ check: string; message: string }> }> }>(
    'GET', `/xapi/availability?object=${encodeURIComponent(`/archive/experiments/${s.sessionId}`)}`);
  const host = avail.unavailable.find((u) => u['command-name'] === 'weak-network-host');
  assert.ok(host?.reasons.some((r) => r.check === 'settings' && /allowed-command-networks/.test(r.message)), JSON.stringify(host));

  assert.equal((await s.setServer({ 'auto-cleanup': false, 'allow-ipc-host': true, 'allowed-command-networks': ['host'] })).status, 201);
  const ipc = await s.register('granted', 'echo ok > /output/ok.txt', { 'ipc-mode': 'host', network: 'host' });
  const c = await s.waitEnd((await s.launch(ipc)).body.id as number);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  const i = await dockerInspect(c['container-name']);
  assert.ok(i);
  assert.equal(i.HostConfig.IpcMode, 'host');
  assert.equal(i.HostConfig.NetworkMode, 'host');
});

test('a container removed behind the service\'s back ends Failed saying it was removed', async () => {
  await s.setServer({ 'auto-cleanup': true });
  const w = await s.register('removed', 'sleep 60');
  const id = (await s.launch(w)).body.id as number;
  const running = await s.waitStatus(id, 'Running');
  assert.equal(running.status, 'Running');
  await promisify(execFile)('docker', ['rm', '-f', running['container-name']]);
  const c = await s.waitEnd(id);
  assert.equal(c.status, 'Failed', JSON.stringify(c.history));
  const last = c.history[c.history.length - 1];
  assert.match(last.message ?? '', /was removed from the engine/);
  assert.match(c['failure-hint'] ?? '', /removed from the engine \(docker rm\)/);
  assert.doesNotMatch(JSON.stringify(c.history), /disk full|Out of Memory|Failed \(Upload\)/i);
});

test('the README\'s settings examples are accepted as written', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const heading of ['## Site settings', '## Calling-back tools']) {
    const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)));
    assert.ok(block, heading);
    const body = /-d '([\s\S]*?)'/.exec(block[1].replace(/\\\n\s*/g, ''));
    assert.ok(body, `${heading}: a -d body`);
    const r = await s.request('POST', '/xapi/docker/server', JSON.parse(body[1]));
    assert.equal(r.status, 201, `${heading}: ${JSON.stringify(r.body)}`);
  }
  await s.setServer({ 'auto-cleanup': true });
});
