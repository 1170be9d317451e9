/**
 * WebAssembly builds of the hot loops (AssemblyScript sources in `wasm/*.as.ts`, compiled by
 * `scripts/build-wasm.mjs` into the committed `wasm/*.wasm`: `<kernel>.wasm` with SIMD from
 * `<kernel>.simd.as.ts`, `<kernel>.scalar.wasm` without it from `<kernel>.as.ts`) and `runUnitFast`, which runs a unit
 * through WebAssembly when that module is loaded, agrees with the JavaScript reference and was
 * measured faster on this device, and through the JavaScript reference otherwise. Both give the
 * same canonical outputs; the tests check that on many inputs.
 *
 * Loading: in a browser or worker pass URLs (`wasmUrls()` resolves them next to this module, which
 * bundlers turn into assets); in Node pass the files' bytes (`readFile`), since Node's fetch does not
 * read file: URLs. Calls into WebAssembly are kept short (a row, a segment, 16k hashes): V8 does not
 * swap in optimised code during a call, so short calls after a warm-up run at full speed.
 */
import { getKernel } from './index';
import { mandelbrotUnitSchema, type MandelbrotOutput, type MandelbrotUnit } from './mandelbrot';
import { montecarloPiUnitSchema, type MontecarloPiOutput, type MontecarloPiUnit } from './montecarlo-pi';
import { primeSieveUnitSchema, type PrimeSieveOutput, type PrimeSieveUnit } from './prime-sieve';
import {
  MAX_NONCES_PER_UNIT,
  prefixBytes,
  sha256NonceUnitSchema,
  type Sha256NonceOutput,
  type Sha256NonceUnit,
} from './sha256-nonce';
import { KernelError, encodeBase64 } from './shared';
import type { Json, KernelName } from './types';
import type { AnyKernel, UnitInputOf, UnitOutputOf } from './index';

export const WASM_KERNEL_NAMES = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve'] as const;
export type WasmKernelName = (typeof WASM_KERNEL_NAMES)[number];
const isWasmKernelName = (name: string): name is WasmKernelName => (WASM_KERNEL_NAMES as readonly string[]).includes(name);

/** Where a module comes from: its bytes, a compiled module, a URL to fetch, or a fetch response. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | Response | Promise<Response>;

/** WebAssembly is used only when it was measured at least this much faster than JavaScript. */
export const PREFER_WASM_SPEEDUP = 1.1;

type WasmKernelBase<I, O> = {
  /** Computes a unit exactly like the kernel's `run`. */
  run(input: I): O;
  /** JavaScript time / WebAssembly time on a small workload, once `calibrateWasm` ran. */
  speedup?: number;
  /** False when, during calibration, the module's output differed from the reference's. */
  agrees?: boolean;
};
export type MandelbrotWasm = WasmKernelBase<MandelbrotUnit, MandelbrotOutput> & {
  /** A tile's counts as little-endian uint16 bytes, like `renderTile`. */
  renderTile(unit: MandelbrotUnit): Uint8Array;
};
export type MontecarloPiWasm = WasmKernelBase<MontecarloPiUnit, MontecarloPiOutput> & {
  countHits(seed: number, offset: number, count: number): number;
};
export type Sha256NonceWasm = WasmKernelBase<Sha256NonceUnit, Sha256NonceOutput> & {
  /** SHA-256 of up to 64 KiB. */
  digest(data: Uint8Array): Uint8Array;
};
export type PrimeSieveWasm = WasmKernelBase<PrimeSieveUnit, PrimeSieveOutput>;

export type WasmModules = {
  mandelbrot?: MandelbrotWasm;
  'montecarlo-pi'?: MontecarloPiWasm;
  'sha256-nonce'?: Sha256NonceWasm;
  'prime-sieve'?: PrimeSieveWasm;
};

/**
 * The smallest module using a SIMD instruction (a function returning `v128.const 0`): it validates
 * exactly where the engine has WebAssembly SIMD (Chromium 91+, Firefox 89+, Safari 16.4+, Node 16.4+).
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b, // code: v128.const 0, end
]);

/** True when this engine runs WebAssembly SIMD (the kernels' main builds need it). */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * The committed modules' URLs, next to this file (bundlers emit them as assets): the SIMD builds
 * (`wasm/<kernel>.wasm`), or the builds without SIMD (`wasm/<kernel>.scalar.wasm`) when `simd` is
 * false; by default whichever this engine runs.
 */
