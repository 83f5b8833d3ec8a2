/**
 * XNAT's status e-mail (`status-email-enabled`): the launching user hears when a run ends — failed or completed,
 * as XNAT sends for main containers — with XNAT's subject `<pipeline> update: Completed|Failed processing of
 * <object> in project <project>`. Mails wait in `mail_outbox` and are retried with backoff. The runs of one bulk
 * launch are held until the whole batch ended and then go out as one digest.
 */
import { sqlList } from '../core/database/sync-sql.ts';
import nodemailer from 'nodemailer';
import { XcsError } from '../core/errors.ts';
import type { EngineLogger, RunDatabase, RunRecord, RunStore } from '../runtime/index.ts';
import { batchOfRun, isTerminal, openBatchMayClaim } from '../runtime/index.ts';

export interface MailMessage { to: string; subject: string; text: string }

/** Where mail goes: an SMTP server, and the address book (login → e-mail). */
export interface MailPort {
  send(message: MailMessage): Promise<void>;
  addressOf(login: string): Promise<string | null>;
  /** The label (or id) of the archive object at `uri`, as XNAT names a run's root object; null when unknown. */
  labelOf?(uri: string): Promise<string | null>;
}

/**
 * An SMTP transport from `XCS_SMTP_URL` (`smtp://[user:pass@]host:port`, `smtps://` for TLS from the start;
 * `smtp://` upgrades with STARTTLS when the server offers it) sending as `XCS_MAIL_FROM`.
 */
export function smtpTransport(url: string, from: string): Pick<MailPort, 'send'> & { close(): void } {
  let parsed: URL;
  try { parsed = new URL(url); } catch { throw new XcsError('config.invalid', `XCS_SMTP_URL is not a URL: "${url}"`, { path: 'XCS_SMTP_URL' }); }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new XcsError('config.invalid', `XCS_SMTP_URL must start with smtp:// or smtps://, not ${parsed.protocol}`, { path: 'XCS_SMTP_URL' });
  }
  if (!from.includes('@')) {
    throw new XcsError('config.invalid', `XCS_MAIL_FROM must be an e-mail address, not "${from}"`, { path: 'XCS_MAIL_FROM',
      hint: 'set XCS_MAIL_FROM=xcs@your.site along with XCS_SMTP_URL' });
  }
  const transport = nodemailer.createTransport(url);
  return {
    send: async (m) => { await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text }); },
    close: () => transport.close(),
  };
}

const MAX_ATTEMPTS = 8;
/** How long a sender holds the rows it is sending (an SMTP exchange takes far less). */
const CLAIM_MS = 5 * 60_000;
/** Thrown inside a claim's transaction to undo it when another sender has some of the rows. */
const CLAIM_LOST = new Error('mail rows claimed by another sender');

interface MailRow { id: number; user_id: string; run_id: number; status: string; attempts: number }

function outcome(status: string): string {
  return status === 'Complete' ? 'Completed' : status.startsWith('Killed') ? 'Killed' : 'Failed';
}

/** Run id → the name of the object it ran on. */
type Names = Map<number, string>;

/** XNAT's "label or id" of the run's root object: its first archive-object input. */
async function rootName(run: RunRecord, port: MailPort): Promise<string> {
  if (run.spec['parent-source-object-name']) return run.spec['parent-source-object-name'];
  const root = run.spec['external-wrapper-input-values'].find((v) => typeof v.value === 'string' && v.value.startsWith('/'));
  const label = root && port.labelOf ? await port.labelOf(root.value).catch(() => null) : null;
  return label ?? root?.value ?? `container ${run.id}`;
}

function describeRun(run: RunRecord, names: Names): string {
  const lines = [`Container ${run.id} (${run.spec['wrapper-name']}, command ${run.spec['command-name']}) ended: ${run.status}`,
    `  on ${names.get(run.id)}${run.project ? ` in project ${run.project}` : ''}`];
  if (run.exitCode !== null) lines.push(`  exit code ${run.exitCode}`);
  if (run.failureHint) lines.push(`  ${run.failureHint}`);
  return lines.join('\n');
}

export class MailQueue {
  readonly #db: RunDatabase;
  readonly #store: RunStore;
  readonly #port: MailPort;
  readonly #log: EngineLogger;
  readonly #now: () => number;

  constructor(db: RunDatabase, store: RunStore, port: MailPort, log: EngineLogger, now: () => number) {
    this.#db = db;
    this.#store = store;
    this.#port = port;
    this.#log = log;
    this.#now = now;
  }

  /** Queues the ended run's e-mail to its launching user (part of the notifier's transaction). */
  enqueue(run: RunRecord, status: string, t: number): void {
    this.#db.prepare(`INSERT INTO mail_outbox (user_id, run_id, status, state, next_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)`)
      .run(run.userId, run.id, status, t, t);
  }

