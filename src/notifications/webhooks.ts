/**
 * Webhook subscriptions and their delivery log (`webhooks`, `webhook_deliveries` in the run database).
 * A webhook belongs to the user who registered it; one with a project hears only that project's runs, one
 * without (site administrators only) hears every run. The secret signs deliveries and is never shown again.
 */
import { createHmac } from 'node:crypto';
import { XcsError } from '../core/errors.ts';
import type { SqlValue } from '../core/database/sync-sql.ts';
import type { RunDatabase } from '../runtime/index.ts';

export const WEBHOOK_EVENTS = ['run.completed', 'run.failed', 'run.killed', 'batch.completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  id: number;
  url: string;
  events: WebhookEvent[];
  project: string | null;
  owner: string;
  createdAt: number;
}

export interface NewWebhook {
  url: string;
  events: WebhookEvent[];
  secret: string;
  project: string | null;
}

export interface Delivery {
  id: number;
  webhookId: number;
  event: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  body: string;
}

interface WebhookRow { id: number; url: string; events: string; secret: string; project: string | null; owner: string; created_at: number }
interface DeliveryRow {
  id: number; webhook_id: number; event: string; body: string; state: Delivery['state']; attempts: number; next_at: number;
  last_status: number | null; last_error: string | null; created_at: number; delivered_at: number | null;
}

const MAX_URL = 2048;

function bad(message: string, path: string, hint?: string): XcsError {
  return new XcsError('xapi.webhook.invalid', message, { path, hint });
}

/** Checks a posted webhook: `{url, events, secret, project?}`, saying what is wrong and where. */
export function parseWebhook(body: unknown): NewWebhook {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object', '', 'send {"url": "https://…", "events": ["run.failed"], "secret": "…", "project": "P"}');
  }
  const b = body as Record<string, unknown>;
  const known = new Set(['url', 'events', 'secret', 'project']);
  for (const k of Object.keys(b)) if (!known.has(k)) throw bad(`unknown field "${k}"`, `/${k}`, 'fields: url, events, secret, project');
  if (typeof b.url !== 'string' || b.url.length > MAX_URL) throw bad('"url" must be an http or https URL', '/url');
  let url: URL;
  try { url = new URL(b.url); } catch { throw bad(`"url" is not a URL: ${JSON.stringify(b.url)}`, '/url'); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`"url" must use http or https, not ${url.protocol}`, '/url');
  if (url.username || url.password) throw bad('"url" must not carry credentials; the secret signs each delivery', '/url');
  if (!Array.isArray(b.events) || b.events.length === 0) throw bad('"events" must be a non-empty list', '/events', `events: ${WEBHOOK_EVENTS.join(', ')}`);
  const events = b.events.map((e, i) => {
    if (typeof e !== 'string' || !(WEBHOOK_EVENTS as readonly string[]).includes(e)) {
      throw bad(`events[${i}] is not an event: ${JSON.stringify(e)}`, `/events/${i}`, `events: ${WEBHOOK_EVENTS.join(', ')}`);
    }
    return e as WebhookEvent;
  });
  if (typeof b.secret !== 'string' || b.secret.length < 16 || b.secret.length > 512) {
    throw bad('"secret" must be a string of 16 to 512 characters', '/secret', 'the receiver checks X-XCS-Signature with it');
  }
  if (b.project !== undefined && b.project !== null && (typeof b.project !== 'string' || b.project === '')) {
    throw bad('"project" must be a project id', '/project');
  }
  return { url: url.toString(), events: [...new Set(events)], secret: b.secret, project: typeof b.project === 'string' ? b.project : null };
}

/** `sha256=<hex HMAC-SHA256 of body>`: the `X-XCS-Signature` header of a delivery. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function toWebhook(r: WebhookRow): Webhook {
  return { id: r.id, url: r.url, events: JSON.parse(r.events) as WebhookEvent[], project: r.project, owner: r.owner, createdAt: r.created_at };
}

function toDelivery(r: DeliveryRow): Delivery {
  return { id: r.id, webhookId: r.webhook_id, event: r.event, state: r.state, attempts: r.attempts, nextAt: r.next_at,
    lastStatus: r.last_status, lastError: r.last_error, createdAt: r.created_at, deliveredAt: r.delivered_at, body: r.body };
}

export class WebhookStore {
  readonly #db: RunDatabase;

  constructor(db: RunDatabase) {
    this.#db = db;
  }

  create(hook: NewWebhook, owner: string, now = Date.now()): Webhook {
    const { id } = this.#db.prepare<SqlValue[], { id: number }>(
      'INSERT INTO webhooks (url, events, secret, project, owner, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id')
      .get(hook.url, JSON.stringify(hook.events), hook.secret, hook.project, owner, now)!;
    return this.get(id)!;
  }

  get(id: number): Webhook | undefined {
    const row = this.#db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as WebhookRow | undefined;
    return row ? toWebhook(row) : undefined;
  }

  list(): Webhook[] {
    return (this.#db.prepare('SELECT * FROM webhooks ORDER BY id').all() as WebhookRow[]).map(toWebhook);
  }

  secretOf(id: number): string | undefined {
    return (this.#db.prepare('SELECT secret FROM webhooks WHERE id = ?').get(id) as { secret: string } | undefined)?.secret;
  }

  /** Removes the webhook and its delivery log. */
  delete(id: number): boolean {
    return this.#db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes === 1;
  }

  /** Queues a delivery (part of the caller's transaction, when there is one). */
  enqueue(webhookId: number, event: WebhookEvent, body: string, now: number): void {
    this.#db.prepare(`INSERT INTO webhook_deliveries (webhook_id, event, body, state, next_at, created_at)
        VALUES (?, ?, ?, 'pending', ?, ?)`).run(webhookId, event, body, now, now);
  }

  due(now: number, limit = 50): Delivery[] {
    return (this.#db.prepare(`SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`)
      .all(now, limit) as DeliveryRow[]).map(toDelivery);
  }

  /**
   * Takes a due delivery for this sender by moving its due time to `until`: another replica that read it too (one
   * that still believed it led, say) finds it taken and sends nothing. A sender that dies before it records the
   * outcome leaves it due again at `until`. False when someone else took it first.
   */
  claim(id: number, now: number, until: number): boolean {
    return this.#db.transaction(() => this.#db.prepare(`UPDATE webhook_deliveries SET next_at = ?
        WHERE id = ? AND state = 'pending' AND next_at <= ?`).run(until, id, now).changes === 1)();
  }

  /** The earliest time a pending delivery is due, or null. */
  nextDue(): number | null {
    return (this.#db.prepare(`SELECT MIN(next_at) AS t FROM webhook_deliveries WHERE state = 'pending'`).get() as { t: number | null }).t;
  }

  deliveries(webhookId: number, limit = 100): Delivery[] {
    return (this.#db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?')
      .all(webhookId, limit) as DeliveryRow[]).map(toDelivery);
  }

  recordSuccess(id: number, status: number, now: number): void {
    this.#db.prepare(`UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL,
        delivered_at = ? WHERE id = ?`).run(status, now, id);
  }

  /** A failed attempt: retried at `nextAt`, or given up (`failed`) when `nextAt` is null. */
  recordFailure(id: number, status: number | null, error: string, nextAt: number | null): void {
    this.#db.prepare(`UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
        next_at = COALESCE(?, next_at) WHERE id = ?`).run(nextAt === null ? 'failed' : 'pending', status, error.slice(0, 500), nextAt, id);
  }
}
