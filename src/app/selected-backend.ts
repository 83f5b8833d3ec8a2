/**
 * The run engine's backend, as the server settings select it (`POST /xapi/docker/server` `backend` and `host`):
 * one `ContainerBackend` that hands every call to the backend of the current selection, made by the registry. A
 * changed selection connects the new backend first (a swarm manager that does not answer leaves the old one in
 * place, with the reason logged), then swaps it in and moves the engine's event subscriptions over.
 *
 * A backend that does not answer when the server starts is waited for (`open`): tried again in the background and
 * swapped in the same way once it answers.
 *
 * Runs launched on the previous backend are not moved: their containers are on the old engine, so reconciliation
 * fails them (`container-vanished`) — change the backend when no run is in flight, as in XNAT.
 */
import { isXcsError, type XcsError } from '../core/errors.ts';
import { createBackend, type BackendOptionsByKind } from '../backends/index.ts';
import { BackendErrorCode } from '../backends/types.ts';
import { UnreachableBackend } from './unreachable-backend.ts';
import type {
  BackendCapabilities, BackendEvent, BackendKind, ContainerBackend, ContainerSpec, ContainerState, ContainerSummary, EngineVersion,
  EventOptions, EventSubscription, ImageInfo, ImageSummary, KillCause, LogOptions, PlacementReport, PullOptions, RegistryAuth, RegistryLogin,
  RemoveImageOptions, WaitOptions,
} from '../backends/types.ts';

/** An events subscription that survives a backend swap: it re-subscribes on the new backend. */
class RelaySubscription implements EventSubscription {
  private inner: EventSubscription;
  private readonly queue: BackendEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(private readonly open: () => EventSubscription, private readonly onClose: (s: RelaySubscription) => void) {
    this.inner = this.pump(open());
  }

  /** Moves to the backend `open` now returns. */
  reopen(): void {
    if (this.closed) return;
    const old = this.inner;
    this.inner = this.pump(this.open());
    old.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    this.wake?.();
    this.onClose(this);
  }

  private pump(sub: EventSubscription): EventSubscription {
    void (async () => {
      try {
        for await (const e of sub) {
          this.queue.push(e);
          this.wake?.();
        }
      } catch {
        // The backend's own subscription reconnects; one that ends for good is replaced on the next swap.
      }
    })();
    return sub;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BackendEvent> {
    while (true) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
  }
}

/** Two selections are the same when kind and every option are (a Slurm job root or partition change reconnects). */
function selectionKey(kind: BackendKind, options: object): string {
  return `${kind}\n${JSON.stringify(options)}`;
}

/** How a server waiting for its backend hears of it (`SelectedBackend.open`). */
export interface BackendWaitHooks {
  /** The backend answered and is in use now. */
  onConnected(kind: BackendKind): void;
  /** It still does not answer (each failed attempt after the first, at most one a minute). */
  onStillWaiting?(reason: XcsError): void;
}

/** Between attempts to reach a backend that does not answer: from the first to the longest, doubling. */
const RETRY_FIRST_MS = 1000;
const RETRY_LONGEST_MS = 30_000;

export class SelectedBackend implements ContainerBackend {
  private readonly relays = new Set<RelaySubscription>();
  private switching: Promise<void> = Promise.resolve();
  /** The selection to reach while the current backend is an `UnreachableBackend`. */
  private wanted: { kind: BackendKind; options: BackendOptionsByKind[BackendKind] } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private current: ContainerBackend, private selection: string, private readonly hooks?: BackendWaitHooks) {}

  /** Connects the backend of `kind` at `host` (the registry's refusal or `backend.unavailable` when it cannot). */
  static async connect(kind: BackendKind, host?: string, options?: BackendOptionsByKind[BackendKind]): Promise<SelectedBackend> {
    const chosen = options ?? (host === undefined ? {} : { host });
    return new SelectedBackend(await createBackend(kind, chosen), selectionKey(kind, chosen));
  }

  /**
   * Like `connect`, but a backend that does not answer (`backend.unavailable`) is waited for rather than given up
   * on: until it answers, every call fails with its reason (`UnreachableBackend`), and it is tried again in the
   * background, then swapped in. A selection that cannot work (unknown kind, a bad host or option) still throws.
   */
  static async open(kind: BackendKind, options: BackendOptionsByKind[BackendKind], hooks: BackendWaitHooks): Promise<SelectedBackend> {
    try {
      return new SelectedBackend(await createBackend(kind, options), selectionKey(kind, options), hooks);
    } catch (e) {
      if (!isXcsError(e) || e.code !== BackendErrorCode.unavailable) throw e;
      const waiting = new SelectedBackend(new UnreachableBackend(kind, e), '', hooks);
      waiting.wanted = { kind, options };
      waiting.scheduleRetry(RETRY_FIRST_MS, Date.now());
      return waiting;
    }
  }

  /** Whether the backend in use answered when it was connected (false while waiting for one). */
  get connected(): boolean {
    return !(this.current instanceof UnreachableBackend);
  }

