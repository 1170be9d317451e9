// @ts-nocheck: AssemblyScript (i32, u32, v128, i32x4), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * SHA-256 and the nonce search of `../sha256-nonce.ts` with WebAssembly SIMD: four consecutive
 * nonces are hashed at once, one per i32x4 lane (the same midstate, tail layout, in-place decimal
 * increment and leading-zero test on the first hash word as the reference, so the same nonces
 * qualify). Groups of four whose decimal length differs (around a power of ten) and the last
 * nonces of a call go one at a time through the scalar compression. SHA-256 is pure 32-bit
 * integer arithmetic, so every lane's digest is exactly the scalar one.
 *
 * Use: write the prefix's UTF-8 bytes at `prefixPtr()` (at most 256), call `setPrefix(length)`,
 * then `search(...)` over short ranges.
 */
import { scratch } from './scratch.as';

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const W: usize = memory.data(256, 16);
const MID: usize = memory.data(32, 16);
const STATE: usize = memory.data(32, 16);
const PREFIX: usize = memory.data(256, 16);
const TAIL: usize = memory.data(128, 16);
const DIGITS: usize = memory.data(32, 16);

let prefixLength: i32 = 0;
let rem: i32 = 0;

/** A scratch buffer of at least `bytes` bytes (0 when memory cannot grow). */
export function buffer(bytes: i32): usize {
  return scratch(<usize>bytes);
}

/** Where to write the prefix bytes before `setPrefix`. */
export function prefixPtr(): usize {
  return PREFIX;
}

function compress(state: usize, block: usize): void {
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), bswap<u32>(load<u32>(block + (i << 2))));
  for (let i: usize = 16; i < 64; i++) {
    const x = load<u32>(W + ((i - 15) << 2));
    const y = load<u32>(W + ((i - 2) << 2));
    const s0 = rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >> 3);
    const s1 = rotr<u32>(y, 17) ^ rotr<u32>(y, 19) ^ (y >> 10);
    store<u32>(W + (i << 2), load<u32>(W + ((i - 16) << 2)) + s0 + load<u32>(W + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(state, 0);
  let b = load<u32>(state, 4);
  let c = load<u32>(state, 8);
  let d = load<u32>(state, 12);
  let e = load<u32>(state, 16);
  let f = load<u32>(state, 20);
  let g = load<u32>(state, 24);
  let h = load<u32>(state, 28);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + (i << 2)) + load<u32>(W + (i << 2));
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(state, load<u32>(state, 0) + a, 0);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
  store<u32>(state, load<u32>(state, 20) + f, 20);
  store<u32>(state, load<u32>(state, 24) + g, 24);
  store<u32>(state, load<u32>(state, 28) + h, 28);
}

/** Pads `tail` after `used` message bytes for a message of `total` bytes; returns 64 or 128. */
function padTail(tail: usize, used: i32, total: i32): i32 {
  const length = used + 9 <= 64 ? 64 : 128;
  store<u8>(tail + <usize>used, 0x80);
  memory.fill(tail + <usize>used + 1, 0, <usize>(length - 8 - used - 1));
  const bits: u64 = (<u64>total) << 3;
  store<u64>(tail + <usize>length - 8, bswap<u64>(bits));
  return length;
}

/** SHA-256 of `length` bytes at `ptr`, written as 32 bytes at `out`. */
export function digest(ptr: usize, length: i32, out: usize): void {
  memory.copy(STATE, H0, 32);
  const full = length & ~63;
  for (let off = 0; off < full; off += 64) compress(STATE, ptr + <usize>off);
  const used = length - full;
  memory.copy(TAIL, ptr + <usize>full, <usize>used);
  const tailLength = padTail(TAIL, used, length);
  for (let off = 0; off < tailLength; off += 64) compress(STATE, TAIL + <usize>off);
  for (let i: usize = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(STATE + (i << 2))));
}

