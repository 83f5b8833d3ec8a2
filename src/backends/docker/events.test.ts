import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerEventFollower, exactTimeNano, toBackendEvent, type OpenEventStream } from './events.ts';

const ev = (id: string, action: string, nano: bigint, attrs: Record<string, string> = {}) => ({
  Type: 'container',
  Action: action,
  Actor: { ID: id, Attributes: { name: `n-${id}`, image: 'img', 'org.xcs.managed': 'true', ...attrs } },
  time: Number(nano / 1_000_000_000n),
  timeNano: `EXACT${nano}`,
});
/** Writes timeNano as the engine does: an integer too large for a double. */
const line = (e: object): string => `${JSON.stringify(e).replace(/"EXACT(\d+)"/, '$1')}\n`;

const parsed = (...args: Parameters<typeof ev>) => JSON.parse(line(ev(...args)));

test('maps Docker actions; died carries the exit code, killed the signal; noise is dropped', () => {
  const text = line(ev('a', 'die', 1_700_000_000_123_000_007n, { exitCode: '3' }));
  const died = toBackendEvent(JSON.parse(text), exactTimeNano(text));
  assert.equal(died?.timeNano, 1_700_000_000_123_000_007n);
  assert.equal(died?.status, 'died');
  assert.equal(died?.exitCode, 3);
  assert.equal(died?.name, 'n-a');
  assert.deepEqual(died?.labels, { 'org.xcs.managed': 'true' });
  assert.equal(died?.time.getTime(), 1_700_000_000_123);
  assert.equal(toBackendEvent(parsed('a', 'die', 1n, { exitCode: '' }))?.exitCode, null);
  assert.equal(toBackendEvent(parsed('a', 'kill', 1n, { signal: '9' }))?.signal, '9');
  assert.equal(toBackendEvent(parsed('a', 'oom', 1n))?.status, 'oom');
  assert.equal(toBackendEvent(parsed('a', 'destroy', 1n))?.status, 'removed');
  assert.equal(toBackendEvent(parsed('a', 'exec_start: sh', 1n)), null);
  assert.equal(toBackendEvent({ ...parsed('a', 'create', 1n), Type: 'network' }), null);
});

// The engine cannot be made to drop the events connection on demand; this scripted stream can.
test('reconnects after a drop from the last delivered time, without losing or repeating events', async () => {
  const t = 1_700_000_000_000_000_000n;
  const sinces: string[] = [];
  const connections: (() => AsyncGenerator<string>)[] = [
    async function* () {
      yield line(ev('a', 'create', t + 1n));
      yield line(ev('a', 'start', t + 2n)) + '{"torn":';
      throw new Error('connection reset');
    },
    async function* () {
      // A replay of the instant already seen (t+2), and one more event at that same instant, then new ones.
      yield line(ev('a', 'start', t + 2n)) + line(ev('b', 'create', t + 2n));
      yield line(ev('a', 'die', t + 3n, { exitCode: '0' }));
    },
  ];
  const open: OpenEventStream = async (since, signal) => {
    sinces.push(since);
    const next = connections.shift();
    if (next !== undefined) return next();
    return (async function* () {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      yield '';
    })();
  };
  const drops: unknown[] = [];
  const follower = new DockerEventFollower(open, { since: new Date(1_700_000_000_000), retryMs: 1, onDisconnect: (e) => drops.push(e) });
  const seen: string[] = [];
  for await (const e of follower) {
    seen.push(`${e.backendId}:${e.status}`);
    if (e.status === 'died') follower.close();
  }
  assert.deepEqual(seen, ['a:created', 'a:started', 'b:created', 'a:died']);
  // The reconnection replays from a margin before the newest event (never before the asked-for start).
  assert.deepEqual(sinces, ['1700000000.000000000', '1700000000.000000000']);
  assert.equal(drops.length, 1);
});

test('an event delivered after a newer one of another container is not dropped', async () => {
  const t = 1_700_000_000_000_000_000n;
  let served = false;
  const open: OpenEventStream = async (_since, signal) => {
    if (!served) {
      served = true;
      return (async function* () {
        // What the engine does under load: b's die (t+5) arrives before a's die (t+4).
        yield line(ev('a', 'start', t + 1n)) + line(ev('b', 'start', t + 2n));
        yield line(ev('b', 'die', t + 5n, { exitCode: '0' })) + line(ev('a', 'die', t + 4n, { exitCode: '0' }));
      })();
    }
    return (async function* () {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      yield '';
    })();
  };
  const follower = new DockerEventFollower(open, { since: new Date(1_700_000_000_000), retryMs: 1 });
  const seen: string[] = [];
  for await (const e of follower) {
    seen.push(`${e.backendId}:${e.status}`);
    if (seen.filter((x) => x.endsWith(':died')).length === 2) follower.close();
  }
  assert.deepEqual(seen, ['a:started', 'b:started', 'b:died', 'a:died']);
});

test('close() ends an iteration that is waiting for events', async () => {
  const follower = new DockerEventFollower(
    async (_since, signal) =>
      (async function* () {
        await new Promise((_, reject) => {
          if (signal.aborted) reject(new Error('aborted'));
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        });
        yield '';
      })(),
    { since: new Date() },
  );
  const done = (async () => {
    const seen = [];
    for await (const e of follower) seen.push(e);
    return seen;
  })();
  follower.close();
  assert.deepEqual(await done, []);
});
