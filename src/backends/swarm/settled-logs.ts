/**
 * A one-shot read of a service's logs. Swarm's log endpoint sometimes stops sending without ending the response
 * (moby/swarmkit#1956, docker/cli#4678), most often for a task on another node; asking again answers. So a read
 * that goes quiet is given up and started over, skipping what was already delivered: a task's earlier output does
 * not change, later output only adds to its end.
 */
export interface SettledReadOptions {
  /** How long the engine may send nothing before the read is asked again. */
  idleMs: number;
  /** Reads in all; after the last one, what was delivered stands. */
  attempts: number;
  signal?: AbortSignal;
}

/** `open` must end quietly (no throw) once the signal it is given aborts. */
export async function* readSettled(open: (signal: AbortSignal) => AsyncIterable<Buffer>, options: SettledReadOptions): AsyncGenerator<Buffer> {
  let delivered = 0;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    const quiet = new AbortController();
    const onAbort = (): void => quiet.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true) quiet.abort();
    const timer = setTimeout(() => quiet.abort(), options.idleMs);
    let seen = 0;
    try {
      for await (const chunk of open(quiet.signal)) {
        timer.refresh();
        const skip = Math.min(chunk.length, Math.max(0, delivered - seen));
        seen += chunk.length;
        if (skip === chunk.length) continue;
        const part = skip === 0 ? chunk : chunk.subarray(skip);
        delivered += part.length;
        yield part;
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (!quiet.signal.aborted || options.signal?.aborted === true) return;
  }
}
