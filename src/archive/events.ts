/**
 * Archive events: what later work (automatic launches, the UI) subscribes to. Emitted after the
 * transaction that made the change committed; a throwing listener never undoes the change.
 */
import { EventEmitter } from 'node:events';

export type ArchiveEventName =
  | 'session.created' | 'session.archived' | 'scan.created' | 'scan.archived' | 'resource.created';

export interface ArchiveEvent {
  project: string;
  subject?: string;
  session?: string;
  scan?: string;
  /** Resource id, for `resource.created`. */
  resource?: number;
  /** The archive URI of the object (`/archive/experiments/XNAT_E00001/scans/1`). */
  uri: string;
  xsiType: string;
  /** Login of the user who made the change. */
  user: string;
}

export type ArchiveEventListener = (e: ArchiveEvent) => void;

export class ArchiveEvents {
  readonly #emitter = new EventEmitter();

  on(name: ArchiveEventName, listener: ArchiveEventListener): this {
    this.#emitter.on(name, listener);
    return this;
  }

  off(name: ArchiveEventName, listener: ArchiveEventListener): this {
    this.#emitter.off(name, listener);
    return this;
  }

  once(name: ArchiveEventName, listener: ArchiveEventListener): this {
    this.#emitter.once(name, listener);
    return this;
  }

  /** Calls every listener; a listener's exception is reported, not propagated to the writer. */
  emit(name: ArchiveEventName, e: ArchiveEvent): void {
    for (const l of this.#emitter.listeners(name) as ArchiveEventListener[]) {
      try {
        l(e);
      } catch (err) {
        process.emitWarning(`archive event listener for ${name} failed: ${String(err)}`);
      }
    }
  }
}
