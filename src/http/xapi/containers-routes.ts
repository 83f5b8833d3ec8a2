/**
 * `/xapi/containers/{id}` (reference §5.4; listings and deletion: `containers-admin.ts`): get, kill, logs (whole, followed, or since a time,
 * or both streams as a zip), forced finalization, and relaunch (XCS addition: one run, or several by ids or by a filter). `?follow=true` on `logs/{file}` streams the log live (XCS addition, used by `xcs logs -f`).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import yazl from 'yazl';
import type { User } from '../../archive/users.ts';
import { isXcsError, messageOf, XcsError } from '../../core/errors.ts';
import type { LogStream } from '../../runtime/index.ts';
import { relaunch } from '../../runtime/index.ts';
import { redactDeep, redactError, runSecrets } from '../../runtime/index.ts';
import { runNotFound, type RunRecord } from '../../runtime/index.ts';
import { isTerminal } from '../../runtime/index.ts';
import { containerJson } from './container-json.ts';
import type { AccessControl } from './access.ts';
import { seesFully, userOf, type XapiContext } from './context.ts';

/**
 * XNAT picks stdout when "stdout.log" contains the given name, else stderr. XCS addition: `setup(.log)` and
 * `wrapup(.log)` are the saved logs of the run's setup and wrapup containers (XNAT keeps them as records of their own).
 */
function streamOf(file: string): LogStream {
  const name = file.replace(/\.log$/, '');
  if (name === 'setup' || name === 'wrapup') return name;
  return 'stdout.log'.includes(file) ? 'stdout' : 'stderr';
}

const MAX_BULK_RELAUNCH = 1000;

interface RelaunchSuccess { status: 'success'; 'relaunch-of': number; id: number; 'command-id': number; 'wrapper-id': number }
interface RelaunchFailure { status: 'failure'; 'relaunch-of': number | string; id: null; message: string; code?: string; hint?: string }
interface BulkRelaunchReport { successes: RelaunchSuccess[]; failures: RelaunchFailure[] }
interface RelaunchFilter { project: string; status: string; wrapperId?: number; commandId?: number }

function relaunched(run: RunRecord, next: RunRecord): RelaunchSuccess {
  return { status: 'success', 'relaunch-of': run.id, id: next.id, 'command-id': next.commandId, 'wrapper-id': next.wrapperId };
}

function badSelection(message: string, path: string): XcsError {
  return new XcsError('xapi.relaunch.bad-selection', message, { status: 400, path,
    hint: 'send {"ids": [12, 13]} or {"project": "P", "status": "Failed"} (optionally with "wrapper-id" or "command-id")' });
}

/** The body of a bulk relaunch: a list of ids (run ids, container ids or names), or a filter over one project. */
function parseRelaunchSelection(body: unknown): { ids: string[] } | RelaunchFilter {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badSelection('the body must be a JSON object', '');
  const b = body as Record<string, unknown>;
  if (b.ids !== undefined) {
    if (!Array.isArray(b.ids) || b.ids.length === 0 || b.ids.length > MAX_BULK_RELAUNCH) {
      throw badSelection(`"ids" must be a list of 1 to ${MAX_BULK_RELAUNCH} container ids`, '/ids');
    }
    const ids = b.ids.map((x, i) => {
      if ((typeof x === 'number' && Number.isInteger(x)) || (typeof x === 'string' && x.trim() !== '')) return String(x);
      throw badSelection(`ids[${i}] must be a container id, not ${JSON.stringify(x)}`, `/ids/${i}`);
    });
    return { ids: [...new Set(ids)] };
  }
  if (typeof b.project !== 'string' || b.project === '') throw badSelection('give "ids", or a "project" to relaunch ended containers of', '/project');
  if (b.status !== undefined && (typeof b.status !== 'string' || !/^(Complete|Failed|Killed)/.test(b.status))) {
    throw badSelection('"status" must be an ended status or its start, e.g. "Failed", "Failed (Timeout)" or "Killed"', '/status');
  }
  const int = (v: unknown, name: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw badSelection(`"${name}" must be an integer`, `/${name}`);
  };
  return { project: b.project, status: typeof b.status === 'string' ? b.status : 'Failed',
    wrapperId: int(b['wrapper-id'], 'wrapper-id'), commandId: int(b['command-id'], 'command-id') };
}

