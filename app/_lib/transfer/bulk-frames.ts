/**
 * The bulk channel's rules, shared by the page (bulk.ts) and the storage worker (bulk-worker.ts), pure.
 *
 * Beside simple-peer's channel each browser connection has a second data channel, negotiated out of band
 * (`BULK_CHANNEL_ID` on both ends, so neither side's `ondatachannel` sees it) and handed to the storage worker
 * as it is created: chunk bytes then go from one worker's file to the other's without passing through either
 * page. It carries run frames only (protocol.ts), sender to receiver; everything else stays on simple-peer's
 * channel. A receiver that has one asks for it in its `want` (`bulk: true`); a sender uses it only when asked,
 * so a peer without one (an older client, the Node agent) gets the frames on the page's channel as before.
 */
import type { ChunkBatch } from './chunk-batch';
import { chunkCount } from './chunks';
import { FRAME_HEADER_BYTES, parseChunkFrame } from './protocol';

/** The bulk channel's stream id on both ends (below Chromium's 1024 SCTP streams, far from simple-peer's 0/1). */
export const BULK_CHANNEL_ID = 1000;
export const BULK_LABEL = 'swapmesh-bulk';

/** One run frame for the worker to read from an offered file and send: `count` chunks from `first` on. */
export type BulkRun = {
  key: number;
  /** the offered file's SHA-256 (its name in OPFS) */
  sha256: string;
  sizeBytes: number;
  chunkSize: number;
  first: number;
  count: number;
  /** debug: a chunk of the run whose middle byte is flipped on the way, or -1 */
  damage: number;
};

/** What the storage worker made of a run frame it received for a file: each chunk's check, or why the frame is refused. */
export type StoredRun = { first: number; ok: Uint8Array } | { error: string; code: 'ERR_PROTOCOL' | 'ERR_STORAGE' };

/** Page → worker, on the bulk port. */
export type BulkCommand = { type: 'send'; channel: number; cmd: number; run: BulkRun } | { type: 'close'; channel: number };

/** Worker → page, on the bulk port: a run went out (or could not be read), a channel closed, a received frame's outcome. */
export type BulkEvent =
  | { type: 'sent'; channel: number; cmd: number; error?: string }
  | { type: 'closed'; channel: number }
  | { type: 'stored'; transferId: string; result: StoredRun };

/** What the receiving worker keeps about a file it receives, to check frames that arrive on a bulk channel. */
export type Receipt = { transferId: string; sizeBytes: number; chunkSize: number; hashes: readonly string[] };

/** Whether a sender sends its next frames on the bulk channel. */
export function sendsOnBulk(options: { asked: boolean; open: boolean; offered: boolean; chunkSize: number; framePayload: number }): boolean {
  return options.asked && options.open && options.offered && options.chunkSize <= options.framePayload;
}

/** Where a run's bytes are in the file. */
export function runSpan(run: Pick<BulkRun, 'first' | 'count' | 'sizeBytes' | 'chunkSize'>): { offset: number; length: number } {
  const offset = run.first * run.chunkSize;
  return { offset, length: Math.max(0, Math.min(run.sizeBytes, offset + run.count * run.chunkSize) - offset) };
}

/** The byte of a run frame's payload that the debug damage flips (the middle of chunk `index`), or -1. */
export function damageOffset(run: Pick<BulkRun, 'first' | 'count' | 'sizeBytes' | 'chunkSize' | 'damage'>): number {
  if (run.damage < run.first || run.damage >= run.first + run.count) return -1;
  const start = (run.damage - run.first) * run.chunkSize;
  const length = Math.min(run.chunkSize, run.sizeBytes - run.damage * run.chunkSize);
  return start + Math.floor(length / 2);
}

/**
 * A run frame that arrived on a bulk channel, as a batch for the storage worker (views on the frame's own buffer,
 * no copy) for the file it names; null for a frame of no file received here (dropped). A frame past the file's
 * end is refused; one whose payload is not exactly its chunks back to back has every chunk bad (fetched again).
 */
export function bulkBatch(
  frame: Uint8Array,
  receiptOf: (key: number) => Receipt | undefined,
): null | { transferId: string; first: number; count: number; batch: ChunkBatch | null } | { transferId: string; error: string } {
  const parsed = parseChunkFrame(frame);
  if (!parsed.ok) return null;
  const { key, index: first, run } = parsed.value;
  const receipt = receiptOf(key);
  if (!receipt) return null;
  const { transferId, sizeBytes, chunkSize } = receipt;
  if (!run) return { transferId, error: 'a chunk frame on the bulk channel' };
  const total = chunkCount(sizeBytes, chunkSize);
  if (first + run > total) return { transferId, error: `the sender sent chunk ${first + run - 1} of ${total}` };
  const { length } = runSpan({ first, count: run, sizeBytes, chunkSize });
  if (parsed.value.payload.length !== length) return { transferId, first, count: run, batch: null };
  const spans: number[] = [];
  let at = frame.byteOffset + FRAME_HEADER_BYTES;
  for (let k = 0; k < run; k++) {
    const size = Math.min(chunkSize, sizeBytes - (first + k) * chunkSize);
    spans.push(0, at, size, (first + k) * chunkSize);
    at += size;
  }
  const batch: ChunkBatch = { id: 0, transferId, buffers: [frame.buffer as ArrayBuffer], spans, hashes: receipt.hashes.slice(first, first + run) };
  return { transferId, first, count: run, batch };
}
