// @ts-nocheck: AssemblyScript (i32, u64, f64), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * Monte Carlo pi hits with native 64-bit integers: the same SplitMix64 stream and the same
 * inside test as `countHits` in `../montecarlo-pi.ts`, which emulates them on 32-bit halves.
 */
const GAMMA: u64 = 0x9e3779b97f4a7c15;
const M1: u64 = 0xbf58476d1ce4e5b9;
const M2: u64 = 0x94d049bb133111eb;
const R2: u64 = (<u64>1) << 52;

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
    const x = z >> 38;
    const y = (z & 0xffffffff) >> 6;
    if (x * x + y * y < R2) hits++;
  }
  return hits;
}
