// @ts-nocheck: AssemblyScript (i32, u32, v128, i8x16), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * The segmented odd-only sieve of `sieveRange` in `../prime-sieve.ts`, one segment per call:
 * `begin(lo, hi, segmentSize)`, then `step()` until it returns 0, then read `count()`,
 * `checksum()` and `last()`. The segments are crossed off exactly as in the reference; the survivors
 * are then counted 64 flags at a time with WebAssembly SIMD (four i8x16 compares give a 64-bit mask
 * of the primes) and without a branch per number: the count is the mask's population count, the
 * sum of its primes (mod 2^32, which does not depend on the order of the additions) is
 * count·(first value) + 2·(sum of the set bits' indices, from six masked population counts), the
 * last prime comes from the highest set bit.
 */
import { scratch } from './scratch.as';

let primes: usize = 0; // u32 odd base primes
let nextK: usize = 0; // u32 next index k (value 2k+1) to cross off, per base prime
let segment: usize = 0; // u8 flags, one per odd number of the segment
let nPrimes: i32 = 0;
let segmentSize: u32 = 0;
let kCur: u32 = 0;
let kHi: u32 = 0;
let primeCount: i32 = 0;
let sum: u32 = 0;
let lastPrime: u32 = 0;

function isqrt(n: u32): u32 {
  let r = <u32>Math.floor(Math.sqrt(<f64>n));
  while (<u64>r * <u64>r > <u64>n) r--;
  while (<u64>(r + 1) * <u64>(r + 1) <= <u64>n) r++;
  return r;
}

/** Prepares the range [lo, hi) (hi <= 2^31); returns 0, or -1 when memory cannot grow. */
export function begin(lo: u32, hi: u32, size: i32): i32 {
  primeCount = 0;
  sum = 0;
  lastPrime = 0;
  nPrimes = 0;
  segmentSize = <u32>size;
  kCur = 0;
  kHi = 0;
  if (lo <= 2 && hi > 2) {
    primeCount = 1;
    sum = 2;
    lastPrime = 2;
  }
  if (hi <= 3) return 0;
  const limit = isqrt(hi - 1);
  const slots = (limit >> 1) + 1; // index k stands for 2k+1, k <= limit/2
  const base = scratch(<usize>slots * 8 + <usize>slots + <usize>segmentSize + 16);
  if (base == 0) return -1;
  primes = base;
  nextK = primes + <usize>slots * 4;
  const small = nextK + <usize>slots * 4;
  segment = (small + <usize>slots + 15) & ~(<usize>15);
  memory.fill(small, 0, <usize>slots);
  for (let k: u32 = 1; k * 2 + 1 <= limit; k++) {
    if (load<u8>(small + <usize>k)) continue;
    const p = k * 2 + 1;
    store<u32>(primes + (<usize>nPrimes << 2), p);
    nPrimes++;
    for (let j = (p * p - 1) >> 1; j * 2 + 1 <= limit; j += p) store<u8>(small + <usize>j, 1);
  }
  kCur = lo / 2 > 1 ? lo / 2 : 1;
  kHi = hi / 2;
  const vLo = kCur * 2 + 1;
  for (let i = 0; i < nPrimes; i++) {
    const p = load<u32>(primes + (<usize>i << 2));
    let m = ((vLo + p - 1) / p) * p;
    if (m < p * p) m = p * p;
    if ((m & 1) == 0) m += p;
    store<u32>(nextK + (<usize>i << 2), (m - 1) >> 1);
  }
  return 0;
}

/** Sieves the next segment; returns 0 when the range is done. */
export function step(): i32 {
  if (kCur >= kHi) return 0;
  const kS = kCur;
  const kE = kHi - kS < segmentSize ? kHi : kS + segmentSize;
  const len = kE - kS;
  memory.fill(segment, 0, <usize>len);
  for (let i = 0; i < nPrimes; i++) {
    const p = load<u32>(primes + (<usize>i << 2));
    let j = load<u32>(nextK + (<usize>i << 2)) - kS;
    for (; j < len; j += p) store<u8>(segment + <usize>j, 1);
    store<u32>(nextK + (<usize>i << 2), j + kS);
  }
  const zero = i8x16.splat(0);
  let i: u32 = 0;
  for (; i + 64 <= len; i += 64) {
    const p = segment + <usize>i;
    const m0 = <u64>i8x16.bitmask(i8x16.eq(v128.load(p, 0), zero));
    const m1 = <u64>i8x16.bitmask(i8x16.eq(v128.load(p, 16), zero));
    const m2 = <u64>i8x16.bitmask(i8x16.eq(v128.load(p, 32), zero));
    const m3 = <u64>i8x16.bitmask(i8x16.eq(v128.load(p, 48), zero));
    const mask = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    if (mask != 0) {
      const n = <u32>popcnt<u64>(mask);
      const first = (kS + i) * 2 + 1;
      const indices =
        <u32>popcnt<u64>(mask & 0xaaaaaaaaaaaaaaaa) +
        (<u32>popcnt<u64>(mask & 0xcccccccccccccccc) << 1) +
        (<u32>popcnt<u64>(mask & 0xf0f0f0f0f0f0f0f0) << 2) +
        (<u32>popcnt<u64>(mask & 0xff00ff00ff00ff00) << 3) +
        (<u32>popcnt<u64>(mask & 0xffff0000ffff0000) << 4) +
        (<u32>popcnt<u64>(mask & 0xffffffff00000000) << 5);
      primeCount += <i32>n;
      sum += n * first + (indices << 1);
      lastPrime = first + ((63 - <u32>clz<u64>(mask)) << 1);
    }
  }
  for (; i < len; i++) {
    if (load<u8>(segment + <usize>i) == 0) {
      const v = (kS + i) * 2 + 1;
      primeCount++;
      sum += v;
      lastPrime = v;
    }
  }
  kCur = kE;
  return 1;
}

export function count(): i32 {
  return primeCount;
}

/** The sum of the primes mod 2^32 (read it with >>> 0). */
export function checksum(): u32 {
  return sum;
}

export function last(): u32 {
  return lastPrime;
}
