import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkView, packBatch, streamPart, writeRuns, type PutRequest } from '@/app/_lib/transfer/chunk-batch';
import { encodeChunkFrame, encodeRunFrame, FRAME_HEADER_BYTES, parseChunkFrame, splitRun } from '@/app/_lib/transfer/protocol';

const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** What a batch carries, read back as the worker does: each chunk's bytes and file offset. */
function unpack(puts: readonly PutRequest[]) {
  const { batch, transfer } = packBatch(1, 't', puts);
  return { batch, transfer, chunks: puts.map((_, i) => ({ bytes: Array.from(chunkView(batch, i)), offset: batch.spans[i * 4 + 3] })) };
}

describe('packBatch: chunks for the storage worker', () => {
  it("hands a run frame's buffer over whole, its chunks as views on it", () => {
    const chunks = [filled(100, 1), filled(100, 2), filled(60, 3)];
    const frame = parseChunkFrame(encodeRunFrame(9, 4, chunks));
    if (!frame.ok) throw new Error(frame.reason);
    const events = splitRun(frame.value, (i) => (i === 6 ? 60 : 100));
    const puts = events.map((e, k) => ({ offset: 400 + k * 100, bytes: e.kind === 'chunk' ? e.bytes : new Uint8Array(), expectedHex: `h${k}` }));
    const { batch, transfer, chunks: got } = unpack(puts);
    expect(transfer).toHaveLength(1);
    expect(transfer[0]).toBe(frame.value.payload.buffer);
    expect(batch.spans).toEqual([0, FRAME_HEADER_BYTES, 100, 400, 0, FRAME_HEADER_BYTES + 100, 100, 500, 0, FRAME_HEADER_BYTES + 200, 60, 600]);
    expect(batch.hashes).toEqual(['h0', 'h1', 'h2']);
    expect(got.map((c) => c.bytes)).toEqual(chunks.map((c) => Array.from(c)));
  });

  it('hands over a one-chunk frame, and copies a view into a larger buffer or a partly used run', () => {
    const single = parseChunkFrame(encodeChunkFrame(1, 0, filled(50, 4)));
    if (!single.ok) throw new Error(single.reason);
    const pool = filled(1000, 5);
    const run = parseChunkFrame(encodeRunFrame(1, 0, [filled(10, 6), filled(10, 7), filled(10, 8)]));
    if (!run.ok) throw new Error(run.reason);
    const [, middle] = splitRun(run.value, () => 10);
    const puts: PutRequest[] = [
      { offset: 0, bytes: single.value.payload, expectedHex: 'a' },
      { offset: 50, bytes: pool.subarray(100, 150), expectedHex: 'b' },
      { offset: 100, bytes: middle!.kind === 'chunk' ? middle!.bytes : new Uint8Array(), expectedHex: 'c' },
    ];
    const { transfer, chunks } = unpack(puts);
    expect(transfer).toHaveLength(3);
    expect(transfer[0]).toBe(single.value.payload.buffer); // handed over
    expect(transfer[1]).not.toBe(pool.buffer); // copied: the pool is still the page's
    expect(transfer[2]).not.toBe(run.value.payload.buffer); // only one chunk of the run: copied
    expect(chunks.map((c) => c.bytes)).toEqual(puts.map((p) => Array.from(p.bytes)));
    expect(chunks.map((c) => c.offset)).toEqual([0, 50, 100]);
  });

  it('property: every chunk reads back with its bytes and offset, however the buffers are shared', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 6 }), (shapes) => {
        const puts: PutRequest[] = [];
        let offset = 0;
        shapes.forEach(([count, whole, size], s) => {
          const frame = parseChunkFrame(encodeRunFrame(1, 0, Array.from({ length: count }, (_, k) => filled(size, s * 7 + k))));
          if (!frame.ok) throw new Error(frame.reason);
          const events = splitRun(frame.value, () => size);
          for (const e of whole ? events : events.slice(1)) {
            if (e.kind !== 'chunk') continue;
            puts.push({ offset, bytes: e.bytes, expectedHex: String(offset) });
            offset += size;
          }
        });
        if (puts.length === 0) return;
        const expected = puts.map((p) => ({ bytes: Array.from(p.bytes), offset: p.offset }));
        const { chunks } = unpack(puts);
        expect(chunks).toEqual(expected);
      }),
    );
  });
});

describe('writeRuns: one write per stretch of consecutive verified bytes', () => {
  const frame = parseChunkFrame(encodeRunFrame(1, 0, [filled(10, 1), filled(10, 2), filled(10, 3), filled(10, 4)]));
  if (!frame.ok) throw new Error(frame.reason);
  const puts = splitRun(frame.value, () => 10).map((e, k) => ({ offset: 1000 + k * 10, bytes: e.kind === 'chunk' ? e.bytes : new Uint8Array(), expectedHex: '' }));

  it('joins chunks that follow each other in the file and in their buffer', () => {
    const { batch } = packBatch(1, 't', puts);
    const runs = writeRuns(batch, [1, 1, 1, 1]);
    expect(runs.map((r) => [r.offset, r.bytes.length])).toEqual([[1000, 40]]);
    expect(Array.from(runs[0]!.bytes)).toEqual(puts.flatMap((p) => Array.from(p.bytes)));
  });

  it('leaves out chunks that failed their hash, splitting the write around them', () => {
    const { batch } = packBatch(1, 't', puts);
    expect(writeRuns(batch, [1, 0, 1, 1]).map((r) => [r.offset, r.bytes.length])).toEqual([[1000, 10], [1020, 20]]);
    expect(writeRuns(batch, [0, 0, 0, 0])).toEqual([]);
  });

  it('does not join chunks that are consecutive in the buffer but not in the file', () => {
    const shuffled = puts.map((p, k) => ({ ...p, offset: k === 2 ? 5000 : p.offset }));
    const { batch } = packBatch(1, 't', shuffled);
    expect(writeRuns(batch, [1, 1, 1, 1]).map((r) => [r.offset, r.bytes.length])).toEqual([[1000, 20], [5000, 10], [1030, 10]]);
  });
});

describe('streamPart: what continues the whole-file hash', () => {
  const run = { offset: 100, bytes: filled(50, 9) };
  it('is the write from the hashed prefix on, or nothing past a gap or behind the prefix', () => {
    expect(Array.from(streamPart(run, 100)!)).toEqual(Array.from(run.bytes));
    expect(Array.from(streamPart(run, 120)!)).toEqual(Array.from(run.bytes.subarray(20)));
    expect(streamPart(run, 99)).toBeNull(); // a gap before it
    expect(streamPart(run, 150)).toBeNull(); // already hashed
    expect(streamPart(run, 400)).toBeNull();
  });
});
