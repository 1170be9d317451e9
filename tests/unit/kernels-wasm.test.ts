import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import binaryen from 'binaryen';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { getKernel, type AnyKernel, type Json } from '@/workers/kernels';
import { mandelbrotKernel, renderTile, type MandelbrotUnit } from '@/workers/kernels/mandelbrot';
import { montecarloPiKernel } from '@/workers/kernels/montecarlo-pi';
import { primeSieveKernel } from '@/workers/kernels/prime-sieve';
import {
  CALIBRATION_UNITS,
  WASM_KERNEL_NAMES,
  loadKernelWasm,
  loadMandelbrotWasm,
  runUnitFast,
  runUnitWasm,
  simdSupported,
  wasmUrls,
  type WasmKernelName,
  type WasmModules,
} from '@/workers/kernels/wasm';

const root = path.resolve(import.meta.dirname, '../..');
type Build = 'simd' | 'scalar';
const wasmFile = (name: WasmKernelName, build: Build) => `${name}${build === 'simd' ? '' : '.scalar'}.wasm`;
const wasmBytes = (name: WasmKernelName, build: Build = 'simd') =>
  readFile(path.join(root, 'workers/kernels/wasm', wasmFile(name, build)));

async function loadBuild(build: Build): Promise<WasmModules> {
  const sources = Object.fromEntries(
    await Promise.all(WASM_KERNEL_NAMES.map(async (name) => [name, await wasmBytes(name, build)] as const)),
  );
  const loaded = await loadKernelWasm(sources);
  expect(loaded.failed).toEqual({});
  return loaded.modules;
}

/**
 * Whether a module's code uses SIMD (a v128 value or a SIMD instruction in its text form), read with
 * binaryen, the optimizer that assemblyscript brings along.
 */
