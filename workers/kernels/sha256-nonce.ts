/**
 * Hash search: the nonces n in [start, end) for which SHA-256(utf8(prefix) + decimal(n)) begins
 * with at least `difficulty` zero bits. Units are contiguous nonce sub-ranges; a unit reports how
 * many qualifying nonces it found and lists the first `MAX_NONCES_PER_UNIT` of them.
 */
import { z } from 'zod';
import { compress, initialState, padTail } from './sha256';
import { KernelError, clampUnits } from './shared';
import type { Kernel } from './types';

export const MAX_PREFIX_CHARS = 64;
/** At most this many nonces per job (2^32, about 4.3 billion hashes). */
export const MAX_RANGE = 2 ** 32;
/** At most this many nonces per unit (about half a second of JavaScript on a laptop core). */
export const MAX_UNIT_NONCES = 2 ** 20;
export const MAX_UNITS = 10_000;
/** A unit lists at most this many of the nonces it found (it still counts them all). */
export const MAX_NONCES_PER_UNIT = 1000;
/** The assembled result lists at most this many nonces (the smallest ones). */
export const MAX_RESULT_NONCES = 10_000;

const nonce = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const sha256NonceParamsSchema = z
  .strictObject({
    prefix: z.string().max(MAX_PREFIX_CHARS),
    difficulty: z.int().min(1).max(32),
    /** First nonce tried. */
    start: nonce,
    /** One past the last nonce tried. */
    end: nonce,
  })
  .refine((p) => p.end > p.start, { message: 'end must be greater than start', path: ['end'] })
  .refine((p) => p.end - p.start <= MAX_RANGE, { message: `at most ${MAX_RANGE} nonces`, path: ['end'] });
export type Sha256NonceParams = z.infer<typeof sha256NonceParamsSchema>;

export const sha256NonceUnitSchema = z
  .strictObject({
    prefix: z.string().max(MAX_PREFIX_CHARS),
    difficulty: z.int().min(1).max(32),
    start: nonce,
    count: z.int().min(1).max(MAX_UNIT_NONCES),
  })
  .refine((u) => u.start + u.count - 1 <= Number.MAX_SAFE_INTEGER, { message: 'nonce beyond 2^53 - 1' });
export type Sha256NonceUnit = z.infer<typeof sha256NonceUnitSchema>;

export const sha256NonceOutputSchema = z
  .strictObject({
    start: nonce,
    /** Hashes computed: the unit's count. */
    hashes: z.int().min(1).max(MAX_UNIT_NONCES),
    /** Qualifying nonces in the unit. */
    found: z.int().min(0).max(MAX_UNIT_NONCES),
    /** The first `min(found, MAX_NONCES_PER_UNIT)` of them, ascending. */
    nonces: z.array(nonce).max(MAX_NONCES_PER_UNIT),
  })
  .refine((o) => o.nonces.length === Math.min(o.found, MAX_NONCES_PER_UNIT), {
    message: 'nonces must list the first min(found, MAX_NONCES_PER_UNIT) nonces',
  })
  .refine((o) => o.nonces.every((n, i) => n >= o.start && n < o.start + o.hashes && (i === 0 || n > o.nonces[i - 1]!)), {
    message: 'nonces must be ascending and inside the unit',
  });
export type Sha256NonceOutput = z.infer<typeof sha256NonceOutputSchema>;

export type Sha256NonceResult = {
  /** Qualifying nonces, ascending; the smallest `MAX_RESULT_NONCES` when `truncated`. */
  nonces: number[];
  /** Every qualifying nonce found, listed or not. */
  found: number;
  hashes: number;
  /** True when some found nonces are not listed (per-unit or per-result caps). */
  truncated: boolean;
};

/** Reference CPU time per SHA-256 compression, picoseconds (the JavaScript reference on one reference core). */
export const REFERENCE_PS_PER_COMPRESSION = 580_000;

/**
 * SHA-256 compressions `searchNonces` runs for nonces [start, start + count) after a prefix of
 * `prefixLength` bytes: one per whole 64-byte block of the prefix (the midstate), then per nonce one for
 * its tail block, or two when the tail (the rest of the prefix, the digits, 0x80 and the 8-byte length)
 * passes 64 bytes.
 */
export function compressionsFor(prefixLength: number, start: number, count: number): number {
  const rem = prefixLength % 64;
  let total = Math.floor(prefixLength / 64);
  let n = start;
  const end = start + count;
  while (n < end) {
    const digits = String(n).length;
    const nextWidth = 10 ** digits;
    const upto = Math.min(end, nextWidth);
    total += (upto - n) * (rem + digits + 9 > 64 ? 2 : 1);
    n = upto;
  }
  return total;
}

