/// <reference lib="webworker" />
/**
 * Web Worker entry of the transfer storage (`storage.ts`), driven through Comlink. It owns the
 * Origin Private File System files of transfers through synchronous access handles, which write in
 * place (no swap-file copy) and can be flushed at will:
 *   swapmesh/incoming/<transferId>.part   a file being received, chunk by chunk at its offset
 *   swapmesh/incoming/<transferId>.json   its resume record (the durable watermark)
 *   swapmesh/offers/<sha256>.bin          a file this device offers, copied from the picked file
 *   swapmesh/offers/<sha256>.manifest.json its manifest (chunk size and hashes), for swaps
 * Hashing runs here too, off the page's thread: each chunk against its manifest hash as it arrives
 * (WebCrypto), and the whole file's hash at the end in one WebCrypto call (up to 64 MiB) or advanced with
 * hash-wasm as the chunks arrive in order (larger files). A sender's reads of offered files come through here
 * as well (`readOffer`).
 * Each connection's bulk channel lives here (bulk-worker.ts): its run frames are read from offered files and sent,
 * or received, checked and written, without passing through the page. Chunks that came through the page (a peer
 * without a bulk channel) come in batches on a MessagePort of their own (`chunkPort`, chunk-batch.ts), their
 * buffers transferred; everything else through Comlink.
 */
import { expose, transfer, type ProxyOrClone } from 'comlink';
import { createSHA256, type IHasher } from 'hash-wasm';
import { BulkChannels } from './bulk-worker';
import type { Receipt } from './bulk-frames';
import { chunkView, streamPart, wholeHashPlan, writeRuns, type BatchAnswer, type ChunkBatch } from './chunk-batch';
import { buildManifest, type Manifest, type ManifestProgress } from './chunks';

const READ_BLOCK = 4 * 1024 * 1024;

let hasherPromise: Promise<IHasher> | null = null;
const hasher = () => (hasherPromise ??= createSHA256());

/** Folder handles, looked up once (each lookup is a round trip to the browser process). */
const folders = new Map<string, Promise<FileSystemDirectoryHandle>>();
function dir(...path: string[]): Promise<FileSystemDirectoryHandle> {
  const key = path.join('/');
  let found = folders.get(key);
  if (!found) {
    found = (async () => {
      let handle = await navigator.storage.getDirectory();
      for (const name of path) handle = await handle.getDirectoryHandle(name, { create: true });
      return handle;
    })();
    found.catch(() => folders.delete(key));
    folders.set(key, found);
  }
  return found;
}

const open = new Map<string, FileSystemSyncAccessHandle>();

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;

function hexOf(digest: Uint8Array): string {
  let out = '';
  for (const byte of digest) out += HEX[byte];
  return out;
}

/**
 * SHA-256 of one chunk, hex: the browser's own (WebCrypto; native code with the CPU's SHA
 * instructions, ~10× hash-wasm here), or hash-wasm where WebCrypto is missing (an insecure origin).
 */
