import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildManifest,
  CHUNK_SIZE,
  chunkCount,
  chunkLength,
  chunkRange,
  manifestProblem,
  sha256Hex,
  verifyChunk,
} from '@/app/_lib/transfer/chunks';

const nodeSha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Deterministic pseudo-random bytes (xorshift32). */
function bytesOf(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('chunkCount and chunkRange', () => {
  it('counts the short last chunk and no chunk for an empty file', () => {
    expect(chunkCount(0, 1024)).toBe(0);
    expect(chunkCount(1, 1024)).toBe(1);
    expect(chunkCount(1024, 1024)).toBe(1);
    expect(chunkCount(1025, 1024)).toBe(2);
    expect(chunkCount(50 * 1024 * 1024)).toBe(800);
    expect(chunkRange(1, 1025, 1024)).toEqual({ start: 1024, end: 1025 });
    expect(chunkLength(1, 1025, 1024)).toBe(1);
  });

  it('refuses nonsense', () => {
    expect(() => chunkCount(-1, 10)).toThrow(RangeError);
    expect(() => chunkCount(10, 0)).toThrow(RangeError);
    expect(() => chunkCount(1.5, 10)).toThrow(RangeError);
    expect(() => chunkRange(2, 1025, 1024)).toThrow(RangeError);
  });

  it('ranges tile the file exactly, every chunk full but the last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 300_000 }), (size, chunkSize) => {
        const count = chunkCount(size, chunkSize);
        let covered = 0;
        const sample = count > 6 ? [0, 1, 2, count - 3, count - 2, count - 1] : Array.from({ length: count }, (_, k) => k);
        for (const i of sample) {
          const { start, end } = chunkRange(i, size, chunkSize);
          expect(start).toBe(i * chunkSize);
          expect(end - start).toBe(i === count - 1 ? size - (count - 1) * chunkSize : chunkSize);
          expect(end - start).toBeGreaterThan(0);
          covered = end;
        }
        expect(covered).toBe(size);
      }),
    );
  });
});

describe('buildManifest', () => {
  it('matches node:crypto for the whole file and every chunk, short last chunk included', async () => {
    const size = 3 * CHUNK_SIZE + 12_345;
    const bytes = bytesOf(size, 7);
    const progress: number[] = [];
    const manifest = await buildManifest(new Blob([bytes]), { onProgress: (p) => progress.push(p.bytesDone) });
    expect(manifest.sizeBytes).toBe(size);
    expect(manifest.chunkSize).toBe(CHUNK_SIZE);
    expect(manifest.sha256).toBe(nodeSha(bytes));
    expect(manifest.chunkHashes).toHaveLength(4);
    manifest.chunkHashes.forEach((h, i) => expect(h).toBe(nodeSha(bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE))));
    expect(progress.at(-1)).toBe(size);
    expect(manifestProblem(manifest)).toBeNull();
  });

  it('reads across many read blocks and hands every chunk to onChunk in order', async () => {
    const chunkSize = 16 * 1024;
    const bytes = bytesOf(chunkSize * 150 + 1, 3); // more than two 64-chunk read blocks
    const seen: number[] = [];
    const copy = new Uint8Array(bytes.length);
    const manifest = await buildManifest(new Blob([bytes]), {
      chunkSize,
      onChunk: (chunk, index) => {
        seen.push(index);
        copy.set(chunk, index * chunkSize);
      },
    });
    expect(seen).toEqual(Array.from({ length: 151 }, (_, i) => i));
    expect(nodeSha(copy)).toBe(manifest.sha256);
    expect(manifest.chunkHashes[150]).toBe(nodeSha(bytes.subarray(150 * chunkSize)));
  });

  it('handles an empty file', async () => {
    const manifest = await buildManifest(new Blob([]));
    expect(manifest).toEqual({ sizeBytes: 0, sha256: nodeSha(new Uint8Array()), chunkSize: CHUNK_SIZE, chunkHashes: [] });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(buildManifest(new Blob([bytesOf(1000)]), { signal: controller.signal })).rejects.toThrow();
  });

  it('agrees with node:crypto on arbitrary sizes and chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 70_000 }), fc.integer(), async (size, chunkSize, seed) => {
        const bytes = bytesOf(size, seed);
        const manifest = await buildManifest(new Blob([bytes]), { chunkSize });
        expect(manifest.sha256).toBe(nodeSha(bytes));
        expect(manifest.chunkHashes.length).toBe(chunkCount(size, chunkSize));
        const last = manifest.chunkHashes.length - 1;
        if (last >= 0) expect(manifest.chunkHashes[last]).toBe(nodeSha(bytes.subarray(last * chunkSize)));
      }),
      { numRuns: 40 },
    );
  });
});

describe('verifyChunk', () => {
  it('accepts the right bytes and rejects a flipped byte or a malformed hash', async () => {
    const bytes = bytesOf(CHUNK_SIZE, 9);
    const hex = nodeSha(bytes);
    expect(await sha256Hex(bytes)).toBe(hex);
    expect(await verifyChunk(bytes, hex)).toBe(true);
    const bad = bytes.slice();
    bad[12_345]! ^= 0x01;
    expect(await verifyChunk(bad, hex)).toBe(false);
    expect(await verifyChunk(bytes, hex.toUpperCase())).toBe(false);
    expect(await verifyChunk(bytes, 'abc')).toBe(false);
  });
});

describe('manifestProblem', () => {
  it('names what is inconsistent', () => {
    const ok = { sizeBytes: 70_000, sha256: 'a'.repeat(64), chunkSize: CHUNK_SIZE, chunkHashes: ['b'.repeat(64), 'c'.repeat(64)] };
    expect(manifestProblem(ok)).toBeNull();
    expect(manifestProblem({ ...ok, chunkHashes: ['b'.repeat(64)] })).toMatch(/count/);
    expect(manifestProblem({ ...ok, chunkSize: 100 })).toMatch(/chunk size/);
    expect(manifestProblem({ ...ok, sha256: 'xyz' })).toMatch(/file hash/);
    expect(manifestProblem({ ...ok, chunkHashes: ['b'.repeat(64), 'C'.repeat(64)] })).toMatch(/chunk hash/);
  });
});
