// The live status stream (`GET /xapi/containers/events`) read by a real SSE client (the `eventsource` package,
// which reconnects on its own and sends Last-Event-ID), with the real engine and Docker, across a server restart:
// a run launched after the restart, before the client is back, still reaches it whole, in order and once. Who sees
// what follows `GET /xapi/containers`: the administrator and the launching member see messages and exit codes, the
// project owner too, an outsider's stream shows nothing of the project. Live log followers
// (`logs/{file}?follow=true`) are let go when their client hangs up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import { ensureDockerHarness } from './helpers/docker.ts';
import { auth, startOpsSite, type OpsSite, type Who } from './helpers/ops-fixture.ts';
import { call } from './xapi-helpers.ts';

let site: OpsSite;

interface Received { eventId: number; data: { id: number; status: string; 'exit-code': string | null; message: string | null; hint: string | null; project: string } }

/** A real EventSource as `who`, collecting status events; `opened` counts (re)connections. */
function subscribe(who: Who, lastEventId?: number): { es: EventSource; events: Received[]; opened: () => number } {
  let opened = 0;
  const events: Received[] = [];
  const url = `${site.server.url}/xapi/containers/events${lastEventId === undefined ? '' : `?lastEventId=${lastEventId}`}`;
  const es = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...auth(who) } }),
  });
  es.addEventListener('open', () => { opened++; });
  es.addEventListener('status', (e) => { events.push({ eventId: Number(e.lastEventId), data: JSON.parse(e.data) as Received['data'] }); });
  return { es, events, opened: () => opened };
}

/** Queued first, the end last, the rest in lifecycle order (a quick container may skip Running). */
function assertLifecycle(statuses: string[], end: string): void {
  const order = ['Queued', 'Staging', 'Created', 'Running', 'Waiting', 'Finalizing', end];
  assert.equal(statuses[0], 'Queued', statuses.join(','));
  assert.equal(statuses[statuses.length - 1], end, statuses.join(','));
  const idx = statuses.map((s) => order.indexOf(s));
  assert.ok(idx.every((x, i) => x >= 0 && (i === 0 || x > idx[i - 1])), statuses.join(','));
  assert.ok(statuses.includes('Staging') && statuses.includes('Finalizing'), statuses.join(','));
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1200) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  await ensureDockerHarness();
  site = await startOpsSite(2);
});

after(async () => {
  await site.stop();
});

test('refusals: guests get 401, a bad Last-Event-ID a 400 that says where', async () => {
  assert.equal((await call(site.server.url, 'GET', '/xapi/containers/events')).status, 401);
  const bad = await call(site.server.url, 'GET', '/xapi/containers/events', { headers: { ...auth('admin'), 'last-event-id': 'abc' } });
  assert.equal(bad.status, 400);
  assert.equal((bad.body as { path: string }).path, 'Last-Event-ID');
});

test('status events across a restart: resumed with Last-Event-ID, without gaps; outsiders see nothing', async () => {
  const admin = subscribe('admin');
  const member = subscribe('member');
  const outsider = subscribe('outsider');
  await until('three streams', () => admin.opened() === 1 && member.opened() === 1 && outsider.opened() === 1);

  const first = await site.launch('fail', 0);
  await until('the first run to end on the admin stream', () => admin.events.some((e) => e.data.id === first && e.data.status === 'Failed'));
  const failed = admin.events.find((e) => e.data.id === first && e.data.status === 'Failed')!;
  assert.equal(failed.data['exit-code'], '3');
  assert.match(failed.data.hint ?? '', /non-zero code/);
  assert.equal(failed.data.project, 'P');
  assertLifecycle(admin.events.filter((e) => e.data.id === first).map((e) => e.data.status), 'Failed');

  // The server goes away; a run is launched on the new one before the clients are back.
  await site.restart();
  const second = await site.launch('ok', 1);
  await site.waitEnded([second]);
  await until('the admin stream to resume', () => admin.events.some((e) => e.data.id === second && e.data.status === 'Complete'));
  await until('the member stream to resume', () => member.events.some((e) => e.data.id === second && e.data.status === 'Complete'));
  assert.ok(admin.opened() >= 2, 'the client reconnected');

  // Every event once, in order, and the same as a fresh read of the whole history.
  const ids = admin.events.map((e) => e.eventId);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length);
  assertLifecycle(admin.events.filter((e) => e.data.id === second).map((e) => e.data.status), 'Complete');
  const replay = subscribe('admin', 0);
  await until('the replay', () => replay.events.length >= admin.events.length);
  assert.deepEqual(replay.events.map((e) => e.eventId), ids);
  replay.es.close();

  // The launching member sees their runs in full; the outsider's stream carries nothing of project P.
  assert.deepEqual(member.events.map((e) => e.eventId), ids);
  assert.equal(member.events.find((e) => e.data.status === 'Failed')?.data['exit-code'], '3');
  // Nothing reaches the outsider to say when it is back: wait for its reconnection (seconds on a loaded machine).
  await until('the outsider to reconnect too', () => outsider.opened() >= 2);
  assert.deepEqual(outsider.events, []);
  for (const c of [admin, member, outsider]) c.es.close();
});

