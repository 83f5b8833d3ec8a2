/**
 * A small client of a running XCS server's `/xapi` container-service API, for the CLI. Connection from
 * options or the environment: `XCS_URL` (default http://127.0.0.1:8080), `XCS_USER`, `XCS_PASSWORD`.
 */
import { XcsError } from '../../core/errors.ts';

export interface Connection {
  url?: string;
  user?: string;
  password?: string;
}

export interface ContainerSummary {
  id: number;
  status: string;
  'status-time': string;
  'wrapper-id': number;
  'command-id': number;
  'user-id': string;
  project: string | null;
  'docker-image': string;
  'exit-code'?: string | null;
  'failure-code'?: string | null;
  'failure-hint'?: string | null;
  outputs?: { name: string; created: string | null }[];
  inputs?: { name: string; value: string; type: string }[];
  history?: { status: string; message: string | null; 'time-recorded': string; exitCode: string | null }[];
}

/** One event of the status stream: `data` as the server sends it, `eventId` its number. */
export interface StatusEventJson {
  eventId: number;
  id: number;
  status: string;
  'exit-code': string | null;
  message: string | null;
  hint: string | null;
}

/**
 * The `status` events of a Server-Sent Events body (the subset of the format our server writes: `id:`, `event:`,
 * `data:` lines, comments, blank line ends an event).
 */
async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<StatusEventJson> {
  let buffer = '';
  let id = '';
  let event = '';
  let data: string[] = [];
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (event === 'status' && data.length > 0) yield { ...(JSON.parse(data.join('\n')) as Omit<StatusEventJson, 'eventId'>), eventId: Number(id) };
        event = '';
        data = [];
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) continue;
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}

export interface LaunchReport {
  status: 'success' | 'failure';
  id: number | null;
  message?: string;
  hint?: string;
  params: Record<string, string>;
}

export interface CommandJson {
  id: number;
  name: string;
  image: string;
  xnat: { id: number; name: string; 'external-inputs': { name: string; type: string }[] }[];
}

export class XapiClient {
  readonly base: string;
  private readonly auth: string | null;

  constructor(c: Connection = {}) {
    this.base = (c.url ?? process.env.XCS_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    const user = c.user ?? process.env.XCS_USER;
    const password = c.password ?? process.env.XCS_PASSWORD;
    this.auth = user ? `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}` : null;
  }

  async request(method: string, path: string, body?: unknown, accept404 = false): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(this.auth ? { authorization: this.auth } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          accept: 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new XcsError('client.unreachable', `No XCS server answers at ${this.base}`, {
        cause: e, path: this.base, hint: 'Start one with `xcs serve`, or point --url / XCS_URL at it',
      });
    }
    if (!res.ok && !(accept404 && res.status === 404)) {
      const text = await res.text();
      let message = text;
      let hint: string | undefined;
      try {
        const j = JSON.parse(text) as { message?: string; hint?: string };
        message = j.message ?? text;
        hint = j.hint;
      } catch { /* plain text */ }
      throw new XcsError('client.http', `${method} ${path}: ${res.status} ${message.trim()}`, { status: res.status, path, hint });
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  commands(): Promise<CommandJson[]> {
    return this.json('GET', '/xapi/commands');
  }

  containers(all: boolean): Promise<ContainerSummary[]> {
    return this.json('GET', `/xapi/containers${all ? '' : '?nonfinalized=true'}`);
  }

  container(id: string | number): Promise<ContainerSummary> {
    return this.json('GET', `/xapi/containers/${encodeURIComponent(String(id))}`);
  }

  async launch(wrapperId: number, root: string, params: Record<string, string>, project?: string): Promise<LaunchReport> {
    const path = `${project ? `/xapi/projects/${encodeURIComponent(project)}` : '/xapi'}/wrappers/${wrapperId}/root/${encodeURIComponent(root)}/launch`;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method: 'POST',
        headers: { ...(this.auth ? { authorization: this.auth } : {}), 'content-type': 'application/json' },
        body: JSON.stringify(params),
      });
    } catch (e) {
      throw new XcsError('client.unreachable', `No XCS server answers at ${this.base}`, { cause: e, path: this.base });
    }
    const text = await res.text();
    try {
      return JSON.parse(text) as LaunchReport;
    } catch {
      throw new XcsError('client.http', `POST ${path}: ${res.status} ${text.trim()}`, { status: res.status, path });
    }
  }

  /**
   * Opens the live status stream (`GET /xapi/containers/events`, Server-Sent Events). Resolves once the server
   * answered — from then on no status change is missed — with the events as they come; ends when the server does.
   */
  async statusEvents(signal?: AbortSignal): Promise<AsyncGenerator<StatusEventJson>> {
    const path = '/xapi/containers/events';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { headers: { ...(this.auth ? { authorization: this.auth } : {}), accept: 'text/event-stream' }, signal });
    } catch (e) {
      throw new XcsError('client.unreachable', `No XCS server answers at ${this.base}`, { cause: e, path: this.base });
    }
    if (!res.ok || !res.body) throw new XcsError('client.http', `GET ${path}: ${res.status}`, { status: res.status, path });
    return parseEventStream(res.body);
  }

  /** A run's provenance record (`GET /xapi/containers/{id}/provenance`). */
  provenance(id: string | number): Promise<Record<string, unknown>> {
    return this.json('GET', `/xapi/containers/${encodeURIComponent(String(id))}/provenance`);
  }

  async kill(id: string): Promise<string> {
    return (await this.request('POST', `/xapi/containers/${encodeURIComponent(id)}/kill`)).text();
  }

  async log(id: string, stream: 'stdout' | 'stderr', follow: boolean): Promise<Response> {
    return this.request('GET', `/xapi/containers/${encodeURIComponent(id)}/logs/${stream}${follow ? '?follow=true' : ''}`);
  }
}
