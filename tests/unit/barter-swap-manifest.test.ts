/**
 * Offline swaps stream the swapped file through the transfer path (app/_lib/barter/swaps.ts): the giver sends
 * the file's manifest in pages of MANIFEST_PAGE chunk hashes, the receiver puts it back together and accepts
 * it only when it is whole, in order and fits the file named in the receipt; each side's file has its own
 * transfer id (its frames, acks and resume record).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addManifestPage, MANIFEST_PAGE, manifestPages, swapTransferId } from '@/app/_lib/barter/swaps';
import { chunkCount, CHUNK_SIZE, type Manifest } from '@/app/_lib/transfer/chunks';
import { controlMessageSchema } from '@/app/_lib/transfer/protocol';

const nonce = 'ab'.repeat(16);
const hex = (n: number) => createHash('sha256').update(String(n)).digest('hex');

function manifestOf(sizeBytes: number, chunkSize = CHUNK_SIZE): Manifest {
  const count = chunkCount(sizeBytes, chunkSize);
  return { sizeBytes, sha256: hex(-1), chunkSize, chunkHashes: Array.from({ length: count }, (_, i) => hex(i)) };
}
const fileOf = (m: Manifest) => ({ name: 'big.bin', sha256: m.sha256, sizeBytes: m.sizeBytes });

function assemble(m: Manifest, pages = manifestPages(nonce, m)) {
  let so: Parameters<typeof addManifestPage>[0] = null;
  let last: ReturnType<typeof addManifestPage> | null = null;
  for (const page of pages) {
    last = addManifestPage(so, page, fileOf(m));
    if (last.state === 'incomplete') so = last.pages;
  }
  return last!;
}

describe('swap manifests in pages', () => {
  it('a 100 MB file (1,526 chunks) goes in two pages and comes back whole, equal to the giver manifest', () => {
    const m = manifestOf(100_000_000);
    const pages = manifestPages(nonce, m);
    expect(m.chunkHashes.length).toBe(1526);
    expect(pages.map((p) => [p.from, p.hashes.length, p.total])).toEqual([
      [0, MANIFEST_PAGE, 1526],
      [MANIFEST_PAGE, 1526 - MANIFEST_PAGE, 1526],
    ]);
    // every page fits in one data-channel message with room to spare
    for (const page of pages) expect(JSON.stringify(page).length).toBeLessThan(100_000);
    const result = assemble(m, pages);
    expect(result).toEqual({ state: 'whole', manifest: m });
  });

  it('a small file is one page; an empty file is one empty page', () => {
    expect(manifestPages(nonce, manifestOf(3 * CHUNK_SIZE + 1))).toHaveLength(1);
    const empty = manifestOf(0);
    expect(manifestPages(nonce, empty)).toEqual([{ type: 'barter-manifest', nonce, chunkSize: CHUNK_SIZE, from: 0, total: 0, hashes: [] }]);
    expect(assemble(empty)).toEqual({ state: 'whole', manifest: empty });
  });

  it('is incomplete until the last page arrives', () => {
    const m = manifestOf(70_000_000);
    const [first] = manifestPages(nonce, m);
    const result = addManifestPage(null, first!, fileOf(m));
    expect(result.state).toBe('incomplete');
  });

  it('refuses pages out of order, a page that changes the chunk size, and a manifest that does not fit the receipt', () => {
    const m = manifestOf(100_000_000);
    const [first, second] = manifestPages(nonce, m);
    expect(addManifestPage(null, second!, fileOf(m))).toEqual({ state: 'bad', reason: 'the manifest arrived out of order' });
    const so = addManifestPage(null, first!, fileOf(m));
    if (so.state !== 'incomplete') throw new Error('expected incomplete');
    expect(addManifestPage(structuredClone(so.pages), { ...second!, chunkSize: CHUNK_SIZE * 2 }, fileOf(m)).state).toBe('bad');
    // the giver claims another size than the receipt names: its chunk count does not match
    const other = manifestOf(50_000_000);
    expect(addManifestPage(null, manifestPages(nonce, other)[0]!, fileOf(m))).toEqual({ state: 'bad', reason: 'its manifest is unusable (chunk count does not match the size)' });
    const wrongCount = assemble(m, manifestPages(nonce, { ...m, chunkHashes: m.chunkHashes.slice(0, 1000) }));
    expect(wrongCount).toEqual({ state: 'bad', reason: 'its manifest is unusable (chunk count does not match the size)' });
    // a starting page again (the receiver asked anew) starts over
    const again = addManifestPage(so.state === 'incomplete' ? so.pages : null, first!, fileOf(m));
    expect(again.state).toBe('incomplete');
  });

  it('names each direction of a swap with its own transfer id, valid in the transfer protocol', () => {
    const p = swapTransferId(nonce, 'proposer');
    const a = swapTransferId(nonce, 'accepter');
    expect(p).not.toBe(a);
    for (const transferId of [p, a]) expect(controlMessageSchema.safeParse({ type: 'want', transferId, from: 0 }).success).toBe(true);
  });
});
