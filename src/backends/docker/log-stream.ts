/**
 * Docker multiplexes a non-TTY container's stdout and stderr into one stream of frames: an 8-byte header
 * (stream id, 3 zero bytes, big-endian payload length) followed by the payload. This keeps one of the two.
 */
const HEADER = 8;
const STDOUT = 1;
const STDERR = 2;

/** Yields the payloads of frames for `stream`, joining frames split across chunks. */
export async function* demultiplex(source: AsyncIterable<Buffer | string>, stream: 'stdout' | 'stderr'): AsyncGenerator<Buffer> {
  const wanted = stream === 'stdout' ? STDOUT : STDERR;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    const out: Buffer[] = [];
    let offset = 0;
    while (pending.length - offset >= HEADER) {
      const kind = pending[offset];
      const size = pending.readUInt32BE(offset + 4);
      if (pending.length - offset - HEADER < size) break;
      if (kind === wanted && size > 0) out.push(pending.subarray(offset + HEADER, offset + HEADER + size));
      offset += HEADER + size;
    }
    pending = pending.subarray(offset);
    if (out.length === 1) yield out[0];
    else if (out.length > 1) yield Buffer.concat(out);
  }
}
