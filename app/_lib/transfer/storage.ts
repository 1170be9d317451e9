/**
 * Where transfers keep their bytes: the Origin Private File System, so a file never has to fit in
 * memory and survives reloads.
 *
 * Receiving: `openIncoming()` gives a ChunkSink backed by `storage.worker.ts` (synchronous access
 * handles in a worker: chunks are verified and written in place at their offset, flushed before
 * the watermark is recorded in a small JSON resume record next to the file). Run frames that arrive on
 * a bulk channel are checked and written in the worker itself; the sink only hears the outcome (`listen`).
 * After a reload or a dropped connection `readResume()` tells where to continue.
 *
 * Offering: `importOffer()` copies the picked file into OPFS while building its manifest (one
 * pass); `offerSource()` reads chunks back through the storage worker, a 4 MiB block at a time with the next
 * one read ahead (from the Blob where the worker cannot), for a peer without a bulk channel; on a bulk
 * channel the worker reads each run frame itself.
 *
 * `MemoryChunkStore` implements the same interfaces in memory, for tests and the bench.
 */
import { proxy, transfer, type Remote } from 'comlink';
import { listenStored } from './bulk';
import type { StoredRun } from './bulk-frames';
import { BufferPool, packPooled, type BatchAnswer, type PutRequest } from './chunk-batch';
import { chunkRange, sha256Hex, verifyChunk, type Manifest, type ManifestProgress } from './chunks';
import { transferKey } from './protocol';
import type { ChunkSink, ChunkSource } from './session';
import { storageWorker } from './storage-worker';
import type { StorageWorkerApi } from './storage.worker';

/** What is kept about a file being received, next to it. */
export type ResumeRecord = {
  v: 1;
  transferId: string;
  itemId: string;
  title: string;
  mediaType: string;
  sizeBytes: number;
  sha256: string;
  chunkSize: number;
  /** every chunk below this one is verified and on disk */
  watermark: number;
  /** the whole file's hash matched */
  complete: boolean;
  updatedAt: string;
};

export type IncomingMeta = Omit<ResumeRecord, 'v' | 'watermark' | 'complete' | 'updatedAt'>;

// ---- in memory -------------------------------------------------------------------------------

/** A whole file in memory: a ChunkSink for a receiver and a ChunkSource for a sender. */
export class MemoryChunkStore implements ChunkSink, ChunkSource {
  readonly bytes: Uint8Array;
  watermark = 0;
  commits = 0;
  /** chunks whose stored bytes were damaged after the fact (tests) */
  constructor(
    readonly manifest: Pick<Manifest, 'sizeBytes' | 'chunkSize' | 'chunkHashes'>,
    initial?: Uint8Array,
  ) {
    this.bytes = initial ? initial.slice() : new Uint8Array(manifest.sizeBytes);
  }

  async put(index: number, bytes: Uint8Array, expectedHex: string): Promise<boolean> {
    if (!(await verifyChunk(bytes, expectedHex))) return false;
    this.bytes.set(bytes, chunkRange(index, this.manifest.sizeBytes, this.manifest.chunkSize).start);
    return true;
  }
  async commit(watermark: number) {
    this.watermark = watermark;
    this.commits++;
  }
  sha256() {
    return sha256Hex(this.bytes);
  }
  async badChunks() {
    const bad: number[] = [];
    for (let i = 0; i < this.manifest.chunkHashes.length; i++) {
      const { start, end } = chunkRange(i, this.manifest.sizeBytes, this.manifest.chunkSize);
      if ((await sha256Hex(this.bytes.subarray(start, end))) !== this.manifest.chunkHashes[i]) bad.push(i);
    }
    return bad;
  }
  async readChunk(index: number) {
    const { start, end } = chunkRange(index, this.manifest.sizeBytes, this.manifest.chunkSize);
    return this.bytes.slice(start, end);
  }
}

// ---- OPFS ------------------------------------------------------------------------------------

export const ROOT = 'swapmesh';

/**
 * Whether this browser has the Origin Private File System and workers. (Synchronous access
 * handles exist only inside dedicated workers, so the page cannot see them; a browser without
 * them fails in the worker, and the transfer reports ERR_STORAGE.)
 */
export function storageSupported(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' && typeof Worker !== 'undefined';
}

