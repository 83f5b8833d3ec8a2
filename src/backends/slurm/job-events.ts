/**
 * Event subscriptions fed by the job watcher: the watcher turns job state changes into `BackendEvent`s and
 * offers each to every open subscription, which keeps those carrying its labels.
 */
import type { BackendEvent, EventSubscription } from '../types.ts';

export class JobEventSubscription implements EventSubscription {
  private readonly queue: BackendEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(private readonly labels: Record<string, string>, private readonly onClose: (s: JobEventSubscription) => void) {}

  offer(event: BackendEvent): void {
    if (this.closed) return;
    for (const [k, v] of Object.entries(this.labels)) if (event.labels[k] !== v) return;
    this.queue.push(event);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<BackendEvent> {
    while (true) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }
}
