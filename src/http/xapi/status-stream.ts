/**
 * `GET /xapi/containers/events`: every status change of every run the caller may see, as Server-Sent Events.
 * Each event's `id` is the status event's number, so `Last-Event-ID` (or `?lastEventId=` for a first connect)
 * resumes after it without gaps, across server restarts: the stream always reads the numbered events from the
 * database in order, and the live feed only wakes it. `data` is a JSON object
 * `{id, status, time, exit-code, message, hint, project, command-id, wrapper-id}` built by the container JSON's
 * own scrubbing (`containerJson`): the same rules as `GET /xapi/containers` — container managers, the launching
 * user and project owners see the message (secrets redacted), exit code and hint; readers of the project only
 * the status; others nothing of the run. A comment line every `XCS_SSE_HEARTBEAT_MS` (15 s) keeps proxies open.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { User } from '../../archive/users.ts';
import type { RunRecord } from '../../runtime/index.ts';
import { eventsAfter, type StatusEvent } from '../../runtime/index.ts';
import { XcsError } from '../../core/errors.ts';
import type { AccessControl } from './access.ts';
import { containerJson, xnatTime } from './container-json.ts';
import { seesFully, userOf, type XapiContext } from './context.ts';

const PERMISSION_TTL_MS = 10_000;
const PAGE = 500;
/** Recent events kept ready for all subscribers. */
const SHARED_EVENTS = 1024;

type Sight = 'full' | 'scrubbed' | 'none';

export interface StreamHooks {
  onOpen?(): void;
  onClose?(): void;
}

/** The event as its viewer may see it, or null when the run is hidden from them. */
export function eventData(run: RunRecord, e: StatusEvent, sight: Sight): Record<string, unknown> | null {
  if (sight === 'none') return null;
  const json = containerJson(run, [{ id: e.id, runId: run.id, status: e.status, entityType: 'system', entityId: null,
    timeRecorded: e.time, externalTimestamp: null, message: e.message, exitCode: e.exitCode }], sight === 'full');
  const item = (json.history as Array<{ message: string | null }>)[0];
  return {
    id: run.id, status: e.status, time: xnatTime(e.time), 'exit-code': sight === 'full' ? e.exitCode : null,
    message: item?.message ?? null, hint: sight === 'full' ? e.hint : null, project: json.project,
    'command-id': json['command-id'], 'wrapper-id': json['wrapper-id'],
  };
}

function parseLastId(header: string | string[] | undefined, query: string | undefined): number | null {
  const v = (Array.isArray(header) ? header[0] : header) ?? query;
  if (v === undefined || v === '') return null;
  if (!/^\d{1,15}$/.test(v.trim())) {
    throw new XcsError('xapi.events.bad-last-event-id', `Last-Event-ID must be an event number, not "${v.slice(0, 40)}"`,
      { status: 400, path: 'Last-Event-ID' });
  }
  return Number(v.trim());
}

export function registerStatusStream(app: FastifyInstance, ctx: XapiContext, access: AccessControl, hooks: StreamHooks = {}): void {
  const engine = ctx.engine;
  const open = new Set<ServerResponse>();
  const heartbeatMs = Number(process.env.XCS_SSE_HEARTBEAT_MS) > 0 ? Number(process.env.XCS_SSE_HEARTBEAT_MS) : 15_000;
  // Streams never end on their own: end them so that closing the server does not wait for clients.
  let serverClosing = false;
  app.addHook('preClose', async () => {
    serverClosing = true;
    for (const res of open) res.end();
  });

  // Every subscriber reads the same recent events: the run and each form of an event's text are made once.
  const recent = new Map<number, { run: RunRecord | undefined; text: Partial<Record<Sight, string | null>> }>();
  function shared(e: StatusEvent): { run: RunRecord | undefined; text: Partial<Record<Sight, string | null>> } {
    let entry = recent.get(e.id);
    if (!entry) {
      entry = { run: engine.store.get(e.runId), text: {} };
      recent.set(e.id, entry);
      if (recent.size > SHARED_EVENTS) recent.delete(recent.keys().next().value as number);
    }
    return entry;
  }
  function frame(e: StatusEvent, run: RunRecord, sight: Sight, entry: ReturnType<typeof shared>): string | null {
    let text = entry.text[sight];
    if (text === undefined) {
      const data = eventData(run, e, sight);
      text = data === null ? null : `id: ${e.id}\nevent: status\ndata: ${JSON.stringify(data)}\n\n`;
      entry.text[sight] = text;
    }
    return text;
  }

  async function sightOf(user: User, manager: boolean, run: RunRecord, cache: Map<string, { sight: Sight; until: number }>): Promise<Sight> {
    if (manager || run.userId === user.login) return 'full';
    if (!run.project) return 'none';
    const hit = cache.get(run.project);
    if (hit && hit.until > Date.now()) return hit.sight;
    const sight: Sight = (await seesFully(ctx, user, run)) ? 'full'
      : (ctx.users && await ctx.users.can(user, 'read', { project: run.project })) ? 'scrubbed' : 'none';
    cache.set(run.project, { sight, until: Date.now() + PERMISSION_TTL_MS });
    return sight;
  }

  app.get<{ Querystring: { lastEventId?: string } }>('/xapi/containers/events', {
    schema: { tags: ['containers'], summary: 'Status changes of the runs you may see, as Server-Sent Events (XCS addition)' },
  }, async (request, reply) => {
    const user = userOf(request);
    const last = parseLastId(request.headers['last-event-id'], request.query.lastEventId);
    const manager = await access.isContainerManager(user);
    const cache = new Map<string, { sight: Sight; until: number }>();
    let cursor = last ?? engine.feed.lastId;

    reply.hijack();
    const res = reply.raw;
    // The client may have gone, or the server begun closing, while the permissions above were read (a database round
    // trip): its 'close' has fired already and would never end this stream, whose heartbeat would then run forever.
    if (serverClosing || res.destroyed || !res.socket || res.socket.destroyed) {
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': request.id });
    res.write(`retry: 2000\n: connected, after event ${cursor}\n\n`);
    open.add(res);
    hooks.onOpen?.();

    let wake: (() => void) | null = null;
    let closed = false;
    const off = engine.feed.subscribe(() => { wake?.(); wake = null; });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    // The listening server keeps the process alive; a stream's heartbeat alone must not.
    heartbeat.unref();
    const close = (): void => {
      if (closed) return;
      closed = true;
      off();
      clearInterval(heartbeat);
      open.delete(res);
      wake?.();
      hooks.onClose?.();
    };
    res.on('close', close);

    void (async () => {
      while (!closed) {
        const page = eventsAfter(engine.database, cursor, PAGE);
        if (page.length === 0) {
          await new Promise<void>((r) => { wake = r; });
          continue;
        }
        for (const e of page) {
          if (closed) return;
          cursor = e.id;
          const entry = shared(e);
          if (!entry.run) continue;
          const text = frame(e, entry.run, await sightOf(user, manager, entry.run, cache), entry);
          if (text !== null) res.write(text);
        }
      }
    })().catch((e: unknown) => {
      request.log.error({ err: e }, 'status stream failed');
      res.end();
    });
  });
}
