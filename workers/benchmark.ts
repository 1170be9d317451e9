/**
 * The device benchmark: short compute, memory and storage measurements.
 *
 * Plain functions, run in a Web Worker through `benchmark.worker.ts` and directly in Node by the
 * tests. Loop counts are fixed (deterministic work per round); time is measured with
 * `performance.now()`; every kernel's result is folded into a checksum that is returned and kept
 * in a module-level sink, so the JIT cannot drop the work as dead code. Figures are relative
 * measures of what this JavaScript engine delivers on this device, not hardware peak numbers.
 */

const MIB = 1024 * 1024;

/** Keeps kernel results observable so the work cannot be eliminated. */
let sink = 0;
/** The running checksum of every kernel run so far (read it to keep the work alive). */
export function benchmarkSink(): number {
  return sink;
}

/** JS integer operations one `integerKernel` iteration performs (xorshift 6, LCG 3, mix 4, loop 2). */
export const INTEGER_OPS_PER_ITERATION = 15;
/** Floating-point operations one `floatKernel` iteration performs (4 chains × multiply-add). */
export const FLOAT_OPS_PER_ITERATION = 8;

/** `n` iterations of 32-bit integer work (xorshift, LCG, mixing); returns a checksum. */
export function integerKernel(n: number, seed: number): number {
  let x = seed | 0 || 0x2545f491;
  let y = (seed ^ 0x9e3779b9) | 0;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    y = (Math.imul(y, 1664525) + 1013904223) | 0;
    acc = (acc + ((x ^ y) & 0xffff)) | 0;
  }
  return (acc ^ x ^ y) | 0;
}

/**
 * `n` iterations of four independent double-precision multiply-add chains; each converges to 1,
 * so values stay normal (no overflow, no denormals). Returns their sum.
 */
export function floatKernel(n: number, seed: number): number {
  let a = 0.5 + (seed % 1000) * 1e-6;
  let b = 0.25;
  let c = 0.125;
  let d = 0.0625;
  for (let i = 0; i < n; i++) {
    a = a * 0.999999 + 0.000001;
    b = b * 0.999998 + 0.000002;
    c = c * 0.999997 + 0.000003;
    d = d * 0.999996 + 0.000004;
  }
  return a + b + c + d;
}

export type ComputeBenchmarkOptions = {
  /** iterations per timed round of each kernel (fixed work per round) */
  iterations?: number;
  /** most timed rounds per kernel; the fastest round counts */
  rounds?: number;
  /** stop a kernel's rounds once this much time has passed (after at least two rounds) */
  budgetMs?: number;
};

export type ComputeBenchmark = {
  /** logical processors where the runtime reports them */
  cores: number | null;
  /** millions of JS integer operations per second, this thread */
  mips: number;
  /** millions of floating-point operations per second, this thread */
  mflops: number;
  durationMs: number;
  checksum: number;
};

/** Times `kernel` over fixed-size rounds and returns the fastest round's duration (ms). */
function fastestRound(
  kernel: (n: number, seed: number) => number,
  iterations: number,
  rounds: number,
  budgetMs: number,
): { ms: number; checksum: number } {
  let checksum = kernel(Math.max(1, iterations >>> 4), 0); // warm-up: let the JIT compile the loop
  let best = Infinity;
  const start = performance.now();
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    checksum += kernel(iterations, round);
    const dt = performance.now() - t0;
    if (dt < best) best = dt;
    if (round >= 2 && performance.now() - start >= budgetMs) break;
  }
  sink = (sink + checksum) % 1e9;
  // a coarse timer can read 0 for a very short round: never divide by less than 1 µs
  return { ms: Math.max(best, 0.001), checksum };
}

/**
 * Integer (MIPS) and floating-point (MFLOPS) micro-benchmarks: with the defaults ~0.15 s on a
 * desktop, ~0.3–0.5 s on a slow phone (fixed 4M-iteration rounds, at least two per kernel).
 */
export function measureCompute(options: ComputeBenchmarkOptions = {}): ComputeBenchmark {
  const iterations = positiveInt(options.iterations, 4_000_000);
  const rounds = positiveInt(options.rounds, 8);
  const budgetMs = Math.max(0, options.budgetMs ?? 150);
  const start = performance.now();
  const int = fastestRound(integerKernel, iterations, rounds, budgetMs);
  const float = fastestRound(floatKernel, iterations, rounds, budgetMs);
  return {
    cores: reportedCores(),
    mips: (iterations * INTEGER_OPS_PER_ITERATION) / (int.ms * 1000),
    mflops: (iterations * FLOAT_OPS_PER_ITERATION) / (float.ms * 1000),
    durationMs: performance.now() - start,
    checksum: (int.checksum + float.checksum) % 1e9,
  };
}

