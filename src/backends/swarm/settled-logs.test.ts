import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readSettled } from './settled-logs.ts';

/** A log source that sends `parts`, then either ends or (like a stuck swarm read) waits until aborted. */
function source(parts: string[], hangs: boolean): (signal: AbortSignal) => AsyncIterable<Buffer> {
  return (signal) => (async function* () {
    for (const p of parts) yield Buffer.from(p);
    if (!hangs) return;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  })();
}

async function collect(stream: AsyncIterable<Buffer>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString('utf8');
  return text;
}

describe('readSettled: a one-shot log read that swarm leaves hanging', () => {
  it('asks again after a quiet spell and delivers each byte once', async () => {
    const answers = [source(['one\n', 'tw'], true), source(['one\ntwo\n', 'three\n'], false)];
    let calls = 0;
    const text = await collect(readSettled((s) => answers[calls++]!(s), { idleMs: 50, attempts: 3 }));
    assert.equal(text, 'one\ntwo\nthree\n');
    assert.equal(calls, 2);
  });

  it('keeps what arrived when every attempt hangs, and stops after the last', async () => {
    let calls = 0;
    const started = Date.now();
    const text = await collect(readSettled((s) => { calls++; return source(['partial'], true)(s); }, { idleMs: 40, attempts: 3 }));
    assert.equal(text, 'partial');
    assert.equal(calls, 3);
    assert.ok(Date.now() - started < 2000);
  });

  it('does not ask again once the caller aborted', async () => {
    const caller = new AbortController();
    let calls = 0;
    setTimeout(() => caller.abort(), 30);
    const text = await collect(readSettled((s) => { calls++; return source(['x'], true)(s); }, { idleMs: 5000, attempts: 3, signal: caller.signal }));
    assert.equal(text, 'x');
    assert.equal(calls, 1);
  });

  it('reads once when the engine answers in full', async () => {
    let calls = 0;
    const text = await collect(readSettled((s) => { calls++; return source(['a', 'b'], false)(s); }, { idleMs: 40, attempts: 3 }));
    assert.equal(text, 'ab');
    assert.equal(calls, 1);
  });
});
