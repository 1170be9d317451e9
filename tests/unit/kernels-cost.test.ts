import { describe, expect, it } from 'vitest';
import { KERNELS, KERNEL_NAMES, type AnyKernel } from '@/workers/kernels';
import { buildRow, hashJoinKernel, mix32, partitionShape, probeRow, REFERENCE_PS_PER_STEP, SLOTS_PER_MB, type HashJoinParams, type HashJoinUnit } from '@/workers/kernels/hash-join';
import { mandelbrotKernel, REFERENCE_PS_PER_FLOP, type MandelbrotUnit } from '@/workers/kernels/mandelbrot';
import { montecarloPiKernel } from '@/workers/kernels/montecarlo-pi';
import { primeSieveKernel } from '@/workers/kernels/prime-sieve';
import { sha256NonceKernel } from '@/workers/kernels/sha256-nonce';
import type { Json } from '@/workers/kernels/types';

/** Mandelbrot's tile with every floating-point operation counted as it runs (the kernel counts from the output). */
function countedTile(u: MandelbrotUnit): number {
  let flop = 0;
  const op = <T>(v: T) => (flop++, v);
  const step = op(u.scale / u.width);
  const halfW = op(u.width * 0.5);
  const halfH = op(u.height * 0.5);
  for (let j = 0; j < u.h; j++) {
    const ci = op(u.centerY - op(op(op(u.y + j) - halfH) * step));
    for (let i = 0; i < u.w; i++) {
      const cr = op(u.centerX + op(op(op(u.x + i) - halfW) * step));
      let zr = 0;
      let zi = 0;
      let n = 0;
      while (n < u.maxIterations) {
        const zr2 = op(zr * zr);
        const zi2 = op(zi * zi);
        if (op(zr2 + zi2) > 4) break;
        const t = op(zr * zi);
        zi = op(op(t + t) + ci);
        zr = op(op(zr2 - zi2) + cr);
        n++;
      }
    }
  }
  return flop;
}

/** SHA-256 compressions for each message prefix + decimal(n), one by one: padded blocks less the prefix's whole blocks. */
function countedCompressions(prefixLength: number, start: number, count: number): number {
  let total = Math.floor(prefixLength / 64);
  for (let n = start; n < start + count; n++) {
    const length = prefixLength + String(n).length;
    total += Math.ceil((length + 9) / 64) - Math.floor(prefixLength / 64);
  }
  return total;
}

/** The join of the whole generated tables with a plain Map (no hash table of ours): the reference result. */
function referenceJoin(params: HashJoinParams, partitions: number) {
  const { buildRows, probeRows, keySpace } = partitionShape(params.workingSetMb, params.probePerBuild);
  const build = new Map<number, number>();
  for (let p = 0; p < partitions; p++) {
    for (let j = 0; j < buildRows; j++) {
      const row = buildRow({ seed: params.seed, partition: p }, keySpace, j);
      const key = row.r * partitions + p;
      expect(build.has(key)).toBe(false); // dimension keys are unique
      build.set(key, row.payload);
    }
  }
  let matches = 0;
  let checksum = 0;
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < probeRows; i++) {
      const row = probeRow({ seed: params.seed, partition: p }, keySpace, i);
      const payload = build.get(row.r * partitions + p);
      if (payload === undefined) continue;
      matches++;
      checksum = (checksum + ((payload ^ row.payload) >>> 0)) >>> 0;
    }
  }
  return { matches, checksum, buildRows: buildRows * partitions, probeRows: probeRows * partitions, partitions };
}

/** Hash-table slots a linear-probing join visits, counted by a separate plain implementation. */
function countedSteps(u: HashJoinUnit): number {
  const { slots, buildRows, probeRows, keySpace } = partitionShape(u.workingSetMb, u.probePerBuild);
  const keys: (number | undefined)[] = new Array(slots);
  let steps = 0;
  const home = (r: number) => mix32(r) % slots;
  for (let j = 0; j < buildRows; j++) {
    const { r } = buildRow(u, keySpace, j);
    for (let s = home(r); ; s = (s + 1) % slots) {
      steps++;
      if (keys[s] === undefined) {
        keys[s] = r;
        break;
      }
    }
  }
  for (let i = 0; i < probeRows; i++) {
    const { r } = probeRow(u, keySpace, i);
    for (let s = home(r); ; s = (s + 1) % slots) {
      steps++;
      if (keys[s] === undefined || keys[s] === r) break;
    }
  }
  return steps;
}

function runJob(kernel: AnyKernel, params: unknown, units: number) {
  const parsed = kernel.paramsSchema.parse(params);
  const inputs = kernel.split(parsed, units);
  const outputs = inputs.map((u) => kernel.outputSchema.parse(JSON.parse(JSON.stringify(kernel.run(u)))) as Json);
  return { inputs, outputs, result: kernel.assemble(parsed, outputs) };
}