/** Hashes the prefix's whole blocks (the midstate) and keeps the rest for the tail. */
export function setPrefix(length: i32): void {
  prefixLength = length;
  memory.copy(MID, H0, 32);
  const full = length & ~63;
  for (let off = 0; off < full; off += 64) compress(MID, PREFIX + <usize>off);
  rem = length - full;
  memory.copy(TAIL, PREFIX + <usize>full, <usize>rem);
}

/** Four tails of 128 bytes (lane i at LANES + 128·i) and the four-lane message schedule. */
const LANES: usize = memory.data(512, 16);
const WV: usize = memory.data(64 * 16, 16);

let digits: i32 = 0;
let tailLength: i32 = 0;
/** 10^digits: the first nonce with one more decimal digit than the one in TAIL. */
let nextPower: u64 = 0;

// @ts-ignore: decorator
@inline
function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

/** Big-endian words 4q..4q+3 of the four lanes' blocks at `offset`, one vector per word. */
// @ts-ignore: decorator
@inline
function loadWords(offset: usize, q: usize): void {
  const r0 = v128.load(LANES + offset + (q << 4));
  const r1 = v128.load(LANES + 128 + offset + (q << 4));
  const r2 = v128.load(LANES + 256 + offset + (q << 4));
  const r3 = v128.load(LANES + 384 + offset + (q << 4));
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  const dst = WV + (q << 6);
  v128.store(dst, bswap4(i64x2.shuffle(t0, t1, 0, 2)), 0);
  v128.store(dst, bswap4(i64x2.shuffle(t0, t1, 1, 3)), 16);
  v128.store(dst, bswap4(i64x2.shuffle(t2, t3, 0, 2)), 32);
  v128.store(dst, bswap4(i64x2.shuffle(t2, t3, 1, 3)), 48);
}

// @ts-ignore: decorator
@inline
function bswap4(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/** The four lanes' states after compressing their blocks at `offset` into `state` (eight vectors at `state`). */
function compress4(state: usize, offset: usize): void {
  loadWords(offset, 0);
  loadWords(offset, 1);
  loadWords(offset, 2);
  loadWords(offset, 3);
  for (let i: usize = 16; i < 64; i++) {
    const x = v128.load(WV + ((i - 15) << 4));
    const y = v128.load(WV + ((i - 2) << 4));
    const s0 = v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3));
    const s1 = v128.xor(v128.xor(rotr4(y, 17), rotr4(y, 19)), i32x4.shr_u(y, 10));
    v128.store(WV + (i << 4), i32x4.add(i32x4.add(i32x4.add(v128.load(WV + ((i - 16) << 4)), s0), v128.load(WV + ((i - 7) << 4))), s1));
  }
  let a = v128.load(state, 0);
  let b = v128.load(state, 16);
  let c = v128.load(state, 32);
  let d = v128.load(state, 48);
  let e = v128.load(state, 64);
  let f = v128.load(state, 80);
  let g = v128.load(state, 96);
  let h = v128.load(state, 112);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = v128.xor(v128.xor(rotr4(e, 6), rotr4(e, 11)), rotr4(e, 25));
    const ch = v128.bitselect(f, g, e); // (e & f) ^ (~e & g)
    const t1 = i32x4.add(i32x4.add(i32x4.add(i32x4.add(h, S1), ch), v128.load32_splat(K + (i << 2))), v128.load(WV + (i << 4)));
    const S0 = v128.xor(v128.xor(rotr4(a, 2), rotr4(a, 13)), rotr4(a, 22));
    const maj = v128.bitselect(c, a, v128.xor(a, b)); // (a & b) ^ (a & c) ^ (b & c)
    const t2 = i32x4.add(S0, maj);
    h = g;
    g = f;
    f = e;
    e = i32x4.add(d, t1);
    d = c;
    c = b;
    b = a;
    a = i32x4.add(t1, t2);
  }
  v128.store(state, i32x4.add(v128.load(state, 0), a), 0);
  v128.store(state, i32x4.add(v128.load(state, 16), b), 16);
  v128.store(state, i32x4.add(v128.load(state, 32), c), 32);
  v128.store(state, i32x4.add(v128.load(state, 48), d), 48);
  v128.store(state, i32x4.add(v128.load(state, 64), e), 64);
  v128.store(state, i32x4.add(v128.load(state, 80), f), 80);
  v128.store(state, i32x4.add(v128.load(state, 96), g), 96);
  v128.store(state, i32x4.add(v128.load(state, 112), h), 112);
}