async function chunkHex(bytes: Uint8Array): Promise<string> {
  if (subtle) {
    return hexOf(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
  }
  return (await hasher()).init().update(bytes).digest('hex');
}

/** Each file's puts, one after another: chunks reach the disk and the whole-file hash in arrival order. */
const queues = new Map<string, Promise<unknown>>();
function inOrder<T>(transferId: string, task: () => Promise<T>): Promise<T> {
  const next = (queues.get(transferId) ?? Promise.resolve()).then(task, task);
  queues.set(transferId, next.catch(() => undefined));
  return next;
}

/**
 * The whole-file SHA-256 of a file being received. A file of up to ONE_SHOT_HASH_MAX bytes is hashed once at the
 * end, read back from disk in one WebCrypto call (native SHA-256: a sixth of the CPU of hash-wasm, which was the
 * receiving worker's largest cost, bench/transfer.mjs); a larger one is advanced as its chunks arrive in order,
 * so memory stays flat and the check at the end does not read it back: `upTo` bytes from the start went into
 * `hasher`, each of them verified against its chunk hash before it was written. A chunk that arrives out of
 * order (a re-fetch, a resumed transfer after a reload) stops the stream; `sha256` then reads the rest from disk.
 */
const streams = new Map<string, { hasher: IHasher | null; upTo: number }>();

async function streamFor(transferId: string, handle: FileSystemSyncAccessHandle): Promise<{ hasher: IHasher | null; upTo: number }> {
  let stream = streams.get(transferId);
  if (!stream) {
    stream = { hasher: wholeHashPlan(handle.getSize(), Boolean(subtle)) === 'stream' ? (await createSHA256()).init() : null, upTo: 0 };
    streams.set(transferId, stream);
  }
  return stream;
}

async function incomingHandle(transferId: string): Promise<FileSystemSyncAccessHandle> {
  const existing = open.get(transferId);
  if (existing) return existing;
  const file = await (await dir('swapmesh', 'incoming')).getFileHandle(`${transferId}.part`, { create: true });
  const handle = await file.createSyncAccessHandle();
  open.set(transferId, handle);
  return handle;
}

/** Hashes the file from `from` on; from 0 the hasher starts afresh, else it continues. */
function hashHandle(handle: FileSystemSyncAccessHandle, h: IHasher, from = 0): string {
  const size = handle.getSize();
  const buffer = new Uint8Array(Math.min(READ_BLOCK, Math.max(1, size - from)));
  if (from === 0) h.init();
  for (let at = from; at < size; at += buffer.length) {
    const n = handle.read(buffer, { at });
    if (n <= 0) break;
    h.update(buffer.subarray(0, n));
  }
  return h.digest('hex');
}

/** Milliseconds this worker spent on each part of receiving (bench/transfer.mjs reads them). */
const spent = { chunkHash: 0, write: 0, streamHash: 0, wholeHash: 0, commit: 0, chunks: 0 };

/**
 * SHA-256 of a received file: in one WebCrypto call over the whole file read back from disk (up to
 * ONE_SHOT_HASH_MAX bytes), else the streamed prefix, then whatever of it was not streamed, from disk.
 */
async function wholeHash(transferId: string): Promise<string> {
  const handle = await incomingHandle(transferId);
  const stream = streams.get(transferId);
  streams.delete(transferId);
  const size = handle.getSize();
  if (subtle && wholeHashPlan(size, true) === 'one-shot') {
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; ) {
      const n = handle.read(bytes.subarray(at), { at });
      if (n <= 0) break;
      at += n;
    }
    return hexOf(new Uint8Array(await subtle.digest('SHA-256', bytes)));
  }
  if (!stream?.hasher || stream.upTo === 0 || stream.upTo > size) return hashHandle(handle, await hasher());
  return hashHandle(handle, stream.hasher, stream.upTo);
}

/**
 * Flushes the file, then writes its resume record next to it: the record never names bytes that are not on
 * disk. The record itself is not flushed (one fsync per commit, not two): after a power cut an older record
 * only means resuming from an earlier watermark.
 */
async function writeRecord(transferId: string, record: string) {
  (await incomingHandle(transferId)).flush();
  const file = await (await dir('swapmesh', 'incoming')).getFileHandle(`${transferId}.json`, { create: true });
  const handle = await file.createSyncAccessHandle();
  try {
    const bytes = new TextEncoder().encode(record);
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
  } finally {
    handle.close();
  }
}

/**
 * Verifies a batch of chunks against their hashes (WebCrypto, all at once), writes the verified ones (one write
 * per stretch of consecutive bytes) and continues the whole-file hash with what extends its prefix. One byte
 * per chunk: 1 verified and written, 0 a mismatch (nothing written).
 */
async function putBatch(batch: ChunkBatch): Promise<Uint8Array> {
  const n = batch.hashes.length;
  let t = performance.now();
  const got = await Promise.all(batch.hashes.map((_, i) => chunkHex(chunkView(batch, i))));
  spent.chunkHash += performance.now() - t;
  spent.chunks += n;
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) ok[i] = got[i] === batch.hashes[i] ? 1 : 0;
  const runs = writeRuns(batch, ok);
  if (runs.length === 0) return ok;
  const handle = await incomingHandle(batch.transferId);
  const stream = await streamFor(batch.transferId, handle);
  for (const run of runs) {
    t = performance.now();
    let written = 0;
    while (written < run.bytes.length) written += handle.write(run.bytes.subarray(written), { at: run.offset + written });
    spent.write += performance.now() - t;
    const part = stream.hasher ? streamPart(run, stream.upTo) : null;
    if (part && stream.hasher) {
      t = performance.now();
      stream.hasher.update(part);
      stream.upTo += part.length;
      spent.streamHash += performance.now() - t;
    }
  }
  return ok;
}

