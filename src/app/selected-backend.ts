/**
 * The run engine's backend, as the server settings select it (`POST /xapi/docker/server` `backend` and `host`):
 * one `ContainerBackend` that hands every call to the backend of the current selection, made by the registry. A
 * changed selection connects the new backend first (a swarm manager that does not answer leaves the old one in
 * place, with the reason logged), then swaps it in and moves the engine's event subscriptions over.
 *
 * Runs launched on the previous backend are not moved: their containers are on the old engine, so reconciliation
 * fails them (`container-vanished`) — change the backend when no run is in flight, as in XNAT.
 */
import { createBackend, type BackendOptionsByKind } from '../backends/index.ts';
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

export class SelectedBackend implements ContainerBackend {
  private readonly relays = new Set<RelaySubscription>();
  private switching: Promise<void> = Promise.resolve();

  private constructor(private current: ContainerBackend, private selection: string) {}

  /** Connects the backend of `kind` at `host` (the registry's refusal or `backend.unavailable` when it cannot). */
  static async connect(kind: BackendKind, host?: string, options?: BackendOptionsByKind[BackendKind]): Promise<SelectedBackend> {
    const chosen = options ?? (host === undefined ? {} : { host });
    return new SelectedBackend(await createBackend(kind, chosen), selectionKey(kind, chosen));
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
      const next = await createBackend(kind, chosen);
      const old = this.current;
      this.current = next;
      this.selection = key;
      for (const r of this.relays) r.reopen();
      await old.close();
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
    for (const r of [...this.relays]) r.close();
    await this.switching.catch(() => undefined);
    await this.current.close();
  }
}