export function wasmUrls({ simd = simdSupported() }: { simd?: boolean } = {}): Record<WasmKernelName, URL> {
  if (!simd) {
    return {
      mandelbrot: new URL('./wasm/mandelbrot.scalar.wasm', import.meta.url),
      'montecarlo-pi': new URL('./wasm/montecarlo-pi.scalar.wasm', import.meta.url),
      'sha256-nonce': new URL('./wasm/sha256-nonce.scalar.wasm', import.meta.url),
      'prime-sieve': new URL('./wasm/prime-sieve.scalar.wasm', import.meta.url),
    };
  }
  return {
    mandelbrot: new URL('./wasm/mandelbrot.wasm', import.meta.url),
    'montecarlo-pi': new URL('./wasm/montecarlo-pi.wasm', import.meta.url),
    'sha256-nonce': new URL('./wasm/sha256-nonce.wasm', import.meta.url),
    'prime-sieve': new URL('./wasm/prime-sieve.wasm', import.meta.url),
  };
}

async function instantiate(source: WasmSource): Promise<WebAssembly.Instance> {
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, {});
  let resolved: BufferSource | Response | Promise<Response> = source instanceof URL ? fetch(source) : source;
  if (resolved instanceof Promise) resolved = await resolved;
  if (resolved instanceof Response) {
    if (!resolved.ok) throw new KernelError(`fetching ${resolved.url}: HTTP ${resolved.status}`);
    resolved = await resolved.arrayBuffer();
  }
  const { instance } = await WebAssembly.instantiate(resolved, {});
  return instance;
}

type NumericFunction = (...args: number[]) => number;