type QueuedPut = PutRequest & { transferId: string; resolve: (ok: boolean) => void; reject: (error: Error) => void };

/**
 * Received chunks to the storage worker: queued as they are handed over and posted once per task (a run frame's
 * chunks, or one chunk, in one message) on a MessagePort to the worker, copied into a buffer of a pool that the
 * worker transfers back with its answer (chunk-batch.ts `BufferPool`: Chromium would copy a data channel's own
 * buffer into fresh memory on transfer anyway); each batch is answered with one message. A new worker (the old
 * one crashed or was stopped) gets a new port, and what still waited on the old one is rejected.
 */
class ChunkPipe {
  private queue: QueuedPut[] = [];
  private scheduled = false;
  private readonly waiting = new Map<number, QueuedPut[]>();
  private nextId = 1;
  private port: MessagePort | null = null;
  private remote: Remote<StorageWorkerApi> | null = null;
  private readonly pool = new BufferPool();

  put(transferId: string, request: PutRequest): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ ...request, transferId, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private connect(): MessagePort {
    const remote = storageWorker();
    if (this.port && this.remote === remote) return this.port;
    this.port?.close();
    this.rejectAll(new Error('The storage worker stopped.'));
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (event: MessageEvent<BatchAnswer>) => this.answer(event.data);
    remote.chunkPort(transfer(port2, [port2])).catch((error: unknown) => this.rejectAll(error instanceof Error ? error : new Error(String(error))));
    this.port = port1;
    this.remote = remote;
    return port1;
  }

  private flush() {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    if (queued.length === 0) return;
    let port: MessagePort;
    try {
      port = this.connect();
    } catch (error) {
      for (const put of queued) put.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // one batch per file (almost always one)
    const byTransfer = new Map<string, QueuedPut[]>();
    for (const put of queued) {
      const list = byTransfer.get(put.transferId);
      if (list) list.push(put);
      else byTransfer.set(put.transferId, [put]);
    }
    for (const [transferId, puts] of byTransfer) {
      const id = this.nextId++;
      const { batch, transfer: buffers } = packPooled(id, transferId, puts, this.pool);
      this.waiting.set(id, puts);
      port.postMessage(batch, buffers);
    }
  }

  private answer(message: BatchAnswer) {
    const puts = this.waiting.get(message.id);
    if (!puts) return;
    this.waiting.delete(message.id);
    if ('error' in message) {
      for (const put of puts) put.reject(new Error(message.error));
      return;
    }
    for (const buffer of message.buffers ?? []) this.pool.give(buffer);
    puts.forEach((put, i) => put.resolve(message.ok[i] === 1));
  }

  private rejectAll(error: Error) {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const puts of waiting) for (const put of puts) put.reject(error);
  }
}

const chunkPipe = new ChunkPipe();

/** Milliseconds the storage worker spent on each part of receiving since the last call (bench/transfer.mjs). */
export function storageWorkerSpent() {
  return storageWorker().takeSpent();
}

async function folder(name: 'incoming' | 'offers'): Promise<FileSystemDirectoryHandle> {
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create: true });
  return root.getDirectoryHandle(name, { create: true });
}

async function fileIn(name: 'incoming' | 'offers', file: string): Promise<File | null> {
  try {
    return await (await (await folder(name)).getFileHandle(file)).getFile();
  } catch {
    return null;
  }
}

/** The resume record of a transfer, or null when this device has none (never started, or cleared). */
export async function readResume(transferId: string): Promise<ResumeRecord | null> {
  const file = await fileIn('incoming', `${transferId}.json`);
  if (!file) return null;
  try {
    const record = JSON.parse(await file.text()) as ResumeRecord;
    return record.v === 1 && record.transferId === transferId && Number.isInteger(record.watermark) ? record : null;
  } catch {
    return null;
  }
}

/** Every resume record on this device. */
export async function listResumes(): Promise<ResumeRecord[]> {
  const records: ResumeRecord[] = [];
  // TypeScript's DOM library lacks the directory iterators every OPFS browser has
  const dir = (await folder('incoming')) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> };
  for await (const name of dir.keys()) {
    if (!name.endsWith('.json')) continue;
    const record = await readResume(name.slice(0, -'.json'.length));
    if (record) records.push(record);
  }
  return records;
}