function usesSimd(bytes: Uint8Array): boolean {
  const module = binaryen.readBinary(bytes);
  try {
    return /\bv128\b|\b(?:i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\./.test(module.emitText());
  } finally {
    module.dispose();
  }
}

/** The SIMD builds (what browsers and Node run) and the scalar builds (the fallback without SIMD). */
const builds: Record<Build, WasmModules> = { simd: {}, scalar: {} };
let wasm: WasmModules;

beforeAll(async () => {
  builds.simd = await loadBuild('simd');
  builds.scalar = await loadBuild('scalar');
  wasm = builds.simd;
});

describe.each(['simd', 'scalar'] as const)('WebAssembly kernels (%s build) give the JavaScript reference outputs', (build) => {
  let wasm: WasmModules;
  beforeAll(() => {
    wasm = builds[build];
  });

  /** The JS reference's and the WebAssembly module's canonical outputs for one unit. */
  function both(name: WasmKernelName, input: Json) {
    const kernel: AnyKernel = getKernel(name);
    return { js: kernel.canonical(kernel.run(input)), wasm: kernel.canonical(runUnitWasm(name, input, wasm)) };
  }

  it('loads every module, and each agrees on its calibration unit', () => {
    for (const name of WASM_KERNEL_NAMES) {
      const m = wasm[name];
      expect(m?.agrees, name).toBe(true);
      expect(m?.speedup, name).toBeGreaterThan(0);
      const { js, wasm: w } = both(name, CALIBRATION_UNITS[name]);
      expect(w).toBe(js);
    }
  });

  it('mandelbrot: identical counts on random tiles and views', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 2048 }),
        fc.integer({ min: 16, max: 2048 }),
        fc.integer({ min: 16, max: 600 }),
        fc.double({ min: -2, max: 1, noNaN: true }),
        fc.double({ min: -1.5, max: 1.5, noNaN: true }),
        fc.oneof(fc.double({ min: 1e-13, max: 1e-6, noNaN: true }), fc.double({ min: 1e-6, max: 4, noNaN: true })),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.nat(),
        (width, height, maxIterations, centerX, centerY, scale, w, h, pick) => {
          const unit: MandelbrotUnit = {
            x: pick % (width - Math.min(w, width) + 1),
            y: (pick >>> 8) % (height - Math.min(h, height) + 1),
            w: Math.min(w, width),
            h: Math.min(h, height),
            width,
            height,
            maxIterations,
            centerX,
            centerY,
            scale,
          };
          const m = wasm.mandelbrot!;
          expect(Buffer.from(m.renderTile(unit)).equals(Buffer.from(renderTile(unit)))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mandelbrot: identical whole images, deep zooms included', () => {
    const views = [
      { centerX: -0.5, centerY: 0, scale: 3 },
      { centerX: -0.743643887037151, centerY: 0.13182590420533, scale: 1e-10 },
      { centerX: -1.7497219, centerY: 0, scale: 3e-5 },
      { centerX: 0.285, centerY: 0.01, scale: 0.02 },
    ];
    for (const view of views) {
      const params = { width: 160, height: 120, maxIterations: 2000, view };
      for (const unit of mandelbrotKernel.split(params, 4)) {
        const { js, wasm: w } = both('mandelbrot', unit);
        expect(w === js, JSON.stringify(view)).toBe(true);
      }
    }
  });

  it('montecarlo-pi: identical hits at any seed and offset', () => {
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.integer({ min: 0, max: 2 ** 32 - 200_000 }),
        fc.integer({ min: 1, max: 200_000 }),
        (seed, offset, count) => {
          const { js, wasm: w } = both('montecarlo-pi', { seed, offset, count });
          expect(w).toBe(js);
        },
      ),
      { numRuns: 100 },
    );
    const { js, wasm: w } = both('montecarlo-pi', { seed: 2 ** 53 - 1, offset: 2 ** 32 - 1, count: 1 });
    expect(w).toBe(js);
  });

  it('sha256-nonce: identical digests, and identical nonces on random prefixes and ranges', () => {
    const digest = wasm['sha256-nonce']!.digest;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (bytes) => {
        expect(Buffer.from(digest(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64, unit: fc.constantFrom('a', 'é', '→', '🚀', 'x', '0') }),
        fc.integer({ min: 1, max: 12 }),
        fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 40_000 })),
        fc.integer({ min: 1, max: 40_000 }),
        (prefix, difficulty, start, count) => {
          const { js, wasm: w } = both('sha256-nonce', { prefix, difficulty, start, count });
          expect(w).toBe(js);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sha256-nonce: identical capped lists when most nonces qualify', () => {
    const { js, wasm: w } = both('sha256-nonce', { prefix: 'many', difficulty: 1, start: 99_990, count: 50_000 });
    expect(w).toBe(js);
  });

  it('prime-sieve: identical counts, checksums and last primes on random ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_001 - 1 }),
        fc.integer({ min: 1, max: 300_000 }),
        fc.integer({ min: 4096, max: 1 << 16 }),
        (lo, span, segmentSize) => {
          const hi = Math.min(lo + span, 1_000_000_001);
          const { js, wasm: w } = both('prime-sieve', { lo, hi, segmentSize });
          expect(w).toBe(js);
        },
      ),
      { numRuns: 100 },
    );
    for (const [lo, hi] of [[0, 1], [0, 2], [0, 3], [2, 3], [3, 4], [0, 100], [999_000_000, 1_000_000_001]] as const) {
      const { js, wasm: w } = both('prime-sieve', { lo, hi, segmentSize: 4096 });
      expect(w, `${lo}..${hi}`).toBe(js);
    }
  });

  it('whole jobs assemble to the same results through runUnitFast and the reference', () => {
    const jobs: Array<[WasmKernelName, unknown]> = [
      ['mandelbrot', { width: 300, height: 200, maxIterations: 500, view: { centerX: -0.5, centerY: 0, scale: 3 } }],
      ['montecarlo-pi', { samples: 3_000_000, seed: 12345 }],
      ['sha256-nonce', { prefix: 'swapmesh', difficulty: 12, start: 0, end: 300_000 }],
      ['prime-sieve', { upTo: 5_000_000, segmentSize: 1 << 15 }],
    ];
    for (const [name, raw] of jobs) {
      const k: AnyKernel = getKernel(name);
      const params = k.paramsSchema.parse(raw);
      const units = k.split(params, 8);
      const reference = k.assemble(params, units.map((u) => k.run(u)));
      const fast = k.assemble(params, units.map((u) => runUnitFast(name, u, wasm)));
      const forced = k.assemble(params, units.map((u) => runUnitWasm(name, u, wasm)));
      expect(fast, k.name).toEqual(reference);
      expect(forced, k.name).toEqual(reference);
    }
  });
});

