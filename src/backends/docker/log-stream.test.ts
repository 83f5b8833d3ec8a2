import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demultiplex } from './log-stream.ts';

function frame(kind: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function collect(chunks: Buffer[], stream: 'stdout' | 'stderr'): Promise<string> {
  async function* source(): AsyncGenerator<Buffer> {
    yield* chunks;
  }
  let out = '';
  for await (const b of demultiplex(source(), stream)) out += b.toString();
  return out;
}

test('keeps one stream and drops the other', async () => {
  const all = [frame(1, 'out1\n'), frame(2, 'err1\n'), frame(1, 'out2\n')];
  assert.equal(await collect(all, 'stdout'), 'out1\nout2\n');
  assert.equal(await collect(all, 'stderr'), 'err1\n');
});

test('reassembles frames split anywhere across chunks, headers included', async () => {
  const bytes = Buffer.concat([frame(1, 'héllo '), frame(2, 'noise'), frame(1, 'world\n')]);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.equal(await collect([bytes.subarray(0, cut), bytes.subarray(cut)], 'stdout'), 'héllo world\n', `cut at ${cut}`);
  }
  const oneByteAtATime = [...bytes].map((b) => Buffer.from([b]));
  assert.equal(await collect(oneByteAtATime, 'stderr'), 'noise');
});
