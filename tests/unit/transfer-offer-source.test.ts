import { describe, expect, it } from 'vitest';
import { ONE_SHOT_HASH_MAX, wholeHashPlan } from '@/app/_lib/transfer/chunk-batch';
import { blocksToKeep, OfferChunkSource } from '@/app/_lib/transfer/storage';

const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('wholeHashPlan: how the receiving worker hashes a whole file', () => {
  it('hashes a file up to the limit once at the end with WebCrypto, a larger one as it arrives', () => {
    expect(wholeHashPlan(0, true)).toBe('one-shot');
    expect(wholeHashPlan(50_000_000, true)).toBe('one-shot');
    expect(wholeHashPlan(ONE_SHOT_HASH_MAX, true)).toBe('one-shot');
    expect(wholeHashPlan(ONE_SHOT_HASH_MAX + 1, true)).toBe('stream');
    expect(wholeHashPlan(500_000_000, true)).toBe('stream');
  });
  it('streams whatever the size where WebCrypto is missing', () => {
    expect(wholeHashPlan(1024, false)).toBe('stream');
  });
});

describe('blocksToKeep: the read-ahead of a sequential sender', () => {
  it('keeps the block being read and the next one while the file has one', () => {
    expect(blocksToKeep(0, 10, 4)).toEqual([0, 1]);
    expect(blocksToKeep(1, 10, 4)).toEqual([1, 2]);
    expect(blocksToKeep(2, 10, 4)).toEqual([2]);
    expect(blocksToKeep(1, 8, 4)).toEqual([1]);
  });
});

describe('OfferChunkSource: chunks read through the storage worker a block at a time', () => {
  it('gives every chunk its bytes, reading each block once and the next one ahead', async () => {
    const file = bytesOf(10_000);
    const reads: [number, number][] = [];
    const source = new OfferChunkSource('h', new Blob([file]), 1000, 4000, async (_sha, offset, length) => {
      reads.push([offset, length]);
      return file.slice(offset, offset + length);
    });
    for (let i = 0; i < 10; i++) expect(Array.from(await source.readChunk(i))).toEqual(Array.from(file.subarray(i * 1000, (i + 1) * 1000)));
    expect(reads).toEqual([
      [0, 4000],
      [4000, 4000],
      [8000, 2000],
    ]);
    // a chunk asked for again (a resend) after its block was dropped is read again, with the block after it
    expect(Array.from(await source.readChunk(1))).toEqual(Array.from(file.subarray(1000, 2000)));
    expect(reads.slice(3)).toEqual([
      [0, 4000],
      [4000, 4000],
    ]);
  });

  it('reads a block from the Blob when the worker cannot, and a short read chunk by chunk from the Blob', async () => {
    const file = bytesOf(3_500);
    const source = new OfferChunkSource('h', new Blob([file]), 1000, 2000, async (_sha, offset, length) => {
      if (offset === 0) throw new Error('NoModificationAllowedError');
      return file.slice(offset, offset + length - 1); // one byte short
    });
    for (let i = 0; i < 4; i++) expect(Array.from(await source.readChunk(i))).toEqual(Array.from(file.subarray(i * 1000, Math.min(3500, (i + 1) * 1000))));
  });

  it('fails when the file itself cannot be read', async () => {
    const broken = { size: 2000, slice: () => ({ arrayBuffer: () => Promise.reject(new Error('gone')) }) } as unknown as Blob;
    const source = new OfferChunkSource('h', broken, 1000, 2000, () => Promise.reject(new Error('gone')));
    await expect(source.readChunk(0)).rejects.toThrow('gone');
  });
});
