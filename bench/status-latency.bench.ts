/**
 * The live status stream's latency: the time from the engine recording a status change (the event's `time`, taken
 * in the transaction that commits it) to a real SSE client (the `eventsource` package) receiving it, over
 * 127.0.0.1 from `bin/xcs serve` as a subprocess. Real runs on Docker (a busybox echo) produce the events: 12
 * runs one after another, about seven events each. Target: median <= 50 ms. Both sides read the same system
 * clock, in milliseconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { median, percentile, type Bench } from './lib.ts';
import { benchAuth, startBenchServer, xnatTimeMs, type BenchServer } from './serve.ts';

const RUNS = 12;
const TERMINAL = /^(Complete|Failed|Killed)/;

const bench: Bench = {
  name: 'status stream latency',
  async run() {
    const base = await mkdtemp(join(tmpdir(), 'xcs-bench-sse-'));
    let server: BenchServer | undefined;
    let es: EventSource | undefined;
    try {
      server = await startBenchServer(join(base, 'data'));
      const latencies: number[] = [];
      const ended = new Set<number>();
      let wake: (() => void) | null = null;
      es = new EventSource(`${server.url}/xapi/containers/events`, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: benchAuth } }),
      });
      await new Promise<void>((resolve, reject) => { es!.onopen = () => resolve(); es!.onerror = () => reject(new Error('stream refused')); });
      es.addEventListener('status', (e) => {
        const received = Date.now();
        const data = JSON.parse(e.data) as { id: number; status: string; time: string };
        latencies.push(received - xnatTimeMs(data.time));
        if (TERMINAL.test(data.status)) { ended.add(data.id); wake?.(); }
      });
      for (let i = 0; i < RUNS; i++) {
        const id = await server.launch(`run ${i}`);
        while (!ended.has(id)) await new Promise<void>((r) => { wake = r; });
      }
      const p50 = median(latencies);
      return [
        { name: `status event to SSE client, median (${latencies.length} events of ${RUNS} runs)`, unit: 'ms', baseline: null, ours: p50,
          better: 'lower', target: '<= 50 ms', met: p50 <= 50 },
        { name: 'status event to SSE client, p99', unit: 'ms', baseline: null, ours: percentile(latencies, 99), better: 'lower',
          target: 'informative', met: true },
      ];
    } finally {
      es?.close();
      await server?.stop();
      await rm(base, { recursive: true, force: true });
    }
  },
};

export default bench;
