/**
 * `GET /metrics` in Prometheus text format (prom-client), one registry per server. HTTP metrics come from the
 * server's hooks; run metrics from the run engine's status events (`observeRuns`) and, for what is a level
 * rather than an event (active runs, queue depth), from the database at scrape time. Labels are bounded: a
 * route pattern (never a raw URL), a status, a command name, a failure or error code.
 *
 * Who may read it: site administrators, or a scraper sending `Authorization: Bearer $XCS_METRICS_TOKEN`.
 * Never anonymous — run counts per command describe a site's work.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { XcsError } from '../core/errors.ts';
import {
  commandName, isTerminal, lastStatusTime, runsByStatus, uploadedBytes, waitingJobsByQueue, type RunEngine,
} from '../runtime/index.ts';

const RUN_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 48 * 3600];
const ACTIVE_PHASES = ['Queued', 'Staging', 'Created', 'Running', 'Waiting', 'Finalizing'] as const;
const QUEUES = ['stage', 'finalize', 'retry'] as const;

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({ name: 'xcs_http_request_duration_seconds', help: 'HTTP requests by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'xcs_auth_failures_total', help: 'Requests refused for missing or wrong credentials (401)',
    labelNames: ['route'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'xcs_errors_total', help: 'Server errors (5xx) by error code',
    labelNames: ['code'] as const, registers: [this.registry] });
  readonly runs = new Counter({ name: 'xcs_runs_total', help: 'Runs that reached a status, by status and command',
    labelNames: ['status', 'command'] as const, registers: [this.registry] });
  readonly runDuration = new Histogram({ name: 'xcs_run_duration_seconds', help: 'Time from launch to the end of a run, by command and outcome',
    labelNames: ['command', 'outcome'] as const, buckets: RUN_BUCKETS, registers: [this.registry] });
  readonly queueWait = new Histogram({ name: 'xcs_run_queue_wait_seconds', help: 'Time a run waited Queued before staging, by command',
    labelNames: ['command'] as const, buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600], registers: [this.registry] });
  readonly finalizeDuration = new Histogram({ name: 'xcs_finalization_duration_seconds', help: 'Time from Finalizing to the end of a run, by command',
    labelNames: ['command'] as const, buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: [this.registry] });
  readonly uploadedBytes = new Counter({ name: 'xcs_uploaded_bytes_total', help: 'Bytes of output files committed to the archive, by command',
    labelNames: ['command'] as const, registers: [this.registry] });
  readonly failures = new Counter({ name: 'xcs_run_failures_total', help: 'Runs that did not complete, by failure code (backend errors among them)',
    labelNames: ['code'] as const, registers: [this.registry] });
  readonly streamSubscribers = new Gauge({ name: 'xcs_status_stream_subscribers', help: 'Clients connected to /xapi/containers/events',
    registers: [this.registry] });
  readonly logFollowers = new Gauge({ name: 'xcs_log_followers', help: 'Clients following a running container\'s log (logs/{file}?follow=true)',
    registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The HTTP hooks: request duration by route pattern, 401s, and the request id echoed to the client. */
  instrument(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id); });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const status = String(reply.statusCode);
      this.httpDuration.observe({ method: request.method, route, status }, reply.elapsedTime / 1000);
      if (reply.statusCode === 401) this.authFailures.inc({ route });
    });
  }

  /** Levels read from the database at scrape time: active runs by phase, waiting jobs by queue. */
  observeEngine(engine: RunEngine): void {
    new Gauge({ name: 'xcs_active_runs', help: 'Runs not yet ended, by phase', labelNames: ['phase'] as const, registers: [this.registry],
      collect() {
        const counts = runsByStatus(engine, ACTIVE_PHASES);
        for (const p of ACTIVE_PHASES) this.set({ phase: p }, counts.get(p) ?? 0);
      } });
    new Gauge({ name: 'xcs_queue_depth', help: 'Jobs waiting in the engine queues (stage, finalize, retry)', labelNames: ['queue'] as const,
      registers: [this.registry],
      collect() {
        const counts = waitingJobsByQueue(engine);
        for (const q of QUEUES) this.set({ queue: q }, counts.get(q) ?? 0);
      } });
    const commandNames = new Map<number, string>();
    const commandOf = (id: number): string => {
      let name = commandNames.get(id);
      if (name === undefined) {
        name = commandName(engine, id) ?? 'deleted';
        commandNames.set(id, name);
      }
      return name;
    };
    const timeOf = (runId: number, status: string): number | undefined => lastStatusTime(engine, runId, status);
    engine.feed.subscribe((e) => {
      const run = engine.store.get(e.runId);
      if (!run) return;
      const command = commandOf(run.commandId);
      this.runs.inc({ status: e.status, command });
      if (e.status === 'Staging') this.queueWait.observe({ command }, Math.max(0, e.time - (timeOf(run.id, 'Queued') ?? run.createdAt)) / 1000);
      if (!isTerminal(e.status)) return;
      const outcome = e.status.startsWith('Complete') ? 'completed' : e.status.startsWith('Killed') ? 'killed' : 'failed';
      this.runDuration.observe({ command, outcome }, Math.max(0, e.time - run.createdAt) / 1000);
      const finalizing = timeOf(run.id, 'Finalizing');
      if (finalizing !== undefined) this.finalizeDuration.observe({ command }, Math.max(0, e.time - finalizing) / 1000);
      if (run.failureCode && outcome !== 'completed') this.failures.inc({ code: run.failureCode });
      if (outcome === 'completed') {
        const bytes = uploadedBytes(engine, run.id);
        if (bytes > 0) this.uploadedBytes.inc({ command }, bytes);
      }
    });
  }
}

function bearerMatches(request: FastifyRequest): boolean {
  const expected = process.env.XCS_METRICS_TOKEN;
  const header = request.headers.authorization;
  if (!expected || !header?.startsWith('Bearer ')) return false;
  const a = Buffer.from(header.slice(7).trim());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registerMetricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    if (!bearerMatches(request)) {
      if (!request.user) {
        reply.header('WWW-Authenticate', 'Bearer realm="xcs-metrics"');
        throw new XcsError('auth.required', 'authentication required: a site administrator, or Authorization: Bearer <XCS_METRICS_TOKEN>',
          { status: 401 });
      }
      if (!request.user.siteAdmin) {
        throw new XcsError('auth.forbidden', `User ${request.user.login} may not read metrics (site administrators only)`, { status: 403,
          hint: 'scrape with a token: set XCS_METRICS_TOKEN on the server and send Authorization: Bearer <token>' });
      }
    }
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
