// @ts-nocheck: AssemblyScript (i32, u32, load/store<T>), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * SHA-256 and the nonce search of `../sha256-nonce.ts`: same midstate, same tail layout, same
 * in-place decimal increment, same leading-zero test on the first hash word.
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

/**
 * Tries nonces start..start+count-1 (start an integer below 2^53, held in an f64). Returns how many
 * qualify and writes the first `maxOut` of them as f64 at `out`.
 */
export function search(start: f64, count: i32, difficulty: i32, out: usize, maxOut: i32): i32 {
  // decimal digits of start, most significant first
  let n = <u64>start;
  let digits = 0;
  do {
    store<u8>(DIGITS + <usize>digits, <u8>(48 + <i32>(n % 10)));
    n /= 10;
    digits++;
  } while (n != 0);
  for (let i = 0; i < digits; i++) {
    store<u8>(TAIL + <usize>(rem + i), load<u8>(DIGITS + <usize>(digits - 1 - i)));
  }
  let tailLength = padTail(TAIL, rem + digits, prefixLength + digits);
  const shift = <u32>(32 - difficulty);
  let found = 0;
  for (let k = 0; k < count; k++) {
    memory.copy(STATE, MID, 32);
    compress(STATE, TAIL);
    if (tailLength == 128) compress(STATE, TAIL + 64);
    if (load<u32>(STATE) >> shift == 0) {
      if (found < maxOut) store<f64>(out + ((<usize>found) << 3), start + <f64>k);
      found++;
    }
    let i = rem + digits - 1;
    while (i >= rem && load<u8>(TAIL + <usize>i) == 57) {
      store<u8>(TAIL + <usize>i, 48);
      i--;
    }
    if (i >= rem) store<u8>(TAIL + <usize>i, load<u8>(TAIL + <usize>i) + 1);
    else {
      digits++;
      store<u8>(TAIL + <usize>rem, 49);
      memory.fill(TAIL + <usize>rem + 1, 48, <usize>(digits - 1));
      tailLength = padTail(TAIL, rem + digits, prefixLength + digits);
    }
  }
  return found;
}