describe('SIMD and scalar builds agree bit for bit with the reference where the SIMD code takes its own paths', () => {
  /** Canonical outputs of the JS reference, the scalar build and the SIMD build for one unit. */
  function three(name: WasmKernelName, input: Json) {
    const kernel: AnyKernel = getKernel(name);
    return [
      kernel.canonical(kernel.run(input)),
      kernel.canonical(runUnitWasm(name, input, builds.scalar)),
      kernel.canonical(runUnitWasm(name, input, builds.simd)),
    ];
  }
  const same = ([js, scalar, simd]: string[]) => {
    expect(scalar).toBe(js);
    expect(simd).toBe(js);
  };

  it('mandelbrot: every row width (four-pixel groups and the pixels left over), lanes escaping at different iterations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 16, max: 3000 }),
        fc.double({ min: -2.2, max: 1.2, noNaN: true }),
        fc.double({ min: -1.5, max: 1.5, noNaN: true }),
        fc.oneof(fc.double({ min: 1e-13, max: 1e-8, noNaN: true }), fc.double({ min: 1e-8, max: 4, noNaN: true })),
        fc.nat({ max: 2047 }),
        (w, h, maxIterations, centerX, centerY, scale, pick) => {
          const width = 2048;
          const height = 2048;
          const unit: MandelbrotUnit = {
            x: pick % (width - w + 1),
            y: (pick * 7) % (height - h + 1),
            w,
            h,
            width,
            height,
            maxIterations,
            centerX,
            centerY,
            scale,
          };
          const reference = Buffer.from(renderTile(unit));
          expect(Buffer.from(builds.scalar.mandelbrot!.renderTile(unit)).equals(reference)).toBe(true);
          expect(Buffer.from(builds.simd.mandelbrot!.renderTile(unit)).equals(reference)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mandelbrot: a whole seahorse-valley image at 5000 iterations', () => {
    const params = { width: 200, height: 150, maxIterations: 5000, view: { centerX: -0.7453, centerY: 0.1127, scale: 0.0065 } };
    for (const unit of mandelbrotKernel.split(params, 6)) same(three('mandelbrot', unit));
  });

  it('sha256-nonce: four-lane groups, single nonces around powers of ten, one- and two-block tails', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64, unit: fc.constantFrom('a', 'é', '→', '🚀', 'x', '0') }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: -12, max: 12 }),
        fc.integer({ min: 1, max: 600 }),
        (prefix, difficulty, power, shift, count) => {
          const start = Math.min(Math.max(0, 10 ** power + shift), Number.MAX_SAFE_INTEGER - 1000);
          same(three('sha256-nonce', { prefix, difficulty, start, count }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sha256-nonce: the largest nonces and a list capped at 1000', () => {
    same(three('sha256-nonce', { prefix: 'top', difficulty: 3, start: Number.MAX_SAFE_INTEGER - 5000, count: 5000 }));
    same(three('sha256-nonce', { prefix: 'many', difficulty: 1, start: 99_997, count: 40_003 }));
  });

  it('prime-sieve: segments of every length modulo 64, ranges starting anywhere', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 4096, max: 4096 + 200 }),
        (lo, span, segmentSize) => {
          const hi = Math.min(lo + span, 1_000_000_001);
          if (hi <= lo) return;
          same(three('prime-sieve', { lo, hi, segmentSize }));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('montecarlo-pi: any seed, offset and count', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 32 - 70_000 }), fc.integer({ min: 1, max: 70_000 }), (seed, offset, count) => {
        same(three('montecarlo-pi', { seed, offset, count }));
      }),
      { numRuns: 100 },
    );
  });
});

