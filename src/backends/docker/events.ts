/**
 * Follows Docker's `/events` stream (pushed by the engine; no polling), filtered by label, and turns it into
 * `BackendEvent`s. The connection is re-opened after a drop, replaying from the last delivered event's time;
 * events at that same instant are remembered so none is delivered twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendEvent, BackendEventStatus, EventSubscription } from '../types.ts';

/** Opens one events connection from `since` (Docker's `seconds.nanoseconds` form). */
export type OpenEventStream = (since: string, signal: AbortSignal) => Promise<AsyncIterable<Buffer | string>>;

/** The subset of a Docker event we read. */
interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

const ACTIONS: Record<string, BackendEventStatus> = {
  create: 'created',
  start: 'started',
  die: 'died',
  oom: 'oom',
  kill: 'killed',
  destroy: 'removed',
};

/** The engine-side filter: the actions we map, nothing else (exec, attach and resize events are noise). */
export const EVENT_ACTIONS = Object.keys(ACTIONS);

/** Attributes Docker mixes into the label map of an event. */
const NON_LABEL_ATTRIBUTES = new Set(['name', 'image', 'exitCode', 'signal']);

/**
 * `timeNano` exceeds 2^53, so JSON.parse rounds it; the exact value is read from the text of the event.
 */
export function exactTimeNano(line: string): bigint | undefined {
  const m = /"timeNano"\s*:\s*(\d+)/.exec(line);
  return m === null ? undefined : BigInt(m[1]);
}

export function toBackendEvent(e: DockerEvent, exactNano?: bigint): BackendEvent | null {
  if (e.Type !== undefined && e.Type !== 'container') return null;
  const action = e.Action ?? e.status ?? '';
  const status = ACTIONS[action];
  const backendId = e.Actor?.ID ?? e.id;
  if (status === undefined || backendId === undefined) return null;
  const attributes = e.Actor?.Attributes ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attributes)) if (!NON_LABEL_ATTRIBUTES.has(k)) labels[k] = v;
  const timeNano = exactNano ?? (typeof e.timeNano === 'number' && Number.isFinite(e.timeNano) ? BigInt(Math.trunc(e.timeNano)) : undefined);
  const time = timeNano === undefined ? new Date((e.time ?? 0) * 1000) : new Date(Number(timeNano / 1_000_000n));
  const event: BackendEvent = { backendId, status, time, labels, raw: e };
  if (attributes.name !== undefined) event.name = attributes.name;
  if (timeNano !== undefined) event.timeNano = timeNano;
  if (status === 'died') {
    const code = attributes.exitCode;
    event.exitCode = code === undefined || code === '' || !/^-?\d+$/.test(code) ? null : Number(code);
  }
  if (status === 'killed' && attributes.signal !== undefined) event.signal = attributes.signal;
  return event;
}

function dockerSince(nanos: bigint): string {
  const s = nanos / 1_000_000_000n;
  const ns = nanos % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, '0')}`;
}

/** How far back a reconnection replays the stream (out-of-order deliveries are at most this late). */
const REPLAY_MARGIN_NS = 5_000_000_000n;
/** Keys of delivered events are kept for this long (in event time) so that a replay does not repeat them. */
const SEEN_WINDOW_NS = 60_000_000_000n;
const SEEN_LIMIT = 10_000;

function forgetBefore(seen: Map<string, bigint>, limit: bigint): void {
  for (const [key, nanos] of seen) if (nanos < limit) seen.delete(key);
}

async function* lines(source: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line !== '') yield line;
      nl = rest.indexOf('\n');
    }
  }
  if (rest.trim() !== '') yield rest.trim();
}

export interface EventFollowerOptions {
  since: Date;
  /** Delay before the first reconnection; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Told about each dropped connection (for logging); the follower keeps going. */
  onDisconnect?: (error: unknown) => void;
}

export class DockerEventFollower implements EventSubscription {
  private readonly abort = new AbortController();
  private started = false;

  constructor(
    private readonly open: OpenEventStream,
    private readonly options: EventFollowerOptions,
  ) {}

  close(): void {
    this.abort.abort();
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  [Symbol.asyncIterator](): AsyncIterator<BackendEvent> {
    if (this.started) throw new Error('An event subscription can be iterated only once');
    this.started = true;
    return this.follow();
  }

  private async *follow(): AsyncGenerator<BackendEvent> {
    const signal = this.abort.signal;
    const from = BigInt(this.options.since.getTime()) * 1_000_000n;
    // The engine delivers events of different containers slightly out of time order, so an event older
    // than the newest one seen is still new: events are told apart by key, never dropped by time.
    let newest = from;
    let resumeFrom = from;
    const seen = new Map<string, bigint>();
    const baseRetry = this.options.retryMs ?? 100;
    let retry = baseRetry;
    try {
      while (!signal.aborted) {
        try {
          const stream = await this.open(dockerSince(resumeFrom), signal);
          if (signal.aborted) return;
          for await (const line of lines(stream)) {
            retry = baseRetry;
            let parsed: DockerEvent;
            try {
              parsed = JSON.parse(line) as DockerEvent;
            } catch {
              continue; // a torn line from a dropped connection; the replay brings the event again
            }
            const event = toBackendEvent(parsed, exactTimeNano(line));
            if (event === null) continue;
            const nanos = event.timeNano ?? BigInt(event.time.getTime()) * 1_000_000n;
            const key = `${event.backendId}|${event.status}|${nanos}`;
            if (nanos < from || seen.has(key)) continue;
            seen.set(key, nanos);
            if (nanos > newest) newest = nanos;
            if (seen.size > SEEN_LIMIT) forgetBefore(seen, newest - SEEN_WINDOW_NS);
            yield event;
            if (signal.aborted) return;
          }
          if (signal.aborted) return;
          this.options.onDisconnect?.(new Error('the engine closed the events stream'));
        } catch (e) {
          if (signal.aborted) return;
          this.options.onDisconnect?.(e);
        }
        // Replay a margin back from the newest event: late deliveries older than it were possibly lost.
        resumeFrom = newest - REPLAY_MARGIN_NS > from ? newest - REPLAY_MARGIN_NS : from;
        try {
          await sleep(retry, undefined, { signal });
        } catch {
          return;
        }
        retry = Math.min(retry * 2, this.options.maxRetryMs ?? 5000);
      }
    } finally {
      this.abort.abort();
    }
  }
}
