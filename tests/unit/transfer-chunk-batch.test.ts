import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool, chunkView, packPooled, streamPart, writeRuns, type PutRequest } from '@/app/_lib/transfer/chunk-batch';
import { encodeRunFrame, parseChunkFrame, splitRun } from '@/app/_lib/transfer/protocol';

const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** What a batch carries, read back as the worker does: each chunk's bytes and file offset. */
function unpack(puts: readonly PutRequest[]) {
  const { batch, transfer } = packPooled(1, 't', puts, new BufferPool(64));
  return { batch, transfer, chunks: puts.map((_, i) => ({ bytes: Array.from(chunkView(batch, i)), offset: batch.spans[i * 4 + 3] })) };
}

describe('packPooled: every chunk reads back from its batch', () => {
  it('property: every chunk reads back with its bytes and offset, however the buffers are shared or sized', () => {
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
    const { batch } = packPooled(1, 't', puts, new BufferPool());
    const runs = writeRuns(batch, [1, 1, 1, 1]);
    expect(runs.map((r) => [r.offset, r.bytes.length])).toEqual([[1000, 40]]);
    expect(Array.from(runs[0]!.bytes)).toEqual(puts.flatMap((p) => Array.from(p.bytes)));
  });

  it('leaves out chunks that failed their hash, splitting the write around them', () => {
    const { batch } = packPooled(1, 't', puts, new BufferPool());
    expect(writeRuns(batch, [1, 0, 1, 1]).map((r) => [r.offset, r.bytes.length])).toEqual([[1000, 10], [1020, 20]]);
    expect(writeRuns(batch, [0, 0, 0, 0])).toEqual([]);
  });

  it('does not join chunks that are consecutive in the buffer but not in the file', () => {
    const shuffled = puts.map((p, k) => ({ ...p, offset: k === 2 ? 5000 : p.offset }));
    const { batch } = packPooled(1, 't', shuffled, new BufferPool());
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

describe('packPooled: chunks copied into buffers that come back from the worker', () => {
  it('copies the chunks back to back into one pooled buffer, leaving the callers bytes alone', () => {
    const pool = new BufferPool(1024, 2);
    const a = filled(300, 1);
    const b = filled(200, 2);
    const { batch, transfer } = packPooled(7, 't', [
      { offset: 600, bytes: a, expectedHex: 'ha' },
      { offset: 900, bytes: b, expectedHex: 'hb' },
    ], pool);
    expect(transfer).toHaveLength(1);
    expect(transfer[0]!.byteLength).toBe(1024);
    expect(batch.spans).toEqual([0, 0, 300, 600, 0, 300, 200, 900]);
    expect(batch.hashes).toEqual(['ha', 'hb']);
    expect(Array.from(chunkView(batch, 0))).toEqual(Array.from(a));
    expect(Array.from(chunkView(batch, 1))).toEqual(Array.from(b));
    expect(a.byteLength).toBe(300); // not taken over
    // consecutive in the file and in the buffer: one write
    expect(writeRuns(batch, [1, 1]).map((r) => [r.offset, r.bytes.length])).toEqual([[600, 500]]);
  });

  it('reuses a buffer given back, keeps at most `keep`, and gives a large batch a buffer of its own', () => {
    const pool = new BufferPool(1024, 1);
    const first = pool.take(100);
    pool.give(first);
    pool.give(new ArrayBuffer(1024)); // beyond keep: dropped
    pool.give(new ArrayBuffer(10)); // not the pool's size: dropped
    expect(pool.available).toBe(1);
    expect(pool.take(1024)).toBe(first);
    const big = packPooled(1, 't', [{ offset: 0, bytes: filled(2000, 3), expectedHex: 'h' }], pool);
    expect(big.transfer[0]!.byteLength).toBe(2000);
    expect(Array.from(chunkView(big.batch, 0))).toEqual(Array.from(filled(2000, 3)));
  });
});
