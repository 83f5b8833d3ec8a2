// Webhooks over real HTTP with the real engine and Docker, delivered to a local HTTP server that checks each
// `X-XCS-Signature` (HMAC-SHA256 of the body with the webhook's secret). A receiver that fails at first gets the
// delivery after a server restart that happened between two attempts (the outbox is durable); a project owner's
// webhook hears only its project's events; a bulk launch is announced once as `batch.completed`. Who may
// register, list and remove webhooks is tested with its refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDockerHarness } from './helpers/docker.ts';
import { auth, startOpsSite, type OpsSite } from './helpers/ops-fixture.ts';
import { call } from './xapi-helpers.ts';

interface Hit { path: string; event: string; signature: string; body: string; answered: number }

let site: OpsSite;
let receiver: Server;
let receiverUrl = '';
const hits: Hit[] = [];
let answer = 200;
let ownerHook: { id: number };

const ADMIN_SECRET = 'admin-secret-0123456789';
const OWNER_SECRET = 'owner-secret-9876543210';

before(async () => {
  await ensureDockerHarness();
  process.env.XCS_WEBHOOK_RETRY_MS = '300';
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      const status = answer;
      hits.push({ path: req.url ?? '', event: String(req.headers['x-xcs-event']), signature: String(req.headers['x-xcs-signature']), body, answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  site = await startOpsSite(3);
});

after(async () => {
  delete process.env.XCS_WEBHOOK_RETRY_MS;
  await site.stop();
  await new Promise((r) => receiver.close(r));
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1200) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The receiver runs on 127.0.0.1, which webhooks may reach only once the server setting lists it. */
async function allowHosts(hosts: string[]): Promise<void> {
  const r = await call(site.server.url, 'POST', '/xapi/docker/server', { headers: auth('admin'),
    json: { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'webhook-allowed-hosts': hosts } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual((r.body as { 'webhook-allowed-hosts': string[] })['webhook-allowed-hosts'], hosts);
}

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

test('who may register, read and remove webhooks; bad bodies say where', async () => {
  const url = '/xapi/notifications/webhooks';
  const hook = (extra: object) => ({ url: `${receiverUrl}/x`, events: ['run.failed'], secret: OWNER_SECRET, ...extra });
  assert.equal((await call(site.server.url, 'POST', url, { json: hook({ project: 'P' }) })).status, 401);
  assert.equal((await call(site.server.url, 'POST', url, { headers: auth('member'), json: hook({ project: 'P' }) })).status, 403);
  assert.equal((await call(site.server.url, 'POST', url, { headers: auth('owner'), json: hook({}) })).status, 403);
  const bad = async (body: object, path: string) => {
    const r = await call(site.server.url, 'POST', url, { headers: auth('owner'), json: body });
    assert.equal(r.status, 400, r.text);
    assert.equal((r.body as { path: string }).path, path);
  };
  await bad(hook({ project: 'P', events: ['run.exploded'] }), '/events/0');
  await bad(hook({ project: 'P', url: 'file:///etc/passwd' }), '/url');
  await bad(hook({ project: 'P', secret: 'short' }), '/secret');
  await bad(hook({ project: 'P', extra: 1 }), '/extra');
  // SSRF guard: loopback (the receiver), the metadata service and private ranges are refused until listed.
  const refused = async (target: string, message: RegExp) => {
    const r = await call(site.server.url, 'POST', url, { headers: auth('admin'), json: hook({ url: target }) });
    assert.equal(r.status, 400, r.text);
    assert.equal((r.body as { path: string }).path, '/url');
    assert.match(r.text, message);
  };
  await refused(`${receiverUrl}/x`, /127\.0\.0\.1 is a loopback address and \\"webhook-allowed-hosts\\" \(server setting\) does not list it/);
  await refused('http://169.254.169.254/latest/meta-data/', /link-local address/);
  await refused('http://192.168.0.1/', /private address/);
  await refused(`http://localhost:${new URL(receiverUrl).port}/x`, /localhost resolves to .*loopback address/);
  await allowHosts(['127.0.0.1']);
  await refused('http://127.0.0.2/x', /127\.0\.0\.2 is a loopback address/);
  assert.deepEqual((await call(site.server.url, 'GET', url, { headers: auth('admin') })).body, [], 'nothing refused was stored');

  const made = await call(site.server.url, 'POST', url, { headers: auth('owner'), json: hook({ project: 'P' }) });
  assert.equal(made.status, 201, made.text);
  const h = made.body as { id: number; secret: string; owner: string };
  assert.equal(h.secret, '*****');
  assert.equal(h.owner, 'owner');
  assert.doesNotMatch(made.text, new RegExp(OWNER_SECRET));
  // Others neither list nor read nor remove it.
  assert.deepEqual((await call(site.server.url, 'GET', url, { headers: auth('member') })).body, []);
  assert.equal((await call(site.server.url, 'GET', `${url}/${h.id}`, { headers: auth('outsider') })).status, 404);
  assert.equal((await call(site.server.url, 'DELETE', `${url}/${h.id}`, { headers: auth('member') })).status, 404);
  assert.equal((await call(site.server.url, 'GET', `${url}/${h.id}/deliveries`, { headers: auth('outsider') })).status, 404);
  assert.equal((await call(site.server.url, 'DELETE', `${url}/${h.id}`, { headers: auth('owner') })).status, 204);
  assert.equal((await call(site.server.url, 'GET', `${url}/${h.id}`, { headers: auth('owner') })).status, 404);
});

test('signed deliveries, retried across a restart; a project webhook hears only its events', async () => {
  const url = '/xapi/notifications/webhooks';
  const siteHook = (await call(site.server.url, 'POST', url, { headers: auth('admin'),
    json: { url: `${receiverUrl}/site`, events: ['run.failed', 'run.completed'], secret: ADMIN_SECRET } })).body as { id: number };
  ownerHook = (await call(site.server.url, 'POST', url, { headers: auth('owner'),
    json: { url: `${receiverUrl}/owner`, events: ['run.completed'], secret: OWNER_SECRET, project: 'P' } })).body as { id: number };
  answer = 500;
  const failed = await site.launch('fail', 0);
  await until('a first, refused attempt', () => hits.some((h) => h.path === '/site' && h.answered === 500));

  // Restart between attempts; the receiver is fixed meanwhile.
  await site.restart();
  answer = 200;
  await until('the delivery', () => hits.some((h) => h.path === '/site' && h.answered === 200));
  const ok = hits.find((h) => h.path === '/site' && h.answered === 200)!;
  assert.equal(ok.signature, sign(ADMIN_SECRET, ok.body));
  assert.equal(ok.event, 'run.failed');
  const body = JSON.parse(ok.body) as { event: string; run: { id: number; status: string; 'exit-code': string; project: string; 'failure-hint': string } };
  assert.equal(body.event, 'run.failed');
  assert.equal(body.run.id, failed);
  assert.equal(body.run.status, 'Failed');
  assert.equal(body.run['exit-code'], '3');
  assert.equal(body.run.project, 'P');
  const log = (await call(site.server.url, 'GET', `${url}/${siteHook.id}/deliveries`, { headers: auth('admin') })).body as
    Array<{ state: string; attempts: number; 'last-status': number }>;
  assert.equal(log.length, 1);
  assert.equal(log[0].state, 'delivered');
  assert.ok(log[0].attempts >= 2, `attempts: ${log[0].attempts}`);
  assert.equal(log[0]['last-status'], 200);
  // The owner's webhook wants completions only: nothing for the failure.
  assert.ok(!hits.some((h) => h.path === '/owner'));

  const completed = await site.launch('ok', 1);
  await until('both webhooks to hear the completion', () => ['/site', '/owner'].every((p) =>
    hits.some((h) => h.path === p && h.event === 'run.completed' && h.answered === 200)));
  const own = hits.find((h) => h.path === '/owner')!;
  assert.equal(own.signature, sign(OWNER_SECRET, own.body));
  assert.notEqual(own.signature, sign(ADMIN_SECRET, own.body));
  assert.equal((JSON.parse(own.body) as { run: { id: number } }).run.id, completed);
  const ownerLog = (await call(site.server.url, 'GET', `${url}/${ownerHook.id}/deliveries`, { headers: auth('owner') })).body as unknown[];
  assert.equal(ownerLog.length, 1);
});

test('a bulk launch is announced once, as batch.completed; an owner who lost the project hears nothing more', async () => {
  await site.server.opened.users.setRole('P', 'owner', 'member');
  const ownerHits = hits.filter((h) => h.path === '/owner').length;
  await call(site.server.url, 'POST', '/xapi/notifications/webhooks', { headers: auth('admin'),
    json: { url: `${receiverUrl}/batch`, events: ['batch.completed'], secret: ADMIN_SECRET } });
  const r = await call(site.server.url, 'POST', `/xapi/projects/P/wrappers/${site.wrappers.ok}/root/session/bulklaunch`,
    { headers: auth('member'), json: { session: JSON.stringify(site.sessions) } });
  assert.equal(r.status, 200, r.text);
  const report = r.body as { 'bulk-launch-id': string; successes: Array<{ id: number }> };
  assert.equal(report.successes.length, 3);
  await site.waitEnded(report.successes.map((x) => x.id));
  await until('the batch announcement', () => hits.some((h) => h.path === '/batch'));
  await sleep(1500); // a second announcement would come within the notifier's next passes
  const batch = hits.filter((h) => h.path === '/batch');
  assert.equal(batch.length, 1);
  assert.equal(batch[0].signature, sign(ADMIN_SECRET, batch[0].body));
  const b = JSON.parse(batch[0].body) as { batch: { id: string; runs: number; completed: number }; runs: Array<{ id: number }> };
  assert.equal(b.batch.id, report['bulk-launch-id']);
  assert.deepEqual([b.batch.runs, b.batch.completed], [3, 3]);
  assert.deepEqual(b.runs.map((x) => x.id).sort(), report.successes.map((x) => x.id).sort());
  // The former owner's webhook: its deliveries were refused at sending time, none reached the receiver.
  assert.equal(hits.filter((h) => h.path === '/owner').length, ownerHits);
  const log = (await call(site.server.url, 'GET', `/xapi/notifications/webhooks/${ownerHook.id}/deliveries`, { headers: auth('admin') })).body as
    Array<{ state: string; 'last-error': string }>;
  const refused = log.filter((d) => d.state === 'failed');
  assert.equal(refused.length, 3);
  assert.match(refused[0]['last-error'], /owner may no longer receive events of P/);
});

test('a delivery to an address the setting no longer allows is refused before connecting, and recorded', async () => {
  const hook = (await call(site.server.url, 'POST', '/xapi/notifications/webhooks', { headers: auth('admin'),
    json: { url: `${receiverUrl}/late`, events: ['run.completed'], secret: ADMIN_SECRET } })).body as { id: number };
  await allowHosts([]);
  try {
    const run = await site.launch('ok', 2);
    await site.waitEnded([run]);
    const deliveries = `/xapi/notifications/webhooks/${hook.id}/deliveries`;
    let log: Array<{ 'last-error': string | null; attempts: number }> = [];
    for (let i = 0; i < 200 && !log.some((d) => d.attempts > 0); i++) {
      log = (await call(site.server.url, 'GET', deliveries, { headers: auth('admin') })).body as typeof log;
      if (!log.some((d) => d.attempts > 0)) await sleep(50);
    }
    assert.match(log[0]['last-error'] ?? '', /127\.0\.0\.1 is a loopback address and "webhook-allowed-hosts"/);
    assert.ok(!hits.some((h) => h.path === '/late'), 'the receiver was never called');
  } finally {
    await allowHosts(['127.0.0.1']);
  }
});