  async sendDue(): Promise<void> {
    const t = this.#now();
    const rows = this.#db.prepare(`SELECT * FROM mail_outbox WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT 500`).all(t) as MailRow[];
    const done = new Set<number>();
    for (const row of rows) {
      if (done.has(row.id)) continue;
      const run = this.#store.get(row.run_id);
      if (!run) { this.#finish([row.id], 'dropped', 'run deleted'); continue; }
      const batch = batchOfRun(this.#db, run.id, t);
      let group: MailRow[] = [row];
      let runs: RunRecord[] = [run];
      if (batch) {
        // One digest per bulk launch: wait until it is launched in full and every run of it ended.
        if (!batch.closed) continue;
        runs = batch.runIds.map((id) => this.#store.get(id)).filter((r): r is RunRecord => r !== undefined);
        if (runs.some((r) => !isTerminal(r.status))) continue;
        const ids = new Set(batch.runIds);
        group = (this.#db.prepare(`SELECT * FROM mail_outbox WHERE state = 'pending' AND user_id = ?`).all(row.user_id) as MailRow[])
          .filter((r) => ids.has(r.run_id));
        // The others' rows may be missing only while e-mail was switched off: then the digest covers the rest.
        runs = runs.filter((r) => group.some((g) => g.run_id === r.id));
      } else if (openBatchMayClaim(this.#db, run.userId, run.createdAt, t)) {
        continue; // a bulk launch by the same user is under way and may still claim this run
      }
      for (const g of group) done.add(g.id);
      if (!this.#claim(group.map((g) => g.id), t)) continue;
      await this.#deliver(row.user_id, group, runs, batch?.id ?? null);
    }
  }

  /**
   * Takes the rows for this sender, all or none, by moving their due time past the claim: another replica that read
   * them too (one that still believed it led, say) finds them taken and sends nothing. A sender that dies before it
   * records the outcome leaves them due again once the claim lapses.
   */
  #claim(ids: number[], t: number): boolean {
    const take = this.#db.transaction(() => {
      const info = this.#db.prepare(`UPDATE mail_outbox SET next_at = ? WHERE id IN ${sqlList(ids)} AND state = 'pending' AND next_at <= ?`)
        .run(t + CLAIM_MS, ...ids, t);
      if (info.changes !== ids.length) throw CLAIM_LOST;
    });
    try {
      take();
      return true;
    } catch (e) {
      if (e === CLAIM_LOST) return false;
      throw e;
    }
  }

  async #deliver(login: string, group: MailRow[], runs: RunRecord[], batchId: string | null): Promise<void> {
    const ids = group.map((g) => g.id);
    try {
      const to = await this.#port.addressOf(login);
      if (!to) { this.#finish(ids, 'dropped', `user ${login} has no e-mail address`); return; }
      const names: Names = new Map();
      for (const r of runs) names.set(r.id, await rootName(r, this.#port));
      const message = runs.length === 1 && batchId === null ? single(runs[0], to, names) : digest(runs, to, batchId, names);
      await this.#port.send(message);
      this.#finish(ids, 'sent', null);
    } catch (e) {
      const attempts = Math.max(...group.map((g) => g.attempts)) + 1;
      const error = e instanceof Error ? e.message : String(e);
      const giveUp = attempts >= MAX_ATTEMPTS;
      this.#db.prepare(`UPDATE mail_outbox SET attempts = ?, last_error = ?, next_at = ?, state = ? WHERE id IN ${sqlList(ids)}`)
        .run(attempts, error.slice(0, 500), this.#now() + Math.min(3_600_000, 10_000 * 2 ** (attempts - 1)), giveUp ? 'failed' : 'pending', ...ids);
      this.#log.warn(`status e-mail to ${login} failed (attempt ${attempts}): ${error}`);
    }
  }

  #finish(ids: number[], state: string, note: string | null): void {
    this.#db.prepare(`UPDATE mail_outbox SET state = ?, last_error = ? WHERE id IN ${sqlList(ids)}`).run(state, note, ...ids);
  }
}

function single(run: RunRecord, to: string, names: Names): MailMessage {
  const subject = `${run.spec['wrapper-name']} update: ${outcome(run.status)} processing of ${names.get(run.id)}` +
    (run.project ? ` in project ${run.project}` : '');
  return { to, subject, text: `${describeRun(run, names)}\n\nLogs: xcs logs ${run.id} (or GET /xapi/containers/${run.id}/logs)\n` };
}

function digest(runs: RunRecord[], to: string, batchId: string | null, names: Names): MailMessage {
  const failed = runs.filter((r) => r.status !== 'Complete').length;
  const pipelines = [...new Set(runs.map((r) => r.spec['wrapper-name']))].join(', ');
  const subject = `${pipelines} update: ${runs.length} runs ended, ${runs.length - failed} completed, ${failed} failed or killed`;
  const text = [`${batchId ? `Bulk launch ${batchId}` : 'Runs'}: ${runs.length} ended.`, '',
    ...runs.map((r) => describeRun(r, names)), ''].join('\n');
  return { to, subject, text };
}
