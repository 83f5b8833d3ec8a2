/**
 * How many idle subscribers of the status stream one server holds: 1,000 SSE connections (each authenticated) to
 * `bin/xcs serve` as a subprocess, the server's VmRSS before and with them, then one real run launched and the
 * time from the engine recording its `Queued` event until the last subscriber received it (the fan-out). Target: >= 1,000 subscribers held, all
 * served; RSS reported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type ClientRequest } from 'node:http';
import type { Bench } from './lib.ts';
import { benchAuth, rssMiB, startBenchServer, xnatTimeMs, type BenchServer } from './serve.ts';

const SUBSCRIBERS = 1000;

/** When the Queued event reached this subscriber, and the time the engine recorded it. */
interface Arrival { at: number; event: number }
interface Subscriber { req: ClientRequest; sawQueued: Promise<Arrival> }

/** Opens one stream; resolves once the server answered 200, with a promise of the time a Queued event arrives. */
function subscribe(url: URL): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    let sawQueued!: (a: Arrival) => void;
    const queued = new Promise<Arrival>((r) => { sawQueued = r; });
    const req = request({ host: url.hostname, port: url.port, path: '/xapi/containers/events', agent: false,
      headers: { authorization: benchAuth, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`stream answered ${res.statusCode}`)); return; }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const m = /"status":"Queued","time":"([^"]+)"/.exec(text);
        if (m) sawQueued({ at: Date.now(), event: xnatTimeMs(m[1]) });
        if (text.length > 4096) text = text.slice(-1024);
      });
      res.on('error', () => undefined);
      resolve({ req, sawQueued: queued });
    });
    req.on('error', reject);
    req.end();
  });
}

const bench: Bench = {
  name: 'status stream subscribers',
  async run() {
    const base = await mkdtemp(join(tmpdir(), 'xcs-bench-subs-'));
    let server: BenchServer | undefined;
    const subs: Subscriber[] = [];
    try {
      server = await startBenchServer(join(base, 'data'));
      const url = new URL(server.url);
      const before = rssMiB(server.child.pid!);
      // In waves of 100 so that the server authenticates them without a thundering herd.
      for (let i = 0; i < SUBSCRIBERS; i += 100) subs.push(...await Promise.all(Array.from({ length: 100 }, () => subscribe(url))));
      await new Promise((r) => setTimeout(r, 1000));
      const held = rssMiB(server.child.pid!);
      const run = await server.launch('fan-out');
      const arrivals = await Promise.all(subs.map((s) => s.sawQueued));
      await server.waitEnded(run);
      const fanOut = Math.max(...arrivals.map((a) => a.at - a.event));
      return [
        { name: `idle subscribers held (all served their event)`, unit: 'connections', baseline: null, ours: subs.length, better: 'higher',
          target: '>= 1000', met: subs.length >= 1000 && arrivals.length === subs.length },
        { name: `xcs serve VmRSS with ${SUBSCRIBERS} subscribers (before: ${before.toFixed(1)} MiB)`, unit: 'MiB', baseline: before, baselineLabel: 'no subscribers',
          ours: held, better: 'lower', target: 'informative', met: true },
        { name: `status event to the last of ${SUBSCRIBERS} subscribers (fan-out)`, unit: 'ms', baseline: null, ours: fanOut, better: 'lower',
          target: 'informative', met: true },
      ];
    } finally {
      for (const s of subs) s.req.destroy();
      await server?.stop();
      await rm(base, { recursive: true, force: true });
    }
  },
};

export default bench;
