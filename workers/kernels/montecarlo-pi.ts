/**
 * Monte Carlo estimate of pi: the share of random points of the unit square that fall inside the
 * quarter disc, times 4.
 *
 * Sample i (0-based, over the whole job) is SplitMix64's output for the 64-bit counter
 * seed + (i + 1) * 0x9E3779B97F4A7C15, so any unit can start at any offset. Its high 32 bits give
 * x, its low 32 bits give y, each keeping its top 26 bits; the point is inside when
 * x^2 + y^2 < 2^52, an integer comparison that is exact in doubles. The 64-bit arithmetic is done
 * on 32-bit halves, so JavaScript is exact; the WebAssembly build uses native i64 and agrees bit
 * for bit.
 */
import { z } from 'zod';
import { KernelError, clampUnits } from './shared';
import type { Kernel } from './types';

export const MAX_SAMPLES = 2 ** 32;
/** At most this many samples per unit (about 0.4 s of JavaScript on a laptop core). */
export const MAX_UNIT_SAMPLES = 2 ** 24;
export const MAX_UNITS = 10_000;

const seed = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const montecarloPiParamsSchema = z.strictObject({
  samples: z.int().min(1).max(MAX_SAMPLES),
  seed,
});
export type MontecarloPiParams = z.infer<typeof montecarloPiParamsSchema>;

export const montecarloPiUnitSchema = z
  .strictObject({
    seed,
    /** Index of the unit's first sample in the job. */
    offset: z.int().min(0).max(MAX_SAMPLES - 1),
    count: z.int().min(1).max(MAX_UNIT_SAMPLES),
  })
  .refine((u) => u.offset + u.count <= MAX_SAMPLES, { message: `samples beyond ${MAX_SAMPLES}` });
export type MontecarloPiUnit = z.infer<typeof montecarloPiUnitSchema>;

export const montecarloPiOutputSchema = z
  .strictObject({
    count: z.int().min(1).max(MAX_UNIT_SAMPLES),
    hits: z.int().min(0).max(MAX_UNIT_SAMPLES),
  })
  .refine((o) => o.hits <= o.count, { message: 'more hits than samples' });
export type MontecarloPiOutput = z.infer<typeof montecarloPiOutputSchema>;

export type MontecarloPiResult = { estimate: number; samples: number; hits: number };

/** Floating-point operations per sample: x·x + y·y (two products and a sum, in doubles). */
export const FLOP_PER_SAMPLE = 3;
/** Reference CPU time per sample, picoseconds (the JavaScript reference on one reference core). */
export const REFERENCE_PS_PER_SAMPLE = 20_000;

