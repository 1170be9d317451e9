/**
 * SHA-256 (FIPS 180-4) in plain synchronous TypeScript, for the nonce search where WebCrypto's
 * promise per digest would cost more than the hash. Words are kept as signed 32-bit integers
 * (`| 0`), which JavaScript engines keep unboxed.
 */

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const H0 = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** A fresh SHA-256 state (the eight initial hash words). */
export function initialState(): Int32Array {
  return H0.slice();
}

/**
 * Compresses one 64-byte block (`block[offset..offset+64)`) into `state`. `w` is a 64-word scratch
 * array the caller owns, so hot loops allocate nothing.
 */
export function compress(state: Int32Array, block: Uint8Array, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Writes SHA-256's padding for a message of `totalLength` bytes into `tail`, after the
 * `used` message bytes already at its start; returns the tail's length (64 or 128).
 */
export function padTail(tail: Uint8Array, used: number, totalLength: number): number {
  const length = used + 9 <= 64 ? 64 : 128;
  tail[used] = 0x80;
  tail.fill(0, used + 1, length - 8);
  const bitsHigh = Math.floor(totalLength / 0x20000000); // totalLength * 8 / 2^32
  const bitsLow = (totalLength * 8) >>> 0;
  tail[length - 8] = bitsHigh >>> 24;
  tail[length - 7] = (bitsHigh >>> 16) & 255;
  tail[length - 6] = (bitsHigh >>> 8) & 255;
  tail[length - 5] = bitsHigh & 255;
  tail[length - 4] = bitsLow >>> 24;
  tail[length - 3] = (bitsLow >>> 16) & 255;
  tail[length - 2] = (bitsLow >>> 8) & 255;
  tail[length - 1] = bitsLow & 255;
  return length;
}

/** SHA-256 of `data`: 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  const state = initialState();
  const w = new Int32Array(64);
  const full = data.length - (data.length % 64);
  for (let off = 0; off < full; off += 64) compress(state, data, off, w);
  const tail = new Uint8Array(128);
  tail.set(data.subarray(full));
  const tailLength = padTail(tail, data.length - full, data.length);
  for (let off = 0; off < tailLength; off += 64) compress(state, tail, off, w);
  return stateBytes(state);
}

/** The big-endian bytes of a state's eight words. */
export function stateBytes(state: Int32Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 255;
    out[i * 4 + 2] = (v >>> 8) & 255;
    out[i * 4 + 3] = v & 255;
  }
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/** SHA-256 of a string's UTF-8 bytes, or of bytes, as lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return toHex(sha256(typeof data === 'string' ? new TextEncoder().encode(data) : data));
}