describe('kernel costs are counted', () => {
  it('every kernel states a cost and a working set', () => {
    for (const name of KERNEL_NAMES) {
      const kernel: AnyKernel = KERNELS[name];
      expect(typeof kernel.cost).toBe('function');
      expect(typeof kernel.workingSetMb).toBe('function');
    }
  });

  it("Mandelbrot's FLOP count equals the operations an instrumented render executes, tile by tile", () => {
    const params = { width: 96, height: 64, maxIterations: 300, view: { centerX: -0.75, centerY: 0.1, scale: 2.5 } };
    const { inputs, outputs } = runJob(mandelbrotKernel as unknown as AnyKernel, params, 6);
    let total = 0;
    for (const [i, input] of inputs.entries()) {
      const cost = mandelbrotKernel.cost(input as MandelbrotUnit, outputs[i] as never);
      expect(cost.flop).toBe(countedTile(input as MandelbrotUnit));
      expect(cost.cpuUs).toBe(Math.ceil((cost.flop * REFERENCE_PS_PER_FLOP) / 1e6));
      total += cost.flop;
    }
    expect(total).toBeGreaterThan(96 * 64 * 8);
  });

  it('Monte Carlo counts 3 FLOP per sample (x·x + y·y)', () => {
    const unit = { seed: 5, offset: 100, count: 4096 };
    const out = montecarloPiKernel.run(unit);
    expect(montecarloPiKernel.cost(unit, out).flop).toBe(3 * 4096);
  });

  it('the hash search counts its SHA-256 compressions, across digit lengths and two-block tails', () => {
    for (const [prefix, start, count] of [['x', 0, 2000], ['a'.repeat(50), 95, 20], ['b'.repeat(64), 999_990, 30], ['c'.repeat(54), 9, 3]] as const) {
      const unit = { prefix, difficulty: 4, start, count };
      const cost = sha256NonceKernel.cost(unit, sha256NonceKernel.run(unit));
      expect(cost.flop).toBe(0);
      expect(cost.cpuUs).toBe(Math.ceil((countedCompressions(prefix.length, start, count) * 580_000) / 1e6));
    }
  });

  it('the sieve does integer work only: no FLOP, CPU time by the integers sieved', () => {
    const unit = { lo: 0, hi: 1 << 16, segmentSize: 1 << 12 };
    const cost = primeSieveKernel.cost(unit, primeSieveKernel.run(unit));
    expect(cost).toEqual({ flop: 0, cpuUs: Math.ceil(((1 << 16) * 3_500) / 1e6) });
  });
});

describe('hash join (the memory-bound kernel)', () => {
  it('gives the reference join of the generated tables, for several partitionings', () => {
    for (const [params, units] of [[{ seed: 42, workingSetMb: 1, probePerBuild: 2 }, 3], [{ seed: 0xdead_beef, workingSetMb: 1, probePerBuild: 1 }, 2]] as const) {
      const { result } = runJob(hashJoinKernel as unknown as AnyKernel, params, units);
      const reference = referenceJoin(hashJoinKernel.paramsSchema.parse(params), units);
      expect(result).toEqual(reference);
      // about one fact row in four finds its dimension row (keys drawn from four times the build keys)
      expect(reference.matches / reference.probeRows).toBeGreaterThan(0.2);
      expect(reference.matches / reference.probeRows).toBeLessThan(0.3);
    }
  });

  it('fills its working set: the rows per partition follow from the declared MB, at half the slots', () => {
    const unit = { seed: 3, partition: 1, partitions: 2, workingSetMb: 2, probePerBuild: 2 };
    const out = hashJoinKernel.run(unit);
    expect(out.buildRows).toBe((2 * SLOTS_PER_MB) / 2);
    expect(out.probeRows).toBe(2 * out.buildRows);
    expect(hashJoinKernel.workingSetMb(hashJoinKernel.paramsSchema.parse({ seed: 3, workingSetMb: 2 }))).toBe(2);
  });

  it('counts the hash-table slots it visits exactly as a separate linear-probing join does', () => {
    const unit = { seed: 77, partition: 0, partitions: 1, workingSetMb: 1, probePerBuild: 2 };
    const out = hashJoinKernel.run(unit);
    expect(out.steps).toBe(countedSteps(unit));
    expect(hashJoinKernel.cost(unit, out)).toEqual({ flop: 0, cpuUs: Math.ceil((out.steps * REFERENCE_PS_PER_STEP) / 1e6) });
  });

  it('refuses outputs whose counts do not hold together, and assembles partitions only in order', () => {
    const unit = { seed: 1, partition: 0, partitions: 2, workingSetMb: 1, probePerBuild: 1 };
    const out = hashJoinKernel.run(unit);
    expect(hashJoinKernel.outputSchema.safeParse({ ...out, matches: out.probeRows + 1 }).success).toBe(false);
    expect(hashJoinKernel.outputSchema.safeParse({ ...out, steps: 1 }).success).toBe(false);
    const second = hashJoinKernel.run({ ...unit, partition: 1 });
    const params = hashJoinKernel.paramsSchema.parse({ seed: 1, workingSetMb: 1, probePerBuild: 1 });
    expect(() => hashJoinKernel.assemble(params, [second, out])).toThrow(/partition 1, expected 0/);
  });
});
