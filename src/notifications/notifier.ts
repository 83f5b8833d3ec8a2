/**
 * Turns ended runs into notifications, durably. The numbered status events (`status_events`, written with each
 * status change) are the outbox: the notifier keeps a cursor, and for each terminal event records the webhook
 * deliveries and the e-mail it causes in the same transaction that advances the cursor. A crash before that
 * commit makes the next process read the event again; after it, the rows are there. Deliveries and e-mails are
 * then sent from their tables with retries and backoff, so a restart in the middle of a retry loses nothing.
 */
import type { EngineLogger, RunDatabase, RunRecord, RunStore, StatusEvent, StatusFeed } from '../runtime/index.ts';
import { batchState, eventsAfter, isTerminal, markBatchAnnounced, STALE_BATCH_MS } from '../runtime/index.ts';
import { signature, WebhookStore, type Webhook, type WebhookEvent } from './webhooks.ts';
import { MailQueue, type MailPort } from './mail.ts';
import { hostPolicy, type WebhookHostPolicy } from './webhook-guard.ts';
import { postWebhook } from './webhook-send.ts';
import { DEFAULT_RETENTION_DAYS, pruneOperations, type Pruned, type RetentionDays } from './retention.ts';

const CURSOR = 'notifications';
const TICK_MS = 1000;
const MAX_ATTEMPTS = 10;
const MAX_DELAY_MS = 60 * 60_000;
const SEND_TIMEOUT_MS = 10_000;
/** How long a sender holds a delivery it is making (longer than any attempt takes, the host check included). */
const CLAIM_MS = 5 * 60_000;
/** How often old events and finished deliveries are pruned (retention.ts). */
const PRUNE_EVERY_MS = 60 * 60_000;

export interface NotifierDeps {
  db: RunDatabase;
  store: RunStore;
  feed: StatusFeed;
  /** What a delivery says about a run: what its owner may see of it (secrets scrubbed). */
  summarize(run: RunRecord): Record<string, unknown>;
  /**
   * Whether the webhook's owner may still hear about its scope (site-wide: still a site administrator; a project:
   * still its owner), asked before each delivery so that a revoked owner stops receiving run summaries.
   */
  mayReceive(hook: Webhook): Promise<boolean>;
  /** Whether status e-mails are on (the server setting `status-email-enabled`), asked per ended run. */
  emailEnabled(): boolean;
  /** Where deliveries may go (the server setting `webhook-allowed-hosts`), asked per delivery; default: public addresses only. */
  hostPolicy?(): WebhookHostPolicy;
  /** How long events and finished deliveries are kept (server settings), asked per pruning pass; default 30 days each. */
  retention?(): RetentionDays;
  mail?: MailPort;
  log: EngineLogger;
  /**
   * Whether this process does the notifying: of several replicas on one database only the one holding the
   * engine's events lease does (`RunEngine.replicas.leading`), so that no delivery is recorded or sent twice.
   * Default: always.
   */
  active?(): boolean;
  /** First retry delay of a failed delivery; doubled each time (default 5 s). */
  retryDelayMs?: number;
  now?: () => number;
}

/** The webhook event of a terminal status. */
export function eventOf(status: string): WebhookEvent | null {
  if (status.startsWith('Complete')) return 'run.completed';
  if (status.startsWith('Failed')) return 'run.failed';
  if (status.startsWith('Killed')) return 'run.killed';
  return null;
}

export class Notifier {
  readonly webhooks: WebhookStore;
  readonly #d: NotifierDeps;
  readonly #mail: MailQueue | undefined;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #pruneTimer: NodeJS.Timeout | null = null;
  #firstPrune: NodeJS.Timeout | null = null;
  #pruning: Promise<Pruned> | null = null;
  #busy: Promise<void> | null = null;
  #again = false;
  #off: (() => void) | null = null;
  #stopped = false;

  constructor(deps: NotifierDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.webhooks = new WebhookStore(deps.db);
    this.#mail = deps.mail ? new MailQueue(deps.db, deps.store, deps.mail, deps.log, this.#now) : undefined;
  }