  /** Why the backend waited for did not answer (null once connected). */
  get waitingReason(): XcsError | null {
    return this.current instanceof UnreachableBackend ? this.current.reason : null;
  }

  private scheduleRetry(delayMs: number, lastReport: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.switching = this.switching.catch(() => undefined).then(async () => {
        // A selection made meanwhile (`select`) may have connected already, or changed what to wait for.
        const wanted = this.wanted;
        if (this.closed || wanted === null) return;
        try {
          await this.swapIn(wanted.kind, wanted.options);
        } catch (e) {
          const now = Date.now();
          const report = this.hooks?.onStillWaiting && isXcsError(e) && now - lastReport >= 60_000;
          if (report) this.hooks?.onStillWaiting?.(e as XcsError);
          this.scheduleRetry(Math.min(delayMs * 2, RETRY_LONGEST_MS), report ? now : lastReport);
        }
      });
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Connects `kind` with `options` and puts it in place of the current backend, moving the event relays over. */
  private async swapIn(kind: BackendKind, options: BackendOptionsByKind[BackendKind]): Promise<void> {
    const next = await createBackend(kind, options);
    if (this.closed) {
      await next.close();
      return;
    }
    const old = this.current;
    const wasWaiting = !this.connected;
    this.current = next;
    this.selection = selectionKey(kind, options);
    this.wanted = null;
    for (const r of this.relays) r.reopen();
    await old.close();
    if (wasWaiting) this.hooks?.onConnected(kind);
  }

  get kind(): BackendKind {
    return this.current.kind;
  }

  get capabilities(): BackendCapabilities {
    return this.current.capabilities;
  }

  /** Selects another backend (no-op when it is the current one). Rejects, keeping the current one, when it cannot connect. */
  select(kind: BackendKind, host: string, options?: BackendOptionsByKind[BackendKind]): Promise<void> {
    this.switching = this.switching.catch(() => undefined).then(async () => {
      const chosen = options ?? { host };
      const key = selectionKey(kind, chosen);
      if (key === this.selection) return;
      if (!this.connected) {
        // Still waiting for a backend: the one selected now is the one to wait for (the retries go on).
        if (this.wanted !== null && key === selectionKey(this.wanted.kind, this.wanted.options)) return;
        this.wanted = { kind, options: chosen };
      }
      await this.swapIn(kind, chosen);
    });
    return this.switching;
  }

  /** Resolves once the last selection was applied (or refused). */
  settled(): Promise<void> {
    return this.switching.catch(() => undefined);
  }

  ping(): Promise<void> { return this.current.ping(); }
  inspectImage(ref: string): Promise<ImageInfo | null> { return this.current.inspectImage(ref); }
  listImages(): Promise<ImageSummary[]> { return this.current.listImages(); }
  get pullImage(): ((ref: string, options?: PullOptions) => Promise<void>) | undefined {
    return this.current.pullImage?.bind(this.current);
  }
  get removeImage(): ((ref: string, options?: RemoveImageOptions) => Promise<void>) | undefined {
    return this.current.removeImage?.bind(this.current);
  }
  get checkRegistryAuth(): ((auth: RegistryAuth) => Promise<RegistryLogin>) | undefined {
    return this.current.checkRegistryAuth?.bind(this.current);
  }
  get engineVersion(): (() => Promise<EngineVersion>) | undefined {
    return this.current.engineVersion?.bind(this.current);
  }
  get settleKill(): ((backendId: string, options: { memoryLimited: boolean }) => Promise<KillCause>) | undefined {
    return this.current.settleKill?.bind(this.current);
  }
  get placementOf(): ((backendId: string) => Promise<PlacementReport>) | undefined {
    return this.current.placementOf?.bind(this.current);
  }
  create(spec: ContainerSpec): Promise<{ backendId: string; name: string }> { return this.current.create(spec); }
  start(backendId: string): Promise<void> { return this.current.start(backendId); }
  wait(backendId: string, options?: WaitOptions): Promise<ContainerState> { return this.current.wait(backendId, options); }
  inspect(backendId: string): Promise<ContainerState> { return this.current.inspect(backendId); }
  kill(backendId: string, signal?: string): Promise<void> { return this.current.kill(backendId, signal); }
  remove(backendId: string): Promise<void> { return this.current.remove(backendId); }
  logs(backendId: string, options: LogOptions): AsyncIterable<Buffer> { return this.current.logs(backendId, options); }
  list(options?: { labels?: Record<string, string> }): Promise<ContainerSummary[]> { return this.current.list(options); }
  findByName(name: string): Promise<ContainerSummary | null> { return this.current.findByName(name); }

  events(options?: EventOptions): EventSubscription {
    const relay = new RelaySubscription(() => this.current.events(options), (r) => this.relays.delete(r));
    this.relays.add(relay);
    return relay;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const r of [...this.relays]) r.close();
    await this.switching.catch(() => undefined);
    await this.current.close();
  }
}
