/**
 * Fixed-size chunks of a Content item and its manifest: the SHA-256 of every chunk and of the
 * whole file, computed in one pass with hash-wasm's incremental hashers so memory stays flat
 * whatever the file's size. Pure (Blob and Uint8Array in, plain data out): runs in the page, in a
 * worker and in Node.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

/**
 * Bytes per chunk (the unit that is hashed, verified, acknowledged and resumed). Chosen with
 * `bench/transfer.mjs`; a chunk of this size travels as one data-channel frame, or three to a run
 * frame when both ends take 256 KiB messages (protocol.ts).
 */
export const CHUNK_SIZE = 64 * 1024;
/** The coordinator's bounds on a manifest (`server/content/header.ts`). */
export const MIN_CHUNK_SIZE = 16 * 1024;
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
export const MAX_CHUNKS = 200_000;

/** CHUNK_SIZE, doubled as often as needed to keep a huge file within MAX_CHUNKS chunks. */
export function chooseChunkSize(size: number): number {
  let chunkSize = CHUNK_SIZE;
  while (chunkSize < MAX_CHUNK_SIZE && Math.ceil(size / chunkSize) > MAX_CHUNKS) chunkSize *= 2;
  return chunkSize;
}
/** Bytes read from the Blob at a time while building a manifest: about 4 MiB, whole chunks. */
const READ_CHUNKS = 64;

export type Manifest = {
  sizeBytes: number;
  /** whole-file SHA-256, lowercase hex */
  sha256: string;
  chunkSize: number;
  /** SHA-256 of each chunk, lowercase hex, in order */
  chunkHashes: string[];
};

export const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Chunks in a file of `size` bytes: the last one may be short; an empty file has none. */
export function chunkCount(size: number, chunkSize: number = CHUNK_SIZE): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Invalid size ${size}`);
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`Invalid chunk size ${chunkSize}`);
  return Math.ceil(size / chunkSize);
}

/** Byte range [start, end) of chunk `index`. */
export function chunkRange(index: number, size: number, chunkSize: number = CHUNK_SIZE): { start: number; end: number } {
  const count = chunkCount(size, chunkSize);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`Chunk ${index} is outside 0…${count - 1}`);
  const start = index * chunkSize;
  return { start, end: Math.min(size, start + chunkSize) };
}

/** Length chunk `index` must have: every chunk is full except possibly the last. */
export function chunkLength(index: number, size: number, chunkSize: number = CHUNK_SIZE): number {
  const { start, end } = chunkRange(index, size, chunkSize);
  return end - start;
}

let hasherPool: IHasher[] = [];

/** A hash-wasm SHA-256 hasher, reused across calls (each owns a small WebAssembly instance). */
async function takeHasher(): Promise<IHasher> {
  return (hasherPool.pop() ?? (await createSHA256())).init();
}
function giveBack(hasher: IHasher) {
  if (hasherPool.length < 4) hasherPool.push(hasher);
}

/** SHA-256 of some bytes, lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hasher = await takeHasher();
  try {
    return hasher.update(bytes).digest('hex');
  } finally {
    giveBack(hasher);
  }
}

/** Whether `bytes` hash to `expectedHex` (a malformed expectation never matches). */
export async function verifyChunk(bytes: Uint8Array, expectedHex: string): Promise<boolean> {
  if (!HEX_SHA256.test(expectedHex)) return false;
  return (await sha256Hex(bytes)) === expectedHex;
}

export type ManifestProgress = { bytesDone: number; sizeBytes: number };

export type BuildManifestOptions = {
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ManifestProgress) => void;
  /**
   * Called with each chunk, in order, before the next is read (the bytes are only valid during
   * the call): lets a caller copy the file somewhere in the same pass.
   */
  onChunk?: (bytes: Uint8Array, index: number) => void | Promise<void>;
};

/** Reads a Blob once, a few chunks at a time, into its manifest. */
export async function buildManifest(blob: Blob, options: BuildManifestOptions = {}): Promise<Manifest> {
  const sizeBytes = blob.size;
  const chunkSize = options.chunkSize ?? chooseChunkSize(sizeBytes);
  const count = chunkCount(sizeBytes, chunkSize);
  const whole = await createSHA256();
  const perChunk = await takeHasher();
  const chunkHashes: string[] = [];
  try {
    whole.init();
    const step = chunkSize * Math.max(1, Math.floor(READ_CHUNKS * CHUNK_SIZE / chunkSize));
    for (let offset = 0; offset < sizeBytes; offset += step) {
      options.signal?.throwIfAborted();
      const buffer = new Uint8Array(await blob.slice(offset, Math.min(sizeBytes, offset + step)).arrayBuffer());
      whole.update(buffer);
      for (let at = 0; at < buffer.length; at += chunkSize) {
        const bytes = buffer.subarray(at, Math.min(buffer.length, at + chunkSize));
        chunkHashes.push(perChunk.init().update(bytes).digest('hex'));
        await options.onChunk?.(bytes, chunkHashes.length - 1);
      }
      options.onProgress?.({ bytesDone: Math.min(sizeBytes, offset + step), sizeBytes });
    }
    if (chunkHashes.length !== count) throw new Error(`Read ${chunkHashes.length} chunks, expected ${count}: the file changed while it was read.`);
    if (sizeBytes === 0) options.onProgress?.({ bytesDone: 0, sizeBytes });
    return { sizeBytes, sha256: whole.digest('hex'), chunkSize, chunkHashes };
  } finally {
    giveBack(perChunk);
  }
}

/** Checks a manifest's own consistency (sizes, count, hex) before it is trusted. */
export function manifestProblem(manifest: Manifest): string | null {
  if (!Number.isSafeInteger(manifest.sizeBytes) || manifest.sizeBytes < 0) return 'bad size';
  if (!Number.isInteger(manifest.chunkSize) || manifest.chunkSize < MIN_CHUNK_SIZE || manifest.chunkSize > MAX_CHUNK_SIZE) return 'bad chunk size';
  if (manifest.chunkHashes.length !== chunkCount(manifest.sizeBytes, manifest.chunkSize)) return 'chunk count does not match the size';
  if (manifest.chunkHashes.length > MAX_CHUNKS) return 'too many chunks';
  if (!HEX_SHA256.test(manifest.sha256)) return 'bad file hash';
  if (!manifest.chunkHashes.every((h) => HEX_SHA256.test(h))) return 'bad chunk hash';
  return null;
}

/** For tests and resets: drops the reusable hashers. */
export function resetHasherPool() {
  hasherPool = [];
}