/** `createSyncAccessHandle` with the access modes Chromium takes (the DOM library does not list the option). */
type ModalFileHandle = FileSystemFileHandle & { createSyncAccessHandle(options?: { mode?: 'read-only' | 'readwrite' | 'readwrite-unsafe' }): Promise<FileSystemSyncAccessHandle> };

/** An offered file's read handle is closed after this long unused, so nothing else is ever locked out for long. */
const READER_IDLE_MS = 1_000;
const readers = new Map<string, { handle: Promise<FileSystemSyncAccessHandle>; timer: ReturnType<typeof setTimeout> | null }>();

/** A shared 'read-only' access handle on an offered file (several sends of one file read together), kept while in use. */
function offerReader(sha256: string): Promise<FileSystemSyncAccessHandle> {
  let reader = readers.get(sha256);
  if (!reader) {
    const handle = (async () => {
      const file = (await (await dir('swapmesh', 'offers')).getFileHandle(`${sha256}.bin`)) as ModalFileHandle;
      return file.createSyncAccessHandle({ mode: 'read-only' });
    })();
    handle.catch(() => readers.delete(sha256));
    reader = { handle, timer: null };
    readers.set(sha256, reader);
  }
  const current = reader;
  if (current.timer) clearTimeout(current.timer);
  current.timer = setTimeout(() => closeReader(sha256), READER_IDLE_MS);
  return current.handle;
}

/** Closes an offered file's read handle now (before the file is removed or replaced). */
async function closeReader(sha256: string): Promise<void> {
  const reader = readers.get(sha256);
  if (!reader) return;
  readers.delete(sha256);
  if (reader.timer) clearTimeout(reader.timer);
  await reader.handle.then((h) => h.close()).catch(() => undefined);
}

/** Fills `into` with an offered file's bytes from `offset` on, through its read handle (or its Blob where none opens). */
async function readOfferInto(sha256: string, into: Uint8Array, offset: number): Promise<void> {
  let handle: FileSystemSyncAccessHandle;
  try {
    handle = await offerReader(sha256);
  } catch {
    const file = await (await (await dir('swapmesh', 'offers')).getFileHandle(`${sha256}.bin`)).getFile();
    const bytes = new Uint8Array(await file.slice(offset, offset + into.length).arrayBuffer());
    if (bytes.length !== into.length) throw new Error(`The offered file ended at ${offset + bytes.length} bytes.`);
    into.set(bytes);
    return;
  }
  for (let at = 0; at < into.length; ) {
    const n = handle.read(into.subarray(at), { at: offset + at });
    if (n <= 0) throw new Error(`The offered file ended at ${offset + at} bytes.`);
    at += n;
  }
}

/** The files being received here, by transfer key, for the frames that arrive on bulk channels. */
const receipts = new Map<number, Receipt>();

const bulk = new BulkChannels({
  receipt: (key) => receipts.get(key),
  store: (batch) => inOrder(batch.transferId, () => putBatch(batch)),
  readOffer: readOfferInto,
});