/**
 * A ChunkSink writing to swapmesh/incoming/<transferId>.part through the storage worker. `put` copies the bytes
 * it is given (into a pooled buffer, `packPooled`) before the task ends.
 */
export class OpfsIncoming implements ChunkSink {
  private unlisten: (() => void) | null = null;

  private constructor(
    readonly meta: IncomingMeta,
    private readonly manifest: Manifest,
    private complete = false,
  ) {}

  static async open(meta: IncomingMeta, manifest: Manifest): Promise<{ sink: OpfsIncoming; watermark: number; complete: boolean }> {
    const record = await readResume(meta.transferId);
    const usable = record && record.sha256 === meta.sha256 && record.chunkSize === meta.chunkSize && record.sizeBytes === meta.sizeBytes;
    await storageWorker().openIncoming(meta.transferId, meta.sizeBytes, { key: transferKey(meta.transferId), chunkSize: meta.chunkSize, hashes: manifest.chunkHashes });
    const sink = new OpfsIncoming(meta, manifest, Boolean(usable && record.complete));
    return { sink, watermark: usable ? record.watermark : 0, complete: Boolean(usable && record.complete) };
  }

  put(index: number, bytes: Uint8Array, expectedHex: string): Promise<boolean> {
    const { start } = chunkRange(index, this.meta.sizeBytes, this.meta.chunkSize);
    return chunkPipe.put(this.meta.transferId, { offset: start, bytes, expectedHex });
  }

  /** The storage worker takes this file's run frames from bulk channels itself; `listener` hears each one's outcome. */
  listen(listener: (result: StoredRun) => void) {
    this.unlisten?.();
    this.unlisten = listenStored(this.meta.transferId, listener);
  }

  async commit(watermark: number) {
    const record: ResumeRecord = { v: 1, ...this.meta, watermark, complete: this.complete, updatedAt: new Date().toISOString() };
    await storageWorker().commit(this.meta.transferId, JSON.stringify(record));
  }

  sha256() {
    return storageWorker().sha256(this.meta.transferId);
  }

  badChunks() {
    return storageWorker().badChunks(this.meta.transferId, this.meta.chunkSize, this.manifest.chunkHashes);
  }

  /** Records the verified file as complete and releases it. */
  async markComplete() {
    this.complete = true;
    await this.commit(this.manifest.chunkHashes.length);
    await this.close();
  }

  close() {
    this.unlisten?.();
    this.unlisten = null;
    return storageWorker().closeIncoming(this.meta.transferId);
  }
}

/** A received file (null while absent); a disk-backed File, safe to hand to a download link. */
export async function receivedFile(transferId: string): Promise<File | null> {
  await storageWorker().closeIncoming(transferId);
  return fileIn('incoming', `${transferId}.part`);
}

export function removeIncoming(transferId: string) {
  return storageWorker().removeIncoming(transferId);
}

/** Copies a picked file into OPFS and builds its manifest, in one pass, off the page's thread. */
export async function importOffer(file: Blob, options: { chunkSize?: number; onProgress?: (progress: ManifestProgress) => void } = {}): Promise<Manifest> {
  return storageWorker().importOffer(file, options.chunkSize, options.onProgress ? proxy(options.onProgress) : undefined);
}

/** Whether this device still holds the offered file with this hash. */
export async function hasOffer(sha256: string): Promise<boolean> {
  return (await fileIn('offers', `${sha256}.bin`)) !== null;
}

export async function removeOffer(sha256: string) {
  await storageWorker().releaseOffer(sha256);
  await (await folder('offers')).removeEntry(`${sha256}.bin`).catch(() => undefined);
  await (await folder('offers')).removeEntry(`${sha256}.manifest.json`).catch(() => undefined);
}

/** The manifest (chunk size and hashes) of a file this device offers; null when it no longer has it. */
export function offerManifest(sha256: string): Promise<Manifest | null> {
  return storageWorker().offerManifest(sha256);
}

/** The offered file with this hash, from disk (safe to hand to a download link), or null. */
export function offerFile(sha256: string): Promise<File | null> {
  return fileIn('offers', `${sha256}.bin`);
}

/** A received and verified file becomes an offer of this device (moved, not copied, where the browser can). */
export function adoptIncoming(transferId: string, manifest: Manifest): Promise<void> {
  return storageWorker().adoptIncoming(transferId, manifest);
}