export type MemoryBenchmarkOptions = {
  /** buffer size, MiB, rounded down to a power of two (default 32, bigger than most caches) */
  bufferMb?: number;
  /** random-ish accesses per pass */
  accesses?: number;
};

export type MemoryBenchmark = {
  /** average time of one read, ns */
  readNs: number;
  /** average time of one write, ns */
  writeNs: number;
  /** size of the buffer exercised, MiB */
  testedMb: number;
  durationMs: number;
  checksum: number;
};

/**
 * Typed-array read and write time per access over a buffer bigger than the caches. Indices come
 * from the high bits of an LCG, so accesses are spread over the whole buffer and defeat the
 * prefetcher; the cost of generating the indices (timed separately) is subtracted.
 */
export function measureMemory(options: MemoryBenchmarkOptions = {}): MemoryBenchmark {
  const start = performance.now();
  const requestedMb = Math.min(1024, Math.max(1, options.bufferMb ?? 32));
  const bits = Math.floor(Math.log2((requestedMb * MIB) / 4)); // Int32 elements, a power of two
  const length = 2 ** bits;
  const shift = 32 - bits;
  const n = positiveInt(options.accesses, 2_000_000);
  const buffer = new Int32Array(length);
  buffer.fill(1); // commit every page before timing

  const indexOnly = (count: number, seed: number): number => {
    let x = seed | 0;
    let s = 0;
    for (let i = 0; i < count; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) | 0;
      s = (s + (x >>> shift)) | 0;
    }
    return s;
  };
  const write = (count: number, seed: number): number => {
    let x = seed | 0;
    for (let i = 0; i < count; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) | 0;
      buffer[x >>> shift] = i;
    }
    return x;
  };
  const read = (count: number, seed: number): number => {
    let x = seed | 0;
    let s = 0;
    for (let i = 0; i < count; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) | 0;
      s = (s + (buffer[x >>> shift] ?? 0)) | 0;
    }
    return s;
  };

  const warm = n >>> 4 || 1;
  let checksum = indexOnly(warm, 1) + write(warm, 2) + read(warm, 3);
  const time = (pass: (count: number, seed: number) => number, seed: number): number => {
    const t0 = performance.now();
    checksum = (checksum + pass(n, seed)) | 0;
    return performance.now() - t0;
  };
  const baseMs = time(indexOnly, 4);
  const writeMs = time(write, 5);
  const readMs = time(read, 6);
  sink = (sink + checksum) % 1e9;

  // never let the subtraction of the index cost leave less than a tenth of the pass, nor 1 µs
  const perAccessNs = (ms: number) => (Math.max(ms - baseMs, ms * 0.1, 0.001) * 1e6) / n;
  return {
    readNs: perAccessNs(readMs),
    writeNs: perAccessNs(writeMs),
    testedMb: (length * 4) / MIB,
    durationMs: performance.now() - start,
    checksum,
  };
}

/** The parts of the Origin Private File System the storage benchmark uses. */
export interface BenchSyncAccessHandle {
  write(buffer: Uint8Array<ArrayBuffer>, options: { at: number }): number;
  read(buffer: Uint8Array<ArrayBuffer>, options: { at: number }): number;
  /** returns a promise in Safari before 17 */
  flush(): void | Promise<void>;
  close(): void | Promise<void>;
}
export interface BenchWritable {
  write(data: Uint8Array<ArrayBuffer>): Promise<void>;
  close(): Promise<void>;
}
export interface BenchFileHandle {
  /** only in workers, and not in every browser */
  createSyncAccessHandle?: () => Promise<BenchSyncAccessHandle>;
  createWritable?: () => Promise<BenchWritable>;
  getFile(): Promise<{ arrayBuffer(): Promise<ArrayBuffer> }>;
}
export interface BenchDirectory {
  getFileHandle(name: string, options: { create: boolean }): Promise<BenchFileHandle>;
  removeEntry(name: string): Promise<void>;
  keys?: () => AsyncIterable<string>;
}

export type StorageBenchmarkOptions = {
  /** size of the test blob (default 1 MiB, at most 64 MiB) */
  bytes?: number;
};

export type StorageBenchmark = {
  readMs: number | null;
  writeMs: number | null;
  testedBytes: number | null;
  method: 'sync-access-handle' | 'writable' | null;
  /** why the measurement is missing, if it is */
  error: string | null;
};

