/**
 * The backend a server holds while the one its settings select does not answer yet (the engine starts after XCS,
 * a swarm manager is restarting): every call fails with that backend's own `backend.unavailable` error, as calls
 * to an engine that stopped answering later do, and its event stream stays quiet until `SelectedBackend` swaps the
 * real backend in. Nothing is ever reported missing or finished: a run's container cannot be judged gone on the
 * word of an engine nobody could ask.
 */
import type { XcsError } from '../core/errors.ts';
import type {
  BackendCapabilities, BackendEvent, BackendKind, ContainerBackend, ContainerState, ContainerSummary, EventSubscription, ImageInfo,
  ImageSummary,
} from '../backends/types.ts';

/** An event stream with nothing to say, open until closed. */
class QuietSubscription implements EventSubscription {
  private wake: (() => void) | null = null;
  private closed = false;

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<BackendEvent> {
    return {
      // Nothing ever comes: the one answer is the end, once closed.
      next: async () => {
        while (!this.closed) await new Promise<void>((resolve) => { this.wake = resolve; });
        return { done: true, value: undefined };
      },
    };
  }
}

export class UnreachableBackend implements ContainerBackend {
  /**
   * Everything is claimed, so that a spec is refused for the true reason (the engine does not answer) rather than
   * for a capability the real backend may well have.
   */
  readonly capabilities: BackendCapabilities = {
    separateStderr: true, oomDetection: true, hostNetwork: true, ulimits: true, gpus: true, logTimestamps: true,
  };

  constructor(readonly kind: BackendKind, readonly reason: XcsError) {}

  private refuse<T>(): Promise<T> {
    return Promise.reject(this.reason);
  }

  ping(): Promise<void> { return this.refuse(); }
  inspectImage(): Promise<ImageInfo | null> { return this.refuse(); }
  listImages(): Promise<ImageSummary[]> { return this.refuse(); }
  create(): Promise<{ backendId: string; name: string }> { return this.refuse(); }
  start(): Promise<void> { return this.refuse(); }
  wait(): Promise<ContainerState> { return this.refuse(); }
  inspect(): Promise<ContainerState> { return this.refuse(); }
  kill(): Promise<void> { return this.refuse(); }
  remove(): Promise<void> { return this.refuse(); }
  list(): Promise<ContainerSummary[]> { return this.refuse(); }
  findByName(): Promise<ContainerSummary | null> { return this.refuse(); }

  logs(): AsyncIterable<Buffer> {
    const reason = this.reason;
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(reason) }) };
  }

  events(): EventSubscription {
    return new QuietSubscription();
  }

  async close(): Promise<void> {}
}
