// @ts-nocheck: AssemblyScript (i32, u64, f64, v128), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * Monte Carlo pi hits: the same SplitMix64 stream and the same inside test as `countHits` in
 * `../montecarlo-pi.ts`, four samples per pass. The two 64-bit multiplications of each sample's
 * mix stay scalar (WebAssembly has no fast 64-bit lane multiply on x64: V8 emulates i64x2.mul with
 * three 32-bit products, and an all-SIMD version measured slower); the rest goes to the vector
 * units, which the scalar code leaves idle: the mix's last xor-shift on two samples at a time,
 * x = z >> 38 and y = (z mod 2^32) >> 6 with one i32x4 shift, and the test x² + y² < 2^52 in f64x2
 * without a branch. x, y < 2^26, so the squares and their sum are exact in doubles, as in the
 * reference; the hit count is the same integer whatever the order of the samples.
 */
const GAMMA: u64 = 0x9e3779b97f4a7c15;
const M1: u64 = 0xbf58476d1ce4e5b9;
const M2: u64 = 0x94d049bb133111eb;
const R2: f64 = 4503599627370496.0; // 2^52

/** SplitMix64's mix of `s` up to, not including, its last `z ^= z >> 31`. */
// @ts-ignore: decorator
@inline
function mixHead(s: u64): u64 {
  let z = s;
  z = (z ^ (z >> 30)) * M1;
  return (z ^ (z >> 27)) * M2;
}

/** From two samples' `mixHead`: the i32 lanes y0, x0, y1, x1. */
// @ts-ignore: decorator
@inline
function coordinates(z: v128): v128 {
  return i32x4.shr_u(v128.xor(z, i64x2.shr_u(z, 31)), 6);
}

/** Hits among samples [offset, offset + count) of the stream for `seed` (integers held in f64). */
export function countHits(seed: f64, offset: f64, count: i32): i32 {
  let s: u64 = <u64>seed + <u64>offset * GAMMA; // sample i uses seed + (i + 1) * GAMMA
  const r2 = f64x2.splat(R2);
  let inside = i64x2.splat(0); // minus the hits, two lanes
  let k = 0;
  for (; k + 4 <= count; k += 4) {
    const s0 = s + GAMMA;
    const s1 = s0 + GAMMA;
    const s2 = s1 + GAMMA;
    s = s2 + GAMMA;
    const a = coordinates(i64x2(<i64>mixHead(s0), <i64>mixHead(s1)));
    const b = coordinates(i64x2(<i64>mixHead(s2), <i64>mixHead(s)));
    const xs = i32x4.shuffle(a, b, 1, 3, 5, 7);
    const ys = i32x4.shuffle(a, b, 0, 2, 4, 6);
    const x01 = f64x2.convert_low_i32x4_s(xs);
    const y01 = f64x2.convert_low_i32x4_s(ys);
    const x23 = f64x2.convert_low_i32x4_s(i64x2.shuffle(xs, xs, 1, 0));
    const y23 = f64x2.convert_low_i32x4_s(i64x2.shuffle(ys, ys, 1, 0));
    const in01 = f64x2.lt(f64x2.add(f64x2.mul(x01, x01), f64x2.mul(y01, y01)), r2);
    const in23 = f64x2.lt(f64x2.add(f64x2.mul(x23, x23), f64x2.mul(y23, y23)), r2);
    inside = i64x2.add(inside, i64x2.add(in01, in23));
  }
  let hits = -<i32>(i64x2.extract_lane(inside, 0) + i64x2.extract_lane(inside, 1));
  for (; k < count; k++) {
    s += GAMMA;
    let z = mixHead(s);
    z ^= z >> 31;
    const x = z >> 38;
    const y = (z & 0xffffffff) >> 6;
    if (x * x + y * y < (<u64>1) << 52) hits++;
  }
  return hits;
}