/** The module's exported memory and functions, checked by name. */
class Exports {
  readonly memory: WebAssembly.Memory;
  constructor(private readonly instance: WebAssembly.Instance) {
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new KernelError('wasm module exports no memory');
    this.memory = memory;
  }
  fn(name: string): NumericFunction {
    const value = this.instance.exports[name];
    if (typeof value !== 'function') throw new KernelError(`wasm module exports no ${name}()`);
    return (...args) => Number(value(...args));
  }
  /** `bytes` bytes of scratch memory from the module's `buffer` export. */
  scratch(buffer: NumericFunction, bytes: number): number {
    const ptr = buffer(bytes);
    if (ptr === 0) throw new KernelError(`wasm module could not grow its memory to ${bytes} bytes`);
    return ptr;
  }
  bytes(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
}

export async function loadMandelbrotWasm(source: WasmSource): Promise<MandelbrotWasm> {
  const x = new Exports(await instantiate(source));
  const buffer = x.fn('buffer');
  const renderRow = x.fn('renderRow');
  const renderTile = (u: MandelbrotUnit): Uint8Array => {
    const rowBytes = u.w * 2;
    const ptr = x.scratch(buffer, rowBytes * u.h);
    for (let j = 0; j < u.h; j++) {
      renderRow(ptr + j * rowBytes, u.x, u.y + j, u.w, u.width, u.height, u.maxIterations, u.centerX, u.centerY, u.scale);
    }
    return x.bytes(ptr, rowBytes * u.h).slice();
  };
  return {
    renderTile,
    run(input) {
      const u = mandelbrotUnitSchema.parse(input);
      return { x: u.x, y: u.y, w: u.w, h: u.h, counts: encodeBase64(renderTile(u)) };
    },
  };
}

/** Samples per call into the module. */
const MONTECARLO_CHUNK = 1 << 16;

export async function loadMontecarloPiWasm(source: WasmSource): Promise<MontecarloPiWasm> {
  const x = new Exports(await instantiate(source));
  const countChunk = x.fn('countHits');
  const countHits = (seed: number, offset: number, count: number): number => {
    let hits = 0;
    for (let done = 0; done < count; done += MONTECARLO_CHUNK) {
      hits += countChunk(seed, offset + done, Math.min(MONTECARLO_CHUNK, count - done));
    }
    return hits;
  };
  return {
    countHits,
    run(input) {
      const u = montecarloPiUnitSchema.parse(input);
      return { count: u.count, hits: countHits(u.seed, u.offset, u.count) };
    },
  };
}

/** Nonces per call into the module. */
const SHA_CHUNK = 1 << 14;
const MAX_DIGEST_BYTES = 64 * 1024;

export async function loadSha256NonceWasm(source: WasmSource): Promise<Sha256NonceWasm> {
  const x = new Exports(await instantiate(source));
  const buffer = x.fn('buffer');
  const prefixPtr = x.fn('prefixPtr');
  const setPrefix = x.fn('setPrefix');
  const search = x.fn('search');
  const digestFn = x.fn('digest');
  return {
    digest(data) {
      if (data.length > MAX_DIGEST_BYTES) throw new KernelError(`digest: at most ${MAX_DIGEST_BYTES} bytes`);
      const ptr = x.scratch(buffer, data.length + 32);
      x.bytes(ptr, data.length).set(data);
      digestFn(ptr, data.length, ptr + data.length);
      return x.bytes(ptr + data.length, 32).slice();
    },
    run(input) {
      const u = sha256NonceUnitSchema.parse(input);
      const prefix = prefixBytes(u.prefix);
      x.bytes(prefixPtr(), prefix.length).set(prefix);
      setPrefix(prefix.length);
      const out = x.scratch(buffer, MAX_NONCES_PER_UNIT * 8);
      const nonces: number[] = [];
      let found = 0;
      for (let done = 0; done < u.count; done += SHA_CHUNK) {
        const room = MAX_NONCES_PER_UNIT - nonces.length;
        const n = search(u.start + done, Math.min(SHA_CHUNK, u.count - done), u.difficulty, out, room);
        found += n;
        if (n > 0 && room > 0) {
          const listed = new Float64Array(x.memory.buffer, out, Math.min(n, room));
          for (const nonce of listed) nonces.push(nonce);
        }
      }
      return { start: u.start, hashes: u.count, found, nonces };
    },
  };
}

export async function loadPrimeSieveWasm(source: WasmSource): Promise<PrimeSieveWasm> {
  const x = new Exports(await instantiate(source));
  const begin = x.fn('begin');
  const step = x.fn('step');
  const count = x.fn('count');
  const checksum = x.fn('checksum');
  const last = x.fn('last');
  return {
    run(input) {
      const u = primeSieveUnitSchema.parse(input);
      if (begin(u.lo, u.hi, u.segmentSize) !== 0) throw new KernelError('wasm sieve could not grow its memory');
      while (step() !== 0);
      return { lo: u.lo, hi: u.hi, count: count(), checksum: checksum() >>> 0, last: last() >>> 0 };
    },
  };
}

export type LoadedWasm = {
  modules: WasmModules;
  /** Modules that failed to load, with the reason; their kernels run in JavaScript. */
  failed: Partial<Record<WasmKernelName, string>>;
};

/**
 * Loads the modules given (by default all of them from `wasmUrls()`); a module that fails to load is
 * tried again from `fallback` (by default, when `sources` is the default, the scalar builds), and
 * when that fails too it is left out and reported, not thrown. Then, unless `calibrate` is false,
 * measures each module against the JavaScript reference (`calibrateWasm`), which takes about a
 * quarter of a second.
 */
export async function loadKernelWasm(
  sources?: Partial<Record<WasmKernelName, WasmSource>>,
  {
    calibrate = true,
    fallback = sources === undefined && simdSupported() ? wasmUrls({ simd: false }) : {},
  }: { calibrate?: boolean; fallback?: Partial<Record<WasmKernelName, WasmSource>> } = {},
): Promise<LoadedWasm> {
  const primary = sources ?? wasmUrls();
  const modules: WasmModules = {};
  const failed: LoadedWasm['failed'] = {};
  const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const attempt = async <T>(name: WasmKernelName, load: (s: WasmSource) => Promise<T>, set: (m: T) => void) => {
    const source = primary[name];
    if (source === undefined) return;
    try {
      set(await load(source));
    } catch (error) {
      const second = fallback[name];
      if (second === undefined) {
        failed[name] = describe(error);
        return;
      }
      try {
        set(await load(second));
      } catch (again) {
        failed[name] = `${describe(error)}; fallback: ${describe(again)}`;
      }
    }
  };
  await Promise.all([
    attempt('mandelbrot', loadMandelbrotWasm, (m) => (modules.mandelbrot = m)),
    attempt('montecarlo-pi', loadMontecarloPiWasm, (m) => (modules['montecarlo-pi'] = m)),
    attempt('sha256-nonce', loadSha256NonceWasm, (m) => (modules['sha256-nonce'] = m)),
    attempt('prime-sieve', loadPrimeSieveWasm, (m) => (modules['prime-sieve'] = m)),
  ]);
  if (calibrate) calibrateWasm(modules);
  return { modules, failed };
}

/** Small fixed workloads (a few milliseconds each) used to compare the two implementations. */
export const CALIBRATION_UNITS: { [N in WasmKernelName]: UnitInputOf<N> } = {
  mandelbrot: {
    x: 96,
    y: 64,
    w: 64,
    h: 64,
    width: 256,
    height: 192,
    maxIterations: 256,
    centerX: -0.5,
    centerY: 0,
    scale: 3,
  },
  'montecarlo-pi': { seed: 1, offset: 0, count: 1 << 17 },
  'sha256-nonce': { prefix: 'swapmesh-calibration', difficulty: 8, start: 0, count: 4096 },
  'prime-sieve': { lo: 0, hi: 1 << 20, segmentSize: 1 << 14 },
};

type ErasedWasmKernel = { run(input: Json): Json; speedup?: number; agrees?: boolean };

/** Each implementation runs for at least this long before it is timed, so V8 has tiered it up. */
const WARM_UP_MS = 20;

function warmUp(f: () => unknown): void {
  const t0 = performance.now();
  for (let n = 0; n < 3 || performance.now() - t0 < WARM_UP_MS; n++) f();
}

function timeOnce(f: () => unknown): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/**
 * Times each loaded module and the JavaScript reference on `CALIBRATION_UNITS` (after warming
 * both up; best of five, alternating) and records `speedup` and `agrees` on the module. Takes
 * about a quarter of a second for the four modules.
 */
export function calibrateWasm(modules: WasmModules): void {
  for (const name of WASM_KERNEL_NAMES) {
    const m: ErasedWasmKernel | undefined = modules[name];
    if (!m) continue;
    const kernel: AnyKernel = getKernel(name);
    const input: Json = CALIBRATION_UNITS[name];
    m.agrees = kernel.canonical(m.run(input)) === kernel.canonical(kernel.run(input));
    if (!m.agrees) {
      m.speedup = 0;
      continue;
    }
    warmUp(() => m.run(input));
    warmUp(() => kernel.run(input));
    let js = Infinity;
    let wasm = Infinity;
    for (let i = 0; i < 5; i++) {
      wasm = Math.min(wasm, timeOnce(() => m.run(input)));
      js = Math.min(js, timeOnce(() => kernel.run(input)));
    }
    m.speedup = js / Math.max(wasm, 1e-3);
  }
}

function preferred(m: ErasedWasmKernel | undefined): m is ErasedWasmKernel {
  return m !== undefined && m.agrees !== false && (m.speedup ?? 0) >= PREFER_WASM_SPEEDUP;
}

/**
 * Runs one unit: through WebAssembly when `wasm` holds the kernel's module and it was measured
 * faster (see `calibrateWasm`), otherwise through the kernel's JavaScript `run`. Same output either
 * way. `custom` units throw, as with the kernel's own `run`.
 */
export function runUnitFast<N extends KernelName>(
  name: N,
  input: UnitInputOf<N>,
  wasm?: WasmModules | null,
): UnitOutputOf<N>;
export function runUnitFast(name: KernelName, input: Json, wasm?: WasmModules | null): Json;
export function runUnitFast<N extends KernelName>(
  name: N,
  input: UnitInputOf<N> | Json,
  wasm?: WasmModules | null,
): UnitOutputOf<N> | Json {
  const kernelName: KernelName = name;
  const unit: Json = input;
  const m: ErasedWasmKernel | undefined = isWasmKernelName(kernelName) ? wasm?.[kernelName] : undefined;
  if (preferred(m)) return m.run(unit);
  return getKernel(kernelName).run(unit);
}

/** Runs one unit through WebAssembly whatever the calibration said; throws when the module is not loaded. */
export function runUnitWasm<N extends WasmKernelName>(name: N, input: UnitInputOf<N>, wasm: WasmModules): UnitOutputOf<N>;
export function runUnitWasm(name: WasmKernelName, input: Json, wasm: WasmModules): Json;
export function runUnitWasm<N extends WasmKernelName>(
  name: N,
  input: UnitInputOf<N> | Json,
  wasm: WasmModules,
): UnitOutputOf<N> | Json {
  const kernelName: WasmKernelName = name;
  const unit: Json = input;
  const m: ErasedWasmKernel | undefined = wasm[kernelName];
  if (!m) throw new KernelError(`the ${kernelName} wasm module is not loaded`);
  return m.run(unit);
}