const STATE4: usize = memory.data(128, 16);

/** Adds one to the decimal nonce in TAIL, in place (one more digit at a power of ten). */
function increment(): void {
  let i = rem + digits - 1;
  while (i >= rem && load<u8>(TAIL + <usize>i) == 57) {
    store<u8>(TAIL + <usize>i, 48);
    i--;
  }
  if (i >= rem) store<u8>(TAIL + <usize>i, load<u8>(TAIL + <usize>i) + 1);
  else {
    digits++;
    nextPower *= 10;
    store<u8>(TAIL + <usize>rem, 49);
    memory.fill(TAIL + <usize>rem + 1, 48, <usize>(digits - 1));
    tailLength = padTail(TAIL, rem + digits, prefixLength + digits);
  }
}

/**
 * Tries nonces start..start+count-1 (start an integer below 2^53, held in an f64). Returns how many
 * qualify and writes the first `maxOut` of them as f64 at `out`, in increasing order.
 */
export function search(start: f64, count: i32, difficulty: i32, out: usize, maxOut: i32): i32 {
  // decimal digits of start, most significant first
  let n = <u64>start;
  digits = 0;
  nextPower = 1;
  do {
    store<u8>(DIGITS + <usize>digits, <u8>(48 + <i32>(n % 10)));
    n /= 10;
    nextPower *= 10;
    digits++;
  } while (n != 0);
  for (let i = 0; i < digits; i++) {
    store<u8>(TAIL + <usize>(rem + i), load<u8>(DIGITS + <usize>(digits - 1 - i)));
  }
  tailLength = padTail(TAIL, rem + digits, prefixLength + digits);
  const shift = <u32>(32 - difficulty);
  let found = 0;
  let nonce = <u64>start;
  let k = 0;
  while (k < count) {
    if (k + 4 <= count && nonce + 3 < nextPower) {
      const length = <usize>tailLength;
      for (let lane: usize = 0; lane < 4; lane++) {
        for (let o: usize = 0; o < length; o += 16) v128.store(LANES + (lane << 7) + o, v128.load(TAIL + o));
        increment();
      }
      for (let w: usize = 0; w < 8; w++) v128.store(STATE4 + (w << 4), v128.load32_splat(MID + (w << 2)));
      compress4(STATE4, 0);
      if (length == 128) compress4(STATE4, 64);
      const zero = i32x4.eq(i32x4.shr_u(v128.load(STATE4), shift), i32x4.splat(0));
      if (v128.any_true(zero)) {
        const mask = i32x4.bitmask(zero);
        for (let lane = 0; lane < 4; lane++) {
          if ((mask >> lane) & 1) {
            if (found < maxOut) store<f64>(out + ((<usize>found) << 3), start + <f64>(k + lane));
            found++;
          }
        }
      }
      nonce += 4;
      k += 4;
    } else {
      memory.copy(STATE, MID, 32);
      compress(STATE, TAIL);
      if (tailLength == 128) compress(STATE, TAIL + 64);
      if (load<u32>(STATE) >> shift == 0) {
        if (found < maxOut) store<f64>(out + ((<usize>found) << 3), start + <f64>k);
        found++;
      }
      increment();
      nonce++;
      k++;
    }
  }
  return found;
}
