/**
 * Received chunks on their way to the storage worker, in batches: the page posts every chunk that arrived in
 * one task (a run frame's chunks, or one chunk) as one message on a MessagePort of its own, with the message
 * buffers transferred rather than copied, and the worker answers each batch with one message. Comlink stays for
 * the control calls (open, commit, hash); a Comlink call per chunk cost a message, a promise and its bookkeeping
 * on both threads. Pure: packing on the page, and the worker's grouping of verified chunks into one write per
 * stretch of consecutive bytes.
 */

/** One chunk to verify and write: its bytes, where they go in the file, and the SHA-256 they must have. */
export type PutRequest = { offset: number; bytes: Uint8Array; expectedHex: string };

/**
 * A batch as posted: `buffers` (transferred), and per chunk four numbers in `spans` (buffer number, byte offset
 * in it, length, offset in the file) and its expected hash in `hashes`.
 */
export type ChunkBatch = { id: number; transferId: string; buffers: ArrayBuffer[]; spans: number[]; hashes: string[] };

/** The worker's answer: one byte per chunk of the batch (1 verified and written, 0 not), or why it failed. */
export type BatchAnswer = { id: number; ok: Uint8Array } | { id: number; error: string };

/** How far into its buffer a message's payload may start and still count as "the page's own" (a frame header). */
const HEADER_SLACK = 64;

/**
 * Packs chunks into a batch. A buffer is handed over whole (no copy) when this batch's chunks in it cover it
 * from its first bytes (at most a frame header before them) to its end, back to back: a data-channel message
 * or an assembled chunk, which nothing else on the page still reads. Any other bytes (a view into a larger or
 * shared buffer, a run frame some of whose chunks were not needed) are copied into a buffer of their own.
 */
export function packBatch(id: number, transferId: string, puts: readonly PutRequest[]): { batch: ChunkBatch; transfer: ArrayBuffer[] } {
  const byBuffer = new Map<ArrayBufferLike, number[]>();
  puts.forEach((put, i) => {
    const list = byBuffer.get(put.bytes.buffer);
    if (list) list.push(i);
    else byBuffer.set(put.bytes.buffer, [i]);
  });
  const buffers: ArrayBuffer[] = [];
  const spans = new Array<number>(puts.length * 4);
  for (const [buffer, indexes] of byBuffer) {
    if (ownedWhole(buffer, indexes.map((i) => puts[i]!.bytes))) {
      const b = buffers.push(buffer as ArrayBuffer) - 1;
      for (const i of indexes) {
        const { bytes, offset } = puts[i]!;
        spans.splice(i * 4, 4, b, bytes.byteOffset, bytes.byteLength, offset);
      }
    } else {
      for (const i of indexes) {
        const { bytes, offset } = puts[i]!;
        const b = buffers.push(bytes.slice().buffer) - 1;
        spans.splice(i * 4, 4, b, 0, bytes.byteLength, offset);
      }
    }
  }
  return { batch: { id, transferId, buffers, spans, hashes: puts.map((p) => p.expectedHex) }, transfer: buffers };
}

/** Whether these views (in any order) lie back to back from the start of their buffer (give or take a header) to its end. */
function ownedWhole(buffer: ArrayBufferLike, views: Uint8Array[]): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false;
  const sorted = [...views].sort((a, b) => a.byteOffset - b.byteOffset);
  if (sorted[0]!.byteOffset > HEADER_SLACK) return false;
  for (let k = 1; k < sorted.length; k++) if (sorted[k]!.byteOffset !== sorted[k - 1]!.byteOffset + sorted[k - 1]!.byteLength) return false;
  const last = sorted[sorted.length - 1]!;
  return last.byteOffset + last.byteLength === buffer.byteLength;
}

/** The chunk `i` of a batch as a view on its (received) buffer. */
export function chunkView(batch: Pick<ChunkBatch, 'buffers' | 'spans'>, i: number): Uint8Array {
  const s = batch.spans;
  return new Uint8Array(batch.buffers[s[i * 4]!]!, s[i * 4 + 1]!, s[i * 4 + 2]!);
}

/** One write: `bytes` (a view spanning one or more verified chunks) at `offset` in the file. */
export type WriteRun = { offset: number; bytes: Uint8Array };

/**
 * The verified chunks of a batch (`ok[i]`), as few writes as possible: chunks that follow each other both in
 * the file and in the same buffer become one write. In batch order (which is arrival order).
 */
export function writeRuns(batch: Pick<ChunkBatch, 'buffers' | 'spans'>, ok: ArrayLike<number | boolean>): WriteRun[] {
  const s = batch.spans;
  const runs: WriteRun[] = [];
  let current: { buffer: number; start: number; length: number; offset: number } | null = null;
  const close = () => {
    if (current) runs.push({ offset: current.offset, bytes: new Uint8Array(batch.buffers[current.buffer]!, current.start, current.length) });
    current = null;
  };
  for (let i = 0; i < s.length / 4; i++) {
    if (!ok[i]) {
      close();
      continue;
    }
    const [buffer, start, length, offset] = [s[i * 4]!, s[i * 4 + 1]!, s[i * 4 + 2]!, s[i * 4 + 3]!];
    const c = current as { buffer: number; start: number; length: number; offset: number } | null;
    if (c && c.buffer === buffer && c.start + c.length === start && c.offset + c.length === offset) {
      c.length += length;
      continue;
    }
    close();
    current = { buffer, start, length, offset };
  }
  close();
  return runs;
}

/**
 * The part of a write that continues a whole-file hash which has taken in the first `upTo` bytes: the bytes
 * from `upTo` on when the write starts at or before `upTo` and ends after it (bytes before `upTo` were verified
 * and hashed already, and are the same), else null (a write past a gap leaves the hash where it is).
 */
export function streamPart(run: WriteRun, upTo: number): Uint8Array | null {
  const end = run.offset + run.bytes.length;
  if (run.offset > upTo || end <= upTo) return null;
  return run.bytes.subarray(upTo - run.offset);
}
