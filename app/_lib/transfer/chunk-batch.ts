/**
 * Received chunks on their way to the storage worker, in batches: the page posts every chunk that arrived in
 * one task (a run frame's chunks, or one chunk) as one message on a MessagePort of its own, copied into a pooled
 * buffer that is transferred there and back, and the worker answers each batch with one message. Comlink stays for
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

/**
 * The worker's answer: one byte per chunk of the batch (1 verified and written, 0 not), with the batch's buffers
 * handed back for reuse (`BufferPool`); or why it failed.
 */
export type BatchAnswer = { id: number; ok: Uint8Array; buffers?: ArrayBuffer[] } | { id: number; error: string };

/**
 * Buffers that travel to the storage worker with a batch and come back with its answer. A data channel's
 * ArrayBuffer cannot be handed to a worker without a copy (Chromium copies it into a new buffer on transfer, about
 * 0.3 ms per 192 KiB message, most of it mapping the fresh memory): copying the chunks into a buffer that is
 * already mapped and comes back costs a memcpy. Buffers of `size` bytes; larger requests get a buffer of their own.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  constructor(
    readonly size = 256 * 1024,
    readonly keep = 32,
  ) {}

  get available() {
    return this.free.length;
  }
  take(bytes: number): ArrayBuffer {
    if (bytes > this.size) return new ArrayBuffer(bytes);
    return this.free.pop() ?? new ArrayBuffer(this.size);
  }
  /** A buffer back from the worker (a detached, foreign-sized or surplus one is dropped). */
  give(buffer: ArrayBuffer) {
    if (buffer.byteLength === this.size && this.free.length < this.keep) this.free.push(buffer);
  }
}

/**
 * Packs chunks into a batch by copying them back to back into one buffer from `pool` (one write per stretch of
 * consecutive chunks in the worker, as with a run frame's own buffer). The callers' bytes are left as they were.
 */
export function packPooled(id: number, transferId: string, puts: readonly PutRequest[], pool: BufferPool): { batch: ChunkBatch; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const put of puts) total += put.bytes.byteLength;
  const buffer = pool.take(total);
  const into = new Uint8Array(buffer);
  const spans = new Array<number>(puts.length * 4);
  let at = 0;
  puts.forEach(({ bytes, offset }, i) => {
    into.set(bytes, at);
    spans[i * 4] = 0;
    spans[i * 4 + 1] = at;
    spans[i * 4 + 2] = bytes.byteLength;
    spans[i * 4 + 3] = offset;
    at += bytes.byteLength;
  });
  return { batch: { id, transferId, buffers: [buffer], spans, hashes: puts.map((p) => p.expectedHex) }, transfer: [buffer] };
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

/**
 * Files up to this size are hashed whole at the end, read back from disk in one WebCrypto call (native SHA-256,
 * ~6× less CPU than streaming the bytes through hash-wasm as they arrive); the worker holds the file (and
 * WebCrypto its copy) for that call only. Larger files stream through hash-wasm so memory stays flat.
 */
export const ONE_SHOT_HASH_MAX = 64 * 1024 * 1024;

/** How the receiving worker computes a file's whole SHA-256: once at the end ('one-shot') or as chunks arrive ('stream'). */
export function wholeHashPlan(sizeBytes: number, hasWebCrypto: boolean, max = ONE_SHOT_HASH_MAX): 'one-shot' | 'stream' {
  return hasWebCrypto && sizeBytes <= max ? 'one-shot' : 'stream';
}