test('a project reader who neither launched nor owns sees statuses only (the scrubbed form)', async () => {
  await site.server.opened.users.setRole('P', 'outsider', 'collaborator');
  const reader = subscribe('outsider');
  const owner = subscribe('owner');
  await until('two streams', () => reader.opened() === 1 && owner.opened() === 1);
  const id = await site.launch('fail', 0);
  await until('the end on both', () => [reader, owner].every((c) => c.events.some((e) => e.data.id === id && e.data.status === 'Failed')));
  const seen = reader.events.find((e) => e.data.status === 'Failed')!.data;
  assert.deepEqual([seen['exit-code'], seen.message, seen.hint], [null, null, null]);
  const owned = owner.events.find((e) => e.data.status === 'Failed')!.data;
  assert.equal(owned['exit-code'], '3');
  reader.es.close();
  owner.es.close();
  await site.server.opened.users.setRole('P', 'outsider', null);
});

/** `count` clients each send a GET of `path` as the member and hang up at once, before any answer. */
async function hangUps(path: string, count: number): Promise<void> {
  const { port } = new URL(site.server.url);
  const authorization = auth('member').authorization;
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.end(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\n\r\n`);
      socket.destroy();
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  })));
}

/** The gauge `name` read from /metrics. */
async function gauge(name: string): Promise<number> {
  const metrics = await (await fetch(`${site.server.url}/metrics`, { headers: auth('admin') })).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
}

/** The gauge once it reads `want`, or its last reading after about 5 s. */
async function gaugeSettles(name: string, want: number): Promise<number> {
  let n = NaN;
  for (let i = 0; i < 50 && n !== want; i++) {
    await sleep(100);
    n = await gauge(name);
  }
  return n;
}

test('clients gone before their stream opened leave no stream behind (nor a heartbeat keeping the server up)', async () => {
  // The server reads the caller's permissions before it opens the stream, and by then the connection is gone.
  await hangUps('/xapi/containers/events', 30);
  assert.equal(await gaugeSettles('xcs_status_stream_subscribers', 0), 0, 'streams of clients that hung up are still open');
});

test('a live log follower is counted while it follows and let go when its client hangs up, also before its follow began', async () => {
  const url = site.server.url;
  const command = {
    name: 'ops-sleep', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': 'sh -c "echo started; sleep 60"',
    'override-entrypoint': true,
    xnat: [{ name: 'ops-sleep-session', contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }] }],
  };
  const reg = await call(url, 'POST', '/xapi/commands', { headers: auth('admin'), json: command });
  assert.equal(reg.status, 201, reg.text);
  const wrapper = ((await call(url, 'GET', `/xapi/commands/${Number(reg.body)}`, { headers: auth('admin') })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  await call(url, 'PUT', `/xapi/wrappers/${wrapper}/enabled`, { headers: auth('admin') });
  await call(url, 'PUT', `/xapi/projects/P/wrappers/${wrapper}/enabled`, { headers: auth('admin') });
  const launched = await call(url, 'POST', `/xapi/projects/P/wrappers/${wrapper}/root/session/launch`,
    { headers: auth('member'), json: { session: site.sessions[0] } });
  assert.equal(launched.status, 200, launched.text);
  const id = (launched.body as { id: number }).id;
  for (let i = 0; ; i++) {
    const run = (await call(url, 'GET', `/xapi/containers/${id}`, { headers: auth('admin') })).body as { status: string };
    if (run.status === 'Running') break;
    assert.ok(i < 600 && !/^(Complete|Failed|Killed)/.test(run.status), `the run did not start: ${run.status}`);
    await sleep(50);
  }
  const path = `/xapi/containers/${id}/logs/stdout?follow=true`;

  // A follower that stays is counted, and no longer once it hangs up: the gauge sees followers.
  const live = new AbortController();
  const response = await fetch(`${url}${path}`, { headers: auth('member'), signal: live.signal });
  const reader = response.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /started/);
  assert.equal(await gauge('xcs_log_followers'), 1);
  live.abort();
  assert.equal(await gaugeSettles('xcs_log_followers', 0), 0, 'a follower that hung up is still counted');

  // The server reads the run before it starts following, and by then the connection is gone.
  await hangUps(path, 30);
  assert.equal(await gaugeSettles('xcs_log_followers', 0), 0, 'followers of clients that hung up are still following');
  assert.equal((await call(url, 'POST', `/xapi/containers/${id}/kill`, { headers: auth('member') })).status, 200);
  await site.waitEnded([id]);
});