/** Reads an offered file's chunks, a block of several chunks at a time (4 MiB: fewer reads through the browser process). */
export class BlobChunkSource implements ChunkSource {
  private block: { start: number; bytes: Uint8Array } | null = null;
  private readonly blockSize: number;

  constructor(
    private readonly file: Blob,
    private readonly chunkSize: number,
    blockBytes = 4 * 1024 * 1024,
  ) {
    this.blockSize = Math.max(chunkSize, Math.floor(blockBytes / chunkSize) * chunkSize);
  }

  async readChunk(index: number): Promise<Uint8Array> {
    const { start, end } = chunkRange(index, this.file.size, this.chunkSize);
    const block = this.block;
    if (!block || start < block.start || end > block.start + block.bytes.length) {
      const blockStart = Math.floor(start / this.blockSize) * this.blockSize;
      const bytes = new Uint8Array(await this.file.slice(blockStart, Math.min(this.file.size, blockStart + this.blockSize)).arrayBuffer());
      this.block = { start: blockStart, bytes };
      return bytes.subarray(start - blockStart, end - blockStart);
    }
    return block.bytes.subarray(start - block.start, end - block.start);
  }
}

/**
 * Reads an offered file's chunks through the storage worker, a block of several chunks at a time, the next block
 * read while this one is sent: the worker reads OPFS through an access handle straight into a buffer it transfers
 * to the page, where a Blob read goes through the browser process and is copied twice more (bench/transfer.mjs).
 * A block the worker cannot read (a browser without shared read handles, the file busy) is read from the Blob.
 */
export class OfferChunkSource implements ChunkSource {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  private readonly blockSize: number;
  private readonly fallback: BlobChunkSource;

  constructor(
    readonly offerSha256: string,
    private readonly file: Blob,
    private readonly chunkSize: number,
    blockBytes = 4 * 1024 * 1024,
    private readonly read: (sha256: string, offset: number, length: number) => Promise<Uint8Array> = (sha, offset, length) => storageWorker().readOffer(sha, offset, length),
  ) {
    this.blockSize = Math.max(chunkSize, Math.floor(blockBytes / chunkSize) * chunkSize);
    this.fallback = new BlobChunkSource(file, chunkSize, blockBytes);
  }

  async readChunk(index: number): Promise<Uint8Array> {
    const { start, end } = chunkRange(index, this.file.size, this.chunkSize);
    const k = Math.floor(start / this.blockSize);
    const blocks = blocksToKeep(k, this.file.size, this.blockSize);
    for (const kept of this.blocks.keys()) if (!blocks.includes(kept)) this.blocks.delete(kept);
    for (const b of blocks) if (!this.blocks.has(b)) this.blocks.set(b, this.readBlock(b));
    const block = await this.blocks.get(k)!;
    const at = start - k * this.blockSize;
    if (block.length < end - k * this.blockSize) return this.fallback.readChunk(index);
    return block.subarray(at, at + (end - start));
  }

  private readBlock(k: number): Promise<Uint8Array> {
    const start = k * this.blockSize;
    const length = Math.min(this.blockSize, this.file.size - start);
    return this.read(this.offerSha256, start, length).catch(async () => new Uint8Array(await this.file.slice(start, start + length).arrayBuffer()));
  }
}

/** The blocks a sequential reader keeps while it reads block `k`: that one and the next (read ahead), if the file has it. */
export function blocksToKeep(k: number, size: number, blockSize: number): number[] {
  return (k + 1) * blockSize < size ? [k, k + 1] : [k];
}

/** A ChunkSource over the offered file with this hash, or null when this device no longer has it. */
export async function offerSource(sha256: string, chunkSize: number, sizeBytes: number): Promise<ChunkSource | null> {
  const file = await fileIn('offers', `${sha256}.bin`);
  if (!file || file.size !== sizeBytes) return null;
  return new OfferChunkSource(sha256, file, chunkSize);
}

/** What the origin uses and may use, in bytes (null where the browser does not say). */
export async function storageEstimate(): Promise<{ usage: number | null; quota: number | null }> {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  return { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
}

/** Asks the browser not to evict what this origin keeps (best effort). */
export async function persistStorage(): Promise<boolean> {
  return (await navigator.storage?.persist?.().catch(() => false)) ?? false;
}