/** Told when a live log follower starts and ends (the `xcs_log_followers` gauge). */
export interface FollowerHooks { onOpen(): void; onClose(): void }

async function* counted<T>(source: AsyncGenerator<T>, hooks: FollowerHooks | undefined): AsyncGenerator<T> {
  hooks?.onOpen();
  try {
    yield* source;
  } finally {
    hooks?.onClose();
  }
}

export function registerContainerRoutes(app: FastifyInstance, ctx: XapiContext, access: AccessControl, followers?: FollowerHooks): void {
  const engine = ctx.engine;

  async function visibleTo(user: User, key: string): Promise<{ run: RunRecord; full: boolean }> {
    const run = await engine.state.find(key);
    const full = (await access.isContainerManager(user)) || (await seesFully(ctx, user, run));
    // Others see the scrubbed record only when they can read its project; to the rest it does not exist.
    if (!full && !(run.project && ctx.users && await ctx.users.can(user, 'read', { project: run.project }))) {
      throw runNotFound(key); // word for word what a missing id gets
    }
    return { run, full };
  }

  async function ownedBy(user: User, key: string): Promise<RunRecord> {
    const { run, full } = await visibleTo(user, key);
    if (!full) throw new XcsError('auth.forbidden', `User ${user.login} may not act on container ${key}`, { status: 403, path: key });
    return run;
  }

  const visibleRun = (request: FastifyRequest<{ Params: { id: string } }>) => visibleTo(userOf(request), request.params.id);
  const ownedRun = (request: FastifyRequest<{ Params: { id: string } }>) => ownedBy(userOf(request), request.params.id);

  app.get<{ Params: { id: string } }>('/xapi/containers/:id', async (request) => {
    const { run, full } = await visibleRun(request);
    return containerJson(run, await engine.state.history(run.id), full);
  });

  const kill = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const run = await ownedRun(request);
    await engine.kill(run.id, userOf(request).login);
    return run.containerId ?? String(run.id);
  };
  app.post('/xapi/containers/:id/kill', kill);
  app.post('/xapi/projects/:project/containers/:id/kill', kill);

  // XCS addition: a new run of an ended one, by whoever may kill it (launcher, project owner, container manager); the new
  // run is the caller's, so launching must be allowed to them too.
  app.post<{ Params: { id: string } }>('/xapi/containers/:id/relaunch', {
    schema: { tags: ['containers'], summary: 'Launch an ended container again with the same wrapper, inputs and project (XCS addition)' },
  }, async (request) => {
    const run = await ownedRun(request);
    try {
      return relaunched(run, await relaunch(ctx, run, userOf(request).login));
    } catch (e) {
      throw redactError(e, runSecrets(run)); // a re-resolution failure may quote a stored sensitive value
    }
  });

  app.post<{ Body: unknown }>('/xapi/containers/relaunch', {
    schema: { tags: ['containers'], summary: 'Relaunch several ended containers: {"ids": [...]} or {"project": P, "status": "Failed"} (XCS addition)' },
  }, async (request) => {
    const user = userOf(request);
    const selection = parseRelaunchSelection(request.body);
    const keys = 'ids' in selection ? selection.ids : await matchingRuns(user, selection);
    const report: BulkRelaunchReport = { successes: [], failures: [] };
    for (const key of keys) {
      let secrets: string[] = [];
      try {
        const run = await ownedBy(user, key);
        secrets = runSecrets(run);
        report.successes.push(relaunched(run, await relaunch(ctx, run, user.login)));
      } catch (e) {
        report.failures.push(redactDeep({ status: 'failure', 'relaunch-of': /^\d+$/.test(key) ? Number(key) : key, id: null, message: messageOf(e),
          ...(isXcsError(e) ? { code: e.code, ...(e.hint ? { hint: e.hint } : {}) } : {}) } as RelaunchFailure, secrets));
      }
    }
    return report;
  });

  /** Ended runs of the project that match, that the caller may act on, and that no retry or relaunch repeated yet. */
  async function matchingRuns(user: User, f: RelaunchFilter): Promise<string[]> {
    const runs = await engine.state.list({ project: f.project });
    const repeated = new Set(runs.map((r) => r.relaunchOf).filter((x) => x !== null));
    const out: string[] = [];
    const manager = await access.isContainerManager(user);
    for (const r of runs) {
      if (!isTerminal(r.status) || !r.status.startsWith(f.status) || r.retriedBy !== null || repeated.has(r.id)) continue;
      if (f.wrapperId !== undefined && r.wrapperId !== f.wrapperId) continue;
      if (f.commandId !== undefined && r.commandId !== f.commandId) continue;
      if (manager || (await seesFully(ctx, user, r))) out.push(String(r.id));
    }
    if (out.length > MAX_BULK_RELAUNCH) {
      throw new XcsError('xapi.relaunch.too-many', `${out.length} containers match; at most ${MAX_BULK_RELAUNCH} can be relaunched at once`,
        { status: 400, hint: 'narrow the selection with "wrapper-id" or "command-id", or list "ids"' });
    }
    return out;
  }

  app.post<{ Params: { id: string } }>('/xapi/containers/:id/finalize', async (request) => {
    const user = await access.requireContainerManager(request);
    const run = await engine.state.find(request.params.id);
    const finalized = engine.finalize(run.id, user.login);
    return containerJson(finalized, await engine.state.history(run.id), true);
  });

  // XNAT's zip of both logs: `stdout.log` and `stderr.log`, the streams holding nothing left out; a live run's as
  // they are now. Same access and same redaction as one log below. The zip is streamed as it is built.
  app.get<{ Params: { id: string } }>('/xapi/containers/:id/logs', {
    schema: { tags: ['containers'], summary: 'stdout.log and stderr.log of a container as a zip (launcher, project owner, container manager)' },
  }, async (request, reply) => {
    const run = await ownedRun(request);
    const zip = new yazl.ZipFile();
    // yazl reports a failing entry on the zip object; without a listener that would end the process.
    zip.on('error', (e: Error) => (zip.outputStream as Readable).destroy(e));
    for (const stream of ['stdout', 'stderr'] as const) {
      const entry = await engine.logEntry(run, stream);
      if (!entry) continue;
      if (Buffer.isBuffer(entry.data)) zip.addBuffer(entry.data, `${stream}.log`, { mtime: entry.mtime });
      else zip.addReadStream(entry.data, `${stream}.log`, { mtime: entry.mtime });
    }
    zip.end();
    return reply.type('application/zip').header('Content-Disposition', `attachment; filename="${run.id}.zip"`).send(zip.outputStream);
  });

  app.get<{ Params: { id: string; file: string }; Querystring: { follow?: string } }>('/xapi/containers/:id/logs/:file', async (request, reply) => {
    const run = await ownedRun(request);
    const stream = streamOf(request.params.file);
    reply.header('Content-Disposition', `attachment; filename="${run.id}-${stream}.log"`).type('text/plain; charset=utf-8');
    if (request.query.follow === 'true') {
      const abort = new AbortController();
      const res = reply.raw;
      res.on('close', () => abort.abort());
      // Without the abort, a follower outlives its client: destroying the stream cannot end a generator waiting for
      // the engine's next line, which for a quiet container comes when it ends. A client gone while its run was read
      // closed before the listener above existed.
      if (res.destroyed || !res.socket || res.socket.destroyed) abort.abort();
      return reply.send(Readable.from(counted(engine.followLog(run, stream, abort.signal), followers)));
    }
    return engine.readLog(run, stream);
  });

  app.get<{ Params: { id: string; file: string }; Querystring: { since?: string } }>('/xapi/containers/:id/logSince/:file', async (request) => {
    const run = await ownedRun(request);
    let since: Date | null = null;
    if (request.query.since) {
      since = new Date(request.query.since);
      if (Number.isNaN(since.getTime())) {
        throw new XcsError('http.bad-timestamp', `Could not parse timestamp ${request.query.since}`, { status: 400, path: 'since' });
      }
    }
    return engine.logSince(run, streamOf(request.params.file), since);
  });
}