  start(): void {
    this.#off = this.#d.feed.subscribe((e) => { if (isTerminal(e.status)) this.pump(); });
    this.#timer = setInterval(() => this.pump(), TICK_MS);
    this.#timer.unref();
    // The first pass a minute after start-up (not during it), then hourly.
    const first = setTimeout(() => { void this.prune(); }, 60_000);
    first.unref();
    this.#pruneTimer = setInterval(() => { void this.prune(); }, PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
    this.#firstPrune = first;
    this.pump();
  }

  /** Deletes old consumed events and old finished deliveries and e-mails (one pass at a time). */
  prune(): Promise<Pruned> {
    if (this.#stopped || this.#d.active?.() === false) return Promise.resolve({ statusEvents: 0, deliveries: 0, mails: 0 });
    const days = this.#d.retention?.() ?? { statusEvents: DEFAULT_RETENTION_DAYS, deliveries: DEFAULT_RETENTION_DAYS };
    this.#pruning ??= pruneOperations(this.#d.db, days, this.#now(), CURSOR)
      .catch((e: unknown) => {
        this.#d.log.error(`notifications: pruning old rows failed: ${e instanceof Error ? e.message : String(e)}`);
        return { statusEvents: 0, deliveries: 0, mails: 0 };
      })
      .finally(() => { this.#pruning = null; });
    return this.#pruning;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#off?.();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    if (this.#firstPrune) clearTimeout(this.#firstPrune);
    await Promise.all([this.#busy, this.#pruning]);
  }

  /** Runs one pass (or schedules another after the one in progress). Resolves when the pass ends. */
  pump(): Promise<void> {
    if (this.#stopped || this.#d.active?.() === false) return Promise.resolve();
    if (this.#busy) { this.#again = true; return this.#busy; }
    this.#busy = (async () => {
      do {
        this.#again = false;
        try {
          this.#record();
          this.#announceBatches();
          await Promise.all([this.#sendWebhooks(), this.#mail?.sendDue()]);
        } catch (e) {
          this.#d.log.error(`notifications: ${e instanceof Error ? e.message : String(e)}`);
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => { this.#busy = null; });
    return this.#busy;
  }

  #cursor(): number {
    const row = this.#d.db.prepare('SELECT event_id FROM notification_cursors WHERE name = ?').get(CURSOR) as { event_id: number } | undefined;
    return row?.event_id ?? 0;
  }

  /** Records what each new terminal event causes, advancing the cursor in the same transaction. */
  #record(): void {
    const db = this.#d.db;
    for (;;) {
      const from = this.#cursor();
      const events = eventsAfter(db, from, 200);
      if (events.length === 0) return;
      const emailOn = this.#d.emailEnabled() && this.#mail !== undefined;
      // Read once per batch, not per event: a first start on a long history reads thousands of events.
      const hooks = this.webhooks.list();
      db.transaction(() => {
        // Another replica sharing the database recorded them meanwhile (SERIALIZABLE makes this check hold).
        if (this.#cursor() !== from) return;
        for (const e of events) this.#recordOne(e, emailOn, hooks);
        db.prepare(`INSERT INTO notification_cursors (name, event_id) VALUES (?, ?)
            ON CONFLICT(name) DO UPDATE SET event_id = excluded.event_id`).run(CURSOR, events[events.length - 1].id);
      })();
    }
  }

  #recordOne(e: StatusEvent, emailOn: boolean, hooks: Webhook[]): void {
    const event = eventOf(e.status);
    if (event === null) return;
    const listening = hooks.filter((h) => h.events.includes(event));
    // Nothing to record: the run is not read (on a first start over 10,000 ended runs, reading each one cost a
    // second of CPU and ~70 MB of resident memory the process kept).
    if (listening.length === 0 && !emailOn) return;
    const run = this.#d.store.get(e.runId);
    if (!run) return;
    const t = this.#now();
    // Site-wide webhooks hear every project.
    const subscribed = listening.filter((h) => h.project === null || h.project === run.project);
    if (subscribed.length > 0) {
      const body = JSON.stringify({ event, 'event-id': e.id, time: new Date(e.time).toISOString(), run: this.#d.summarize(run) });
      for (const h of subscribed) this.webhooks.enqueue(h.id, event, body, t);
    }
    if (emailOn) this.#mail?.enqueue(run, e.status, t);
  }

  /** Closed batches whose runs all ended get one `batch.completed` per subscribed webhook, once. */
  #announceBatches(): void {
    const db = this.#d.db;
    const t = this.#now();
    const ids = (db.prepare('SELECT id FROM batches WHERE announced = 0 AND (closed_at IS NOT NULL OR opened_at < ?)')
      .all(t - STALE_BATCH_MS) as { id: string }[]).map((r) => r.id);
    for (const id of ids) {
      const batch = batchState(db, id, t);
      if (!batch) continue;
      const runs = batch.runIds.map((r) => this.#d.store.get(r)).filter((r): r is RunRecord => r !== undefined);
      if (runs.some((r) => !isTerminal(r.status))) continue;
      db.transaction(() => {
        if (!markBatchAnnounced(db, id)) return;
        for (const h of this.webhooks.list().filter((w) => w.events.includes('batch.completed'))) {
          const mine = h.project === null ? runs : runs.filter((r) => r.project === h.project);
          if (mine.length === 0) continue;
          const count = (p: string): number => mine.filter((r) => r.status.startsWith(p)).length;
          const body = JSON.stringify({ event: 'batch.completed', time: new Date(t).toISOString(),
            batch: { id, user: batch.userId, runs: mine.length, completed: count('Complete'), failed: count('Failed'), killed: count('Killed') },
            runs: mine.map((r) => this.#d.summarize(r)) });
          this.webhooks.enqueue(h.id, 'batch.completed', body, t);
        }
      })();
    }
  }

  async #sendWebhooks(): Promise<void> {
    const now = this.#now();
    const due = this.webhooks.due(now);
    await Promise.all(due.map(async (d) => {
      if (!this.webhooks.claim(d.id, now, now + CLAIM_MS)) return;
      const secret = this.webhooks.secretOf(d.webhookId);
      const hook = this.webhooks.get(d.webhookId);
      if (secret === undefined || !hook) return;
      if (!(await this.#d.mayReceive(hook))) {
        this.webhooks.recordFailure(d.id, null, `${hook.owner} may no longer receive events of ${hook.project ?? 'the site'}`, null);
        return;
      }
      let status: number | null = null;
      let error: string;
      try {
        const res = await postWebhook(hook.url, d.body, {
          'content-type': 'application/json', 'user-agent': 'xcs-webhooks', 'x-xcs-event': d.event,
          'x-xcs-delivery': String(d.id), 'x-xcs-signature': signature(secret, d.body),
        }, this.#d.hostPolicy?.() ?? hostPolicy([]), SEND_TIMEOUT_MS);
        status = res.status;
        if (res.status >= 200 && res.status < 300) {
          this.webhooks.recordSuccess(d.id, res.status, this.#now());
          return;
        }
        error = res.location === null ? `answered ${res.status}`
          : `answered ${res.status}, a redirect to ${res.location.slice(0, 200)}, which is not followed`;
      } catch (e) {
        error = e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
      }
      const attempts = d.attempts + 1;
      const delay = Math.min(MAX_DELAY_MS, (this.#d.retryDelayMs ?? 5000) * 2 ** (attempts - 1));
      const nextAt = attempts >= MAX_ATTEMPTS ? null : this.#now() + delay;
      this.webhooks.recordFailure(d.id, status, error, nextAt);
      this.#d.log.warn(`webhook ${d.webhookId} delivery ${d.id} (${d.event}) failed: ${error}; ` +
        (nextAt === null ? `gave up after ${attempts} attempts` : `retrying in ${Math.round(delay / 1000)} s`));
    }));
  }
}