const GAMMA_HI = 0x9e3779b9;
const GAMMA_LO = 0x7f4a7c15;
const M1_HI = 0xbf58476d;
const M1_LO = 0x1ce4e5b9;
const M2_HI = 0x94d049bb;
const M2_LO = 0x133111eb;
const TWO_32 = 0x1_0000_0000;
const R2 = 2 ** 52;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers (int32 representation). */
function mulHigh(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** The 64-bit counter seed + n * gamma (mod 2^64) as [hi, lo] uint32. */
export function counterAt(seedValue: number, n: number): [number, number] {
  const nh = Math.floor(n / TWO_32);
  const nl = n >>> 0;
  const ph = (mulHigh(nl, GAMMA_LO) + Math.imul(nh, GAMMA_LO) + Math.imul(nl, GAMMA_HI)) >>> 0;
  const pl = Math.imul(nl, GAMMA_LO) >>> 0;
  const sh = Math.floor(seedValue / TWO_32) >>> 0;
  const sl = seedValue >>> 0;
  const lo = (pl + sl) >>> 0;
  const hi = (ph + sh + (lo < sl ? 1 : 0)) >>> 0;
  return [hi, lo];
}

/** SplitMix64's mix of a 64-bit value, as [hi, lo] uint32 (exposed for tests). */
export function splitmix64Mix(hi: number, lo: number): [number, number] {
  let zh = hi | 0;
  let zl = lo | 0;
  // z ^= z >>> 30; z *= M1
  zl ^= (zl >>> 30) | (zh << 2);
  zh ^= zh >>> 30;
  let th = (mulHigh(zl, M1_LO) + Math.imul(zh, M1_LO) + Math.imul(zl, M1_HI)) | 0;
  zl = Math.imul(zl, M1_LO);
  zh = th;
  // z ^= z >>> 27; z *= M2
  zl ^= (zl >>> 27) | (zh << 5);
  zh ^= zh >>> 27;
  th = (mulHigh(zl, M2_LO) + Math.imul(zh, M2_LO) + Math.imul(zl, M2_HI)) | 0;
  zl = Math.imul(zl, M2_LO);
  zh = th;
  // z ^= z >>> 31
  zl ^= (zl >>> 31) | (zh << 1);
  zh ^= zh >>> 31;
  return [zh >>> 0, zl >>> 0];
}

/** The reference: hits among samples [offset, offset + count) of the stream for `seed`. */
export function countHits(seedValue: number, offset: number, count: number): number {
  let [sh, sl] = counterAt(seedValue, offset);
  let hits = 0;
  for (let k = 0; k < count; k++) {
    sl = (sl + GAMMA_LO) >>> 0;
    sh = (sh + GAMMA_HI + (sl < GAMMA_LO ? 1 : 0)) >>> 0;
    let zh = sh | 0;
    let zl = sl | 0;
    zl ^= (zl >>> 30) | (zh << 2);
    zh ^= zh >>> 30;
    let th = (mulHigh(zl, M1_LO) + Math.imul(zh, M1_LO) + Math.imul(zl, M1_HI)) | 0;
    zl = Math.imul(zl, M1_LO);
    zh = th;
    zl ^= (zl >>> 27) | (zh << 5);
    zh ^= zh >>> 27;
    th = (mulHigh(zl, M2_LO) + Math.imul(zh, M2_LO) + Math.imul(zl, M2_HI)) | 0;
    zl = Math.imul(zl, M2_LO);
    zh = th;
    zl ^= (zl >>> 31) | (zh << 1);
    zh ^= zh >>> 31;
    const x = zh >>> 6;
    const y = zl >>> 6;
    if (x * x + y * y < R2) hits++;
  }
  return hits;
}

export const montecarloPiKernel: Kernel<MontecarloPiParams, MontecarloPiUnit, MontecarloPiOutput, MontecarloPiResult> =
  {
    name: 'montecarlo-pi',
    title: 'Monte Carlo pi',
    description: 'Estimates pi from seeded random points in the unit square.',
    paramsSchema: montecarloPiParamsSchema,
    outputSchema: montecarloPiOutputSchema,

    split(params, units) {
      const minUnits = Math.ceil(params.samples / MAX_UNIT_SAMPLES);
      const n = Math.max(minUnits, clampUnits(units, Math.min(MAX_UNITS, params.samples)));
      const base = Math.floor(params.samples / n);
      const extra = params.samples - base * n;
      const out: MontecarloPiUnit[] = [];
      let offset = 0;
      for (let i = 0; i < n; i++) {
        const count = base + (i < extra ? 1 : 0);
        out.push({ seed: params.seed, offset, count });
        offset += count;
      }
      return out;
    },

    run(input) {
      const unit = montecarloPiUnitSchema.parse(input);
      return { count: unit.count, hits: countHits(unit.seed, unit.offset, unit.count) };
    },

    canonical(o) {
      return `${o.count}:${o.hits}`;
    },

    cost(input) {
      return { flop: FLOP_PER_SAMPLE * input.count, cpuUs: Math.ceil((input.count * REFERENCE_PS_PER_SAMPLE) / 1e6) };
    },

    workingSetMb: () => 0,

    assemble(params, outputs) {
      let samples = 0;
      let hits = 0;
      for (const o of outputs) {
        samples += o.count;
        hits += o.hits;
      }
      if (samples !== params.samples) throw new KernelError(`outputs cover ${samples} of ${params.samples} samples`);
      return { estimate: (4 * hits) / samples, samples, hits };
    },
  };
