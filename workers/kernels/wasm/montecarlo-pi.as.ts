// @ts-nocheck: AssemblyScript (i32, u64, f64), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * Monte Carlo pi hits with native 64-bit integers: the same SplitMix64 stream and the same inside
 * test as `countHits` in `../montecarlo-pi.ts`, which emulates them on 32-bit halves. The test x² + y² < 2^52 is done, like the
 * reference, in doubles (x, y < 2^26, so every product and the sum are exact) and counted without a
 * branch: the multiplications of the test then run on the floating-point units beside the two
 * 64-bit integer multiplications of the mix. The SIMD build (`montecarlo-pi.simd.as.ts`) is this
 * same code: an i64x2 version was measured slower, as V8 emulates i64x2.mul on x64 with three
 * 32-bit products.
 */
const GAMMA: u64 = 0x9e3779b97f4a7c15;
const M1: u64 = 0xbf58476d1ce4e5b9;
const M2: u64 = 0x94d049bb133111eb;
const R2: f64 = 4503599627370496.0; // 2^52

/** Hits among samples [offset, offset + count) of the stream for `seed` (integers held in f64). */
export function countHits(seed: f64, offset: f64, count: i32): i32 {
  let s: u64 = <u64>seed + <u64>offset * GAMMA; // sample i uses seed + (i + 1) * GAMMA
  let hits = 0;
  for (let k = 0; k < count; k++) {
    s += GAMMA;
    let z = s;
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    z ^= z >> 31;
    const x = <f64>(<u32>(z >> 38));
    const y = <f64>(<u32>z >> 6);
    hits += <i32>(x * x + y * y < R2);
  }
  return hits;
}
