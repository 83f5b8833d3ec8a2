/**
 * `/xapi/containers/{id}` (reference §5.4; listings and deletion: `containers-admin.ts`): get, kill, logs (whole, followed, or since a time,
 * or both streams as a zip) and forced finalization. `?follow=true` on `logs/{file}` streams the log live (XCS addition, used by `xcs logs -f`).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import yazl from 'yazl';
import { XcsError } from '../../core/errors.ts';
import type { LogStream } from '../../runtime/logs.ts';
import type { RunRecord } from '../../runtime/run-store.ts';
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

export function registerContainerRoutes(app: FastifyInstance, ctx: XapiContext, access: AccessControl): void {
  const engine = ctx.engine;

  async function visibleRun(request: FastifyRequest<{ Params: { id: string } }>): Promise<{ run: RunRecord; full: boolean }> {
    const user = userOf(request);
    const run = engine.find(request.params.id);
    const full = (await access.isContainerManager(user)) || (await seesFully(ctx, user, run));
    // Others see the scrubbed record only when they can read its project; to the rest it does not exist.
    if (!full && !(run.project && ctx.users && await ctx.users.can(user, 'read', { project: run.project }))) {
      throw new XcsError('xapi.container.not-found', `No container ${request.params.id}`, { status: 404, path: request.params.id });
    }
    return { run, full };
  }

  async function ownedRun(request: FastifyRequest<{ Params: { id: string } }>): Promise<RunRecord> {
    const { run, full } = await visibleRun(request);
    if (!full) {
      throw new XcsError('auth.forbidden', `User ${userOf(request).login} may not act on container ${request.params.id}`, { status: 403 });
    }
    return run;
  }

  app.get<{ Params: { id: string } }>('/xapi/containers/:id', async (request) => {
    const { run, full } = await visibleRun(request);
    return containerJson(run, engine.history(run.id), full);
  });

  const kill = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const run = await ownedRun(request);
    await engine.kill(run.id, userOf(request).login);
    return run.containerId ?? String(run.id);
  };
  app.post('/xapi/containers/:id/kill', kill);
  app.post('/xapi/projects/:project/containers/:id/kill', kill);

  app.post<{ Params: { id: string } }>('/xapi/containers/:id/finalize', async (request) => {
    await access.requireContainerManager(request);
    const run = engine.find(request.params.id);
    return containerJson(engine.finalize(run.id), engine.history(run.id), true);
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
      reply.raw.on('close', () => abort.abort());
      return reply.send(Readable.from(engine.followLog(run, stream, abort.signal)));
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
