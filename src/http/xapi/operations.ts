/**
 * The operations side of the container service, wired to one server's engine: the live status stream, webhooks
 * and status e-mails (`src/notifications/`), run metrics, and one info log line per run status change.
 *
 * Environment: `XCS_SMTP_URL` + `XCS_MAIL_FROM` (status e-mails, when the `status-email-enabled` setting is on),
 * `XCS_WEBHOOK_RETRY_MS` (first retry delay of a failed delivery, default 5000, doubled each time).
 */
import type { FastifyInstance } from 'fastify';
import { smtpTransport, type MailPort } from '../../notifications/mail.ts';
import { Notifier } from '../../notifications/notifier.ts';
import { hostPolicy } from '../../notifications/webhook-guard.ts';
import { DEFAULT_RETENTION_DAYS } from '../../notifications/retention.ts';
import type { RunRecord } from '../../runtime/index.ts';
import type { ServerDeps } from '../server.ts';
import type { AccessControl } from './access.ts';
import { containerJson } from './container-json.ts';
import type { XapiContext } from './context.ts';
import type { SettingsStore } from './settings.ts';
import { registerStatusStream } from './status-stream.ts';
import { registerWebhookRoutes } from './webhook-routes.ts';
import { positiveIntFromEnv } from '../../core/env.ts';

/** What a webhook delivery says about a run: its owner's view of the container record, secrets scrubbed. */
export function runSummary(ctx: XapiContext, run: RunRecord): Record<string, unknown> {
  const history = ctx.engine.history(run.id);
  const json = containerJson(run, history.slice(-1), true);
  const last = (json.history as Array<{ message: string | null }>)[0];
  return {
    id: run.id, status: run.status, 'status-time': json['status-time'], project: run.project, 'user-id': run.userId,
    'command-id': run.commandId, 'wrapper-id': run.wrapperId, 'command-name': run.spec['command-name'], 'wrapper-name': run.spec['wrapper-name'],
    'exit-code': run.exitCode, 'failure-code': run.failureCode, 'failure-hint': run.failureHint, message: last?.message ?? null,
    attempt: run.attempt,
  };
}

export function wireOperations(app: FastifyInstance, deps: ServerDeps, ctx: XapiContext, access: AccessControl,
  settings: SettingsStore): { start(): void; stop(): Promise<void> } {
  const engine = ctx.engine;
  const metrics = deps.metrics;
  registerStatusStream(app, ctx, access, metrics ? {
    onOpen: () => metrics.streamSubscribers.inc(), onClose: () => metrics.streamSubscribers.dec(),
  } : {});
  metrics?.observeEngine(engine);

  let transport: ReturnType<typeof smtpTransport> | undefined;
  const smtp = process.env.XCS_SMTP_URL;
  if (smtp) transport = smtpTransport(smtp, process.env.XCS_MAIL_FROM ?? '');
  const mail: MailPort | undefined = transport && {
    send: transport.send,
    addressOf: async (login) => (await deps.users.getUser(login))?.email || null,
    labelOf: async (uri) => {
      const record = await deps.archive.get(await deps.archive.resolveUri(uri)) as { label?: string; id?: string } | undefined;
      return record?.label || record?.id || null;
    },
  };
  const webhookHosts = () => hostPolicy(settings.server()['webhook-allowed-hosts'] ?? []);
  const log = { info: (m: string) => app.log.info(m), warn: (m: string) => app.log.warn(m), error: (m: string) => app.log.error(m) };
  const notifier = new Notifier({
    db: engine.database, store: engine.store, feed: engine.feed, summarize: (run) => runSummary(ctx, run), log, mail,
    mayReceive: async (hook) => {
      const owner = await deps.users.getUser(hook.owner);
      if (!owner) return false;
      return hook.project === null ? owner.siteAdmin : owner.siteAdmin || access.can(owner, 'delete', hook.project);
    },
    emailEnabled: () => settings.server()['status-email-enabled'] === true,
    hostPolicy: webhookHosts,
    retention: () => {
      const s = settings.server();
      return { statusEvents: s['status-event-retention-days'] ?? DEFAULT_RETENTION_DAYS, deliveries: s['delivery-retention-days'] ?? DEFAULT_RETENTION_DAYS };
    },
    retryDelayMs: positiveIntFromEnv('XCS_WEBHOOK_RETRY_MS'), active: () => engine.replicas.leading,
  });
  registerWebhookRoutes(app, notifier.webhooks, access, webhookHosts);

  // One line per status change, for operators reading the log (no messages: they may quote a tool's output).
  const offLog = engine.feed.subscribe((e) => {
    const run = engine.store.get(e.runId);
    app.log.info({ run: e.runId, status: e.status, project: run?.project ?? null, user: run?.userId ?? null,
      exitCode: e.exitCode, failureCode: run && e.status === run.status ? run.failureCode : null, event: e.id }, 'run status changed');
  });
  return {
    start: () => notifier.start(),
    stop: async () => {
      offLog();
      await notifier.stop();
      transport?.close();
    },
  };
}
