/**
 * Two notifiers on one database that both believe they send (a replica that lost the events lease without yet
 * knowing it, next to the new holder): each webhook delivery reaches its receiver once, and each status e-mail
 * goes out once. Each sender claims a delivery or an outbox row before it sends it; without the claim both read
 * the same due rows and both send them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedRuns } from '../scripts/seed-runs.ts';
import { openRunDatabase, type RunDatabase } from '../src/runtime/store/db.ts';
import { JobQueue } from '../src/runtime/store/queue.ts';
import { RunStore } from '../src/runtime/store/run-store.ts';
import { StatusFeed } from '../src/runtime/store/status-events.ts';
import type { MailMessage, MailPort } from '../src/notifications/mail.ts';
import { Notifier } from '../src/notifications/notifier.ts';
import { hostPolicy } from '../src/notifications/webhook-guard.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

const RUNS = 12;

function notifierOn(db: RunDatabase, mail?: MailPort): Notifier {
  const store = new RunStore(db, new JobQueue(db));
  return new Notifier({
    db, store, feed: new StatusFeed(db, store), summarize: (run) => ({ id: run.id, status: run.status }), mail,
    mayReceive: async () => true, emailEnabled: () => mail !== undefined, hostPolicy: () => hostPolicy(['127.0.0.1']),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

test('two senders on one database post each webhook delivery once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-two-senders-'));
  seedRuns(dir, RUNS, { projects: 1 });
  const received: string[] = [];
  // The receiver answers slowly, so both senders are busy with the same due rows at the same time.
  const receiver = createServer((req: IncomingMessage, res) => {
    req.resume();
    received.push(String(req.headers['x-xcs-delivery']));
    setTimeout(() => res.writeHead(204).end(), 200);
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const dbs = [openRunDatabase(join(dir, 'runs.sqlite')), openRunDatabase(join(dir, 'runs.sqlite'))];
  const [a, b] = dbs.map((db) => notifierOn(db));
  try {
    const { port } = receiver.address() as AddressInfo;
    const hook = a.webhooks.create({ url: `http://127.0.0.1:${port}/hook`, events: ['run.completed', 'run.failed'],
      secret: 's'.repeat(32), project: null }, 'admin');
    await Promise.all([a.pump(), b.pump()]);
    // Whatever one pass left pending (a row recorded after the other read its due rows) goes out on the next.
    for (let i = 0; i < 20 && a.webhooks.deliveries(hook.id).some((d) => d.state === 'pending'); i++) {
      await Promise.all([a.pump(), b.pump()]);
      await sleep(50);
    }
    const deliveries = a.webhooks.deliveries(hook.id);
    assert.equal(deliveries.length, RUNS, 'one delivery recorded per ended run');
    assert.ok(deliveries.every((d) => d.state === 'delivered'), JSON.stringify(deliveries.map((d) => d.state)));
    assert.deepEqual([...received].sort(), deliveries.map((d) => String(d.id)).sort(), 'each delivery posted once');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    receiver.close();
    for (const db of dbs) db.close();
    dropDataDirSchemas(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two senders on one database send each status e-mail once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-two-senders-'));
  seedRuns(dir, RUNS, { projects: 1 });
  const sent: MailMessage[] = [];
  // A slow SMTP exchange: both senders go through the same due rows at the same time.
  const port: MailPort = { send: async (m) => { sent.push(m); await sleep(50); }, addressOf: async (login) => `${login}@example.org` };
  const dbs = [openRunDatabase(join(dir, 'runs.sqlite')), openRunDatabase(join(dir, 'runs.sqlite'))];
  const [a, b] = dbs.map((db) => notifierOn(db, port));
  const states = (): string[] => (dbs[0].prepare('SELECT state FROM mail_outbox ORDER BY id').all() as Array<{ state: string }>).map((r) => r.state);
  try {
    await Promise.all([a.pump(), b.pump()]);
    for (let i = 0; i < 20 && states().includes('pending'); i++) {
      await Promise.all([a.pump(), b.pump()]);
      await sleep(50);
    }
    assert.deepEqual(states(), Array(RUNS).fill('sent'), 'one e-mail recorded and sent per ended run');
    const runIds = sent.map((m) => /containers\/(\d+)\/logs/.exec(m.text)?.[1]);
    assert.equal(new Set(runIds).size, RUNS, `each run's e-mail sent once: ${runIds.join(',')}`);
    assert.equal(sent.length, RUNS, `each run's e-mail sent once: ${runIds.join(',')}`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    for (const db of dbs) db.close();
    dropDataDirSchemas(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