export type NonceSearch = { found: number; nonces: number[] };

/**
 * The reference search. Hashes the prefix's whole 64-byte blocks once (the midstate); per nonce it
 * only compresses the tail block(s) holding the rest of the prefix, the decimal digits and the
 * padding, incrementing the digits in place.
 */
export function searchNonces(
  prefix: Uint8Array,
  difficulty: number,
  start: number,
  count: number,
  maxListed: number,
): NonceSearch {
  const w = new Int32Array(64);
  const mid = initialState();
  const full = prefix.length - (prefix.length % 64);
  for (let off = 0; off < full; off += 64) compress(mid, prefix, off, w);
  const rem = prefix.length - full;
  const tail = new Uint8Array(128);
  tail.set(prefix.subarray(full));
  const startDigits = String(start);
  let digits = startDigits.length;
  for (let i = 0; i < digits; i++) tail[rem + i] = startDigits.charCodeAt(i);
  let tailLength = padTail(tail, rem + digits, prefix.length + digits);
  const shift = 32 - difficulty;
  const state = new Int32Array(8);
  const nonces: number[] = [];
  let found = 0;
  for (let k = 0; k < count; k++) {
    state.set(mid);
    compress(state, tail, 0, w);
    if (tailLength === 128) compress(state, tail, 64, w);
    if (state[0]! >>> shift === 0) {
      found++;
      if (nonces.length < maxListed) nonces.push(start + k);
    }
    let i = rem + digits - 1;
    while (i >= rem && tail[i] === 57) tail[i--] = 48;
    if (i >= rem) tail[i]!++;
    else {
      digits++;
      tail[rem] = 49;
      tail.fill(48, rem + 1, rem + digits);
      tailLength = padTail(tail, rem + digits, prefix.length + digits);
    }
  }
  return { found, nonces };
}

export function prefixBytes(prefix: string): Uint8Array {
  return new TextEncoder().encode(prefix);
}

export const sha256NonceKernel: Kernel<Sha256NonceParams, Sha256NonceUnit, Sha256NonceOutput, Sha256NonceResult> = {
  name: 'sha256-nonce',
  title: 'Hash search',
  description:
    'Finds the nonces whose SHA-256 of prefix + decimal nonce starts with at least the given number of zero bits.',
  paramsSchema: sha256NonceParamsSchema,
  outputSchema: sha256NonceOutputSchema,

  split(params, units) {
    const total = params.end - params.start;
    const minUnits = Math.ceil(total / MAX_UNIT_NONCES);
    const n = Math.max(minUnits, clampUnits(units, Math.min(MAX_UNITS, total)));
    const base = Math.floor(total / n);
    const extra = total - base * n;
    const out: Sha256NonceUnit[] = [];
    let start = params.start;
    for (let i = 0; i < n; i++) {
      const count = base + (i < extra ? 1 : 0);
      out.push({ prefix: params.prefix, difficulty: params.difficulty, start, count });
      start += count;
    }
    return out;
  },

  run(input) {
    const unit = sha256NonceUnitSchema.parse(input);
    const { found, nonces } = searchNonces(
      prefixBytes(unit.prefix),
      unit.difficulty,
      unit.start,
      unit.count,
      MAX_NONCES_PER_UNIT,
    );
    return { start: unit.start, hashes: unit.count, found, nonces };
  },

  canonical(output) {
    return `${output.start}:${output.hashes}:${output.found}:${output.nonces.join(',')}`;
  },

  /** Integer work only: no floating-point operations; CPU time by the compressions run. */
  cost(input) {
    const compressions = compressionsFor(prefixBytes(input.prefix).length, input.start, input.count);
    return { flop: 0, cpuUs: Math.ceil((compressions * REFERENCE_PS_PER_COMPRESSION) / 1e6) };
  },

  workingSetMb: () => 0,

  assemble(params, outputs) {
    let next = params.start;
    let found = 0;
    let listedAll = true;
    const nonces: number[] = [];
    for (const o of outputs) {
      if (o.start !== next) throw new KernelError(`unit output starts at ${o.start}, expected ${next}`);
      next += o.hashes;
      found += o.found;
      if (o.nonces.length < o.found) listedAll = false;
      for (const n of o.nonces) nonces.push(n);
    }
    if (next !== params.end) throw new KernelError(`unit outputs end at ${next}, expected ${params.end}`);
    nonces.sort((a, b) => a - b);
    const listed = nonces.slice(0, MAX_RESULT_NONCES);
    return {
      nonces: listed,
      found,
      hashes: params.end - params.start,
      truncated: !listedAll || listed.length < found,
    };
  },
};