const api = {
  /**
   * Opens (creating) a file being received; truncates it to its final size. Its run frames are taken from bulk
   * channels from now on until it is closed (`receipt.hashes` check them).
   */
  async openIncoming(transferId: string, sizeBytes: number, receipt: { key: number; chunkSize: number; hashes: string[] }): Promise<void> {
    const handle = await incomingHandle(transferId);
    if (handle.getSize() !== sizeBytes) handle.truncate(sizeBytes);
    receipts.set(receipt.key, { transferId, sizeBytes, chunkSize: receipt.chunkSize, hashes: receipt.hashes });
  },

  /** The page's port for the bulk channels (bulk.ts): commands in, what happened out. */
  bulkPort(port: MessagePort): void {
    bulk.attachPort(port);
  },

  /** A connection's bulk channel, transferred here as it was created. */
  bulkChannel(id: number, channel: RTCDataChannel): void {
    bulk.attachChannel(id, channel);
  },

  /**
   * The page's port for received chunks: each message a batch (chunk-batch.ts), verified and written in order
   * per file, each answered with one message.
   */
  chunkPort(port: MessagePort): void {
    port.onmessage = (event: MessageEvent<ChunkBatch>) => {
      const batch = event.data;
      inOrder(batch.transferId, () => putBatch(batch)).then(
        // the batch's buffers go back to the page's pool (its chunks are written and hashed by now)
        (ok) => port.postMessage({ id: batch.id, ok, buffers: batch.buffers } satisfies BatchAnswer, [ok.buffer, ...batch.buffers]),
        (error: unknown) => port.postMessage({ id: batch.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) } satisfies BatchAnswer),
      );
    };
  },


  /**
   * Bytes of an offered file, for a sender: read straight into a buffer that is transferred to the page (no
   * copies through the browser process, as a Blob read makes).
   */
  async readOffer(sha256: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(Math.max(0, length));
    await readOfferInto(sha256, bytes, offset);
    return transfer(bytes, [bytes.buffer]);
  },

  /** Lets go of an offered file (its read handle), so that the page can remove it. */
  releaseOffer(sha256: string): Promise<void> {
    return closeReader(sha256);
  },

  /** What this worker spent on receiving so far, in milliseconds; resets the counters. */
  takeSpent() {
    const out = { ...spent };
    for (const key of Object.keys(spent) as (keyof typeof spent)[]) spent[key] = 0;
    return out;
  },

  /** Flushes the file, then writes the resume record next to it. */
  async commit(transferId: string, record: string): Promise<void> {
    const t = performance.now();
    try {
      await writeRecord(transferId, record);
    } finally {
      spent.commit += performance.now() - t;
    }
  },

  /** SHA-256 of the file: the streamed prefix, then whatever of it was not streamed, from disk. */
  async sha256(transferId: string): Promise<string> {
    const t = performance.now();
    try {
      return await wholeHash(transferId);
    } finally {
      spent.wholeHash += performance.now() - t;
    }
  },

  /** Chunks on disk that do not match their hashes. */
  async badChunks(transferId: string, chunkSize: number, hashes: string[]): Promise<number[]> {
    streams.delete(transferId); // what follows is re-fetched: the next check reads everything from disk
    const handle = await incomingHandle(transferId);
    const h = await hasher();
    const size = handle.getSize();
    const buffer = new Uint8Array(chunkSize);
    const bad: number[] = [];
    hashes.forEach((expected, index) => {
      const at = index * chunkSize;
      const length = Math.max(0, Math.min(chunkSize, size - at));
      const n = length > 0 ? handle.read(buffer.subarray(0, length), { at }) : 0;
      if (n !== length || h.init().update(buffer.subarray(0, n)).digest('hex') !== expected) bad.push(index);
    });
    return bad;
  },

  /** Releases the file (so the page can read it, and another tab may open it). */
  async closeIncoming(transferId: string): Promise<void> {
    const handle = open.get(transferId);
    open.delete(transferId);
    for (const [key, receipt] of receipts) if (receipt.transferId === transferId) receipts.delete(key);
    streams.delete(transferId);
    queues.delete(transferId);
    if (handle) {
      handle.flush();
      handle.close();
    }
  },

  async removeIncoming(transferId: string): Promise<void> {
    await api.closeIncoming(transferId);
    const folder = await dir('swapmesh', 'incoming');
    for (const name of [`${transferId}.part`, `${transferId}.json`]) await folder.removeEntry(name).catch(() => undefined);
  },

  /**
   * Copies a picked file into swapmesh/offers/<sha256>.bin while building its manifest, in one
   * pass over the file.
   */
  async importOffer(file: Blob, chunkSize: number | undefined, onProgress: ProxyOrClone<(progress: ManifestProgress) => void> | undefined): Promise<Manifest> {
    const folder = await dir('swapmesh', 'offers');
    const tmpName = `import-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.part`;
    const tmp = await folder.getFileHandle(tmpName, { create: true });
    const handle = await tmp.createSyncAccessHandle();
    let manifest: Manifest;
    try {
      handle.truncate(0);
      let at = 0;
      let lastReport = 0;
      manifest = await buildManifest(file, {
        chunkSize,
        onChunk: (bytes) => {
          let written = 0;
          while (written < bytes.length) written += handle.write(bytes.subarray(written), { at: at + written });
          at += bytes.length;
        },
        onProgress: (progress) => {
          const now = Date.now();
          if (onProgress && (now - lastReport > 100 || progress.bytesDone === progress.sizeBytes)) {
            lastReport = now;
            void onProgress(progress);
          }
        },
      });
      handle.flush();
    } catch (error) {
      handle.close();
      await folder.removeEntry(tmpName).catch(() => undefined);
      throw error;
    }
    handle.close();
    const finalName = `${manifest.sha256}.bin`;
    await closeReader(manifest.sha256);
    await folder.removeEntry(finalName).catch(() => undefined);
    const movable = tmp as FileSystemFileHandle & { move?: (name: string) => Promise<void> };
    if (typeof movable.move === 'function') {
      await movable.move(finalName);
    } else {
      const source = await (await folder.getFileHandle(tmpName)).getFile();
      const target = await (await folder.getFileHandle(finalName, { create: true })).createSyncAccessHandle();
      try {
        target.truncate(0);
        for (let offset = 0; offset < source.size; offset += READ_BLOCK) {
          const bytes = new Uint8Array(await source.slice(offset, offset + READ_BLOCK).arrayBuffer());
          target.write(bytes, { at: offset });
        }
        target.flush();
      } finally {
        target.close();
      }
      await folder.removeEntry(tmpName);
    }
    await writeManifest(folder, manifest);
    return manifest;
  },

  /**
   * The manifest of an offered file: the one kept next to it, or (an offer imported before manifests were
   * kept) built from the file in one pass and kept. Null when this device no longer has the file.
   */
  async offerManifest(sha256: string): Promise<Manifest | null> {
    const folder = await dir('swapmesh', 'offers');
    let file: File;
    try {
      file = await (await folder.getFileHandle(`${sha256}.bin`)).getFile();
    } catch {
      return null;
    }
    try {
      const kept = JSON.parse(await (await (await folder.getFileHandle(`${sha256}.manifest.json`)).getFile()).text()) as Manifest;
      if (kept.sha256 === sha256 && kept.sizeBytes === file.size && Array.isArray(kept.chunkHashes)) return kept;
    } catch {
      // none kept yet: built below
    }
    const manifest = await buildManifest(file);
    if (manifest.sha256 !== sha256) return null; // the stored bytes are not what their name says
    await writeManifest(folder, manifest);
    return manifest;
  },

  /**
   * A file received whole and verified (`sha256`, its manifest) becomes an offer of this device:
   * swapmesh/incoming/<transferId>.part is moved to swapmesh/offers/<sha256>.bin (no copy where the browser
   * can move files) and its resume record removed.
   */
  async adoptIncoming(transferId: string, manifest: Manifest): Promise<void> {
    await api.closeIncoming(transferId);
    const incoming = await dir('swapmesh', 'incoming');
    const offers = await dir('swapmesh', 'offers');
    const finalName = `${manifest.sha256}.bin`;
    const part = await incoming.getFileHandle(`${transferId}.part`);
    await closeReader(manifest.sha256);
    await offers.removeEntry(finalName).catch(() => undefined);
    const movable = part as FileSystemFileHandle & { move?: (dir: FileSystemDirectoryHandle, name: string) => Promise<void> };
    if (typeof movable.move === 'function') {
      await movable.move(offers, finalName);
    } else {
      const source = await part.getFile();
      const target = await (await offers.getFileHandle(finalName, { create: true })).createSyncAccessHandle();
      try {
        target.truncate(0);
        for (let offset = 0; offset < source.size; offset += READ_BLOCK) target.write(new Uint8Array(await source.slice(offset, offset + READ_BLOCK).arrayBuffer()), { at: offset });
        target.flush();
      } finally {
        target.close();
      }
      await incoming.removeEntry(`${transferId}.part`).catch(() => undefined);
    }
    await writeManifest(offers, manifest);
    await incoming.removeEntry(`${transferId}.json`).catch(() => undefined);
  },
};

async function writeManifest(folder: FileSystemDirectoryHandle, manifest: Manifest) {
  const handle = await (await folder.getFileHandle(`${manifest.sha256}.manifest.json`, { create: true })).createSyncAccessHandle();
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    handle.truncate(0);
    handle.write(bytes, { at: 0 });
    handle.flush();
  } finally {
    handle.close();
  }
}

export type StorageWorkerApi = typeof api;

expose(api);