const STORAGE_FILE_PREFIX = 'swapmesh-benchmark-';
/** Left-over test files (from a worker terminated mid-run) older than this are removed. */
const STALE_AFTER_MS = 60_000;

/**
 * Writes (and flushes) a blob of incompressible bytes to the Origin Private File System, reads it
 * back, checks it, and removes it. Uses a synchronous access handle where the browser has one
 * (workers only), else a writable stream. Fields are null where OPFS is unavailable (insecure
 * context, private mode, Node) or the measurement failed.
 *
 * `openDirectory` defaults to `navigator.storage.getDirectory()`.
 */
export async function measureStorage(
  options: StorageBenchmarkOptions = {},
  openDirectory: () => Promise<BenchDirectory> | null = defaultDirectory,
): Promise<StorageBenchmark> {
  const bytes = Math.min(64 * MIB, positiveInt(options.bytes, MIB));
  const unavailable = (error: string): StorageBenchmark => ({
    readMs: null,
    writeMs: null,
    testedBytes: null,
    method: null,
    error,
  });
  const opening = openDirectory();
  if (!opening) return unavailable('The Origin Private File System is not available.');
  let root: BenchDirectory;
  try {
    root = await opening;
  } catch (err) {
    return unavailable(`Cannot open the Origin Private File System: ${message(err)}`);
  }
  await removeStaleFiles(root);

  const name = `${STORAGE_FILE_PREFIX}${Date.now()}-${Math.floor(Math.random() * 1e9)}.bin`;
  const data = randomishBytes(bytes, Date.now() | 0);
  let handle: BenchSyncAccessHandle | null = null;
  try {
    const file = await root.getFileHandle(name, { create: true });
    if (typeof file.createSyncAccessHandle === 'function') {
      handle = await file.createSyncAccessHandle();
      const back = new Uint8Array(bytes);
      const t0 = performance.now();
      const written = handle.write(data, { at: 0 });
      await handle.flush();
      const t1 = performance.now();
      const read = handle.read(back, { at: 0 });
      const t2 = performance.now();
      await handle.close();
      handle = null;
      if (written !== bytes || read !== bytes || !sameBytes(data, back)) {
        return unavailable('The file read back differs from what was written.');
      }
      return { readMs: t2 - t1, writeMs: t1 - t0, testedBytes: bytes, method: 'sync-access-handle', error: null };
    }
    if (typeof file.createWritable === 'function') {
      const writable = await file.createWritable();
      const t0 = performance.now();
      await writable.write(data);
      await writable.close(); // commits the data
      const t1 = performance.now();
      const back = new Uint8Array(await (await file.getFile()).arrayBuffer());
      const t2 = performance.now();
      if (!sameBytes(data, back)) return unavailable('The file read back differs from what was written.');
      return { readMs: t2 - t1, writeMs: t1 - t0, testedBytes: bytes, method: 'writable', error: null };
    }
    return unavailable('This browser cannot write files in the Origin Private File System.');
  } catch (err) {
    return unavailable(`Storage benchmark failed: ${message(err)}`);
  } finally {
    try {
      await handle?.close();
    } catch {
      // already closed
    }
    await root.removeEntry(name).catch(() => undefined);
  }
}

function defaultDirectory(): Promise<BenchDirectory> | null {
  if (typeof navigator === 'undefined') return null;
  const storage: StorageManager | undefined = navigator.storage;
  if (!storage || typeof storage.getDirectory !== 'function') return null;
  return storage.getDirectory();
}

async function removeStaleFiles(root: BenchDirectory): Promise<void> {
  if (typeof root.keys !== 'function') return;
  try {
    const stale: string[] = [];
    for await (const name of root.keys()) {
      if (!name.startsWith(STORAGE_FILE_PREFIX)) continue;
      const created = Number(name.slice(STORAGE_FILE_PREFIX.length).split('-')[0]);
      if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) stale.push(name);
    }
    for (const name of stale) await root.removeEntry(name).catch(() => undefined);
  } catch {
    // listing is best-effort
  }
}

/** Incompressible-looking bytes (xorshift32), so no layer can compress or deduplicate them. */
export function randomishBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, length >>> 2);
  let x = seed | 0 || 0x6d2b79f5;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function reportedCores(): number | null {
  if (typeof navigator === 'undefined') return null;
  const cores = navigator.hardwareConcurrency;
  return Number.isInteger(cores) && cores > 0 ? cores : null;
}

function positiveInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