describe('runUnitFast', () => {
  it('runs the JavaScript reference without modules, and refuses custom units', () => {
    const unit = CALIBRATION_UNITS['prime-sieve'];
    expect(runUnitFast('prime-sieve', unit)).toEqual(primeSieveKernel.run(unit));
    expect(runUnitFast('prime-sieve', unit, null)).toEqual(primeSieveKernel.run(unit));
    expect(() =>
      runUnitFast('custom', { codeSha256: '0'.repeat(64), index: 0, input: 1 }, wasm),
    ).toThrow(/sandbox/);
  });

  it('uses a module only when it agrees and was measured faster', async () => {
    const m = await loadMandelbrotWasm(await wasmBytes('mandelbrot'));
    let wasmCalls = 0;
    const counting: WasmModules = {
      mandelbrot: {
        ...m,
        run(input) {
          wasmCalls++;
          return m.run(input);
        },
      },
    };
    const unit = CALIBRATION_UNITS.mandelbrot;
    const reference = mandelbrotKernel.run(unit);
    expect(runUnitFast('mandelbrot', unit, counting)).toEqual(reference); // never calibrated
    expect(wasmCalls).toBe(0);
    counting.mandelbrot!.speedup = 2;
    counting.mandelbrot!.agrees = true;
    expect(runUnitFast('mandelbrot', unit, counting)).toEqual(reference);
    expect(wasmCalls).toBe(1);
    counting.mandelbrot!.agrees = false;
    expect(runUnitFast('mandelbrot', unit, counting)).toEqual(reference);
    counting.mandelbrot!.agrees = true;
    counting.mandelbrot!.speedup = 1.01;
    expect(runUnitFast('mandelbrot', unit, counting)).toEqual(reference);
    expect(wasmCalls).toBe(1);
  });

  it('validates unit inputs on the WebAssembly path too', () => {
    const bad = { ...CALIBRATION_UNITS.mandelbrot, w: 100_000 };
    expect(() => runUnitWasm('mandelbrot', bad, wasm)).toThrow();
  });
});

describe('loading', () => {
  it('loads from a Response and from a compiled module, and reports modules that fail', async () => {
    const bytes = await wasmBytes('montecarlo-pi');
    const module = await WebAssembly.compile(bytes);
    const loaded = await loadKernelWasm(
      {
        'montecarlo-pi': new Response(bytes, { headers: { 'content-type': 'application/wasm' } }),
        'prime-sieve': module, // the wrong module: no begin()
        'sha256-nonce': new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255]),
      },
      { calibrate: false },
    );
    expect(loaded.modules['montecarlo-pi']?.run({ seed: 1, offset: 0, count: 1000 })).toEqual(
      montecarloPiKernel.run({ seed: 1, offset: 0, count: 1000 }),
    );
    expect(Object.keys(loaded.failed).sort()).toEqual(['prime-sieve', 'sha256-nonce']);
    expect(loaded.failed['prime-sieve']).toMatch(/begin/);
  });

  it('falls back to another build of a module that fails to load, and reports it when both fail', async () => {
    const broken = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255]);
    const loaded = await loadKernelWasm(
      { mandelbrot: broken, 'prime-sieve': broken },
      { calibrate: false, fallback: { mandelbrot: await wasmBytes('mandelbrot', 'scalar') } },
    );
    const unit = CALIBRATION_UNITS.mandelbrot;
    expect(loaded.modules.mandelbrot?.run(unit)).toEqual(mandelbrotKernel.run(unit));
    expect(Object.keys(loaded.failed)).toEqual(['prime-sieve']);
  });

  it('resolves module URLs next to the kernels: the SIMD builds where SIMD runs, the scalar ones otherwise', () => {
    expect(simdSupported()).toBe(true); // Node >= 16.4
    const urls = wasmUrls();
    const scalar = wasmUrls({ simd: false });
    for (const name of WASM_KERNEL_NAMES) {
      expect(urls[name].href).toBe(new URL(`workers/kernels/wasm/${name}.wasm`, `file://${root}/`).href);
      expect(scalar[name].href).toBe(new URL(`workers/kernels/wasm/${name}.scalar.wasm`, `file://${root}/`).href);
    }
  });

  it('the SIMD builds use SIMD instructions and the scalar builds none (they must load where SIMD does not exist)', async () => {
    for (const name of WASM_KERNEL_NAMES) {
      const scalar = await wasmBytes(name, 'scalar');
      expect(usesSimd(scalar), `${name}.scalar.wasm`).toBe(false);
      if (name !== 'montecarlo-pi') expect(usesSimd(await wasmBytes(name, 'simd')), `${name}.wasm`).toBe(true);
    }
  });

  it('ships .wasm files that match their AssemblyScript sources', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'scripts/build-wasm.mjs'), '--check'], {
      cwd: root,
    });
    expect(stdout).not.toMatch(/STALE/);
  }, 60_000);
});
