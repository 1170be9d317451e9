/**
 * Hash join of two seeded tables, partition by partition (a Grace hash join): the memory-bound kernel.
 *
 * The dataset: a dimension table ("build", unique keys) and a fact table ("probe", `probePerBuild`
 * rows per build row, keys drawn at random so that about one in four finds a partner), both generated
 * from the job's seed, so any unit can make its own partition without downloading anything. A row's
 * key is `r · partitions + partition`: partition p holds the keys ≡ p (mod partitions), and the join
 * of the whole tables is the union of the partitions' joins.
 *
 * A unit builds an open-addressing hash table of its partition's build rows in exactly its working set
 * (`workingSetMb` MB: slots of key + payload, 8 bytes, half of them filled), then probes it with the
 * partition's fact rows. It reports the joined rows, a checksum of their payloads and the hash-table
 * slots it visited (`steps`, counted as it goes: the unit's CPU time is counted from them).
 *
 * The result is the row count and payload checksum of `build ⋈ probe ON key`, which the tests check
 * against a plain join of the generated tables.
 */
import { z } from 'zod';
import { KernelError, clampUnits } from './shared';
import type { Kernel, UnitCost } from './types';

export const MIN_WORKING_SET_MB = 1;
export const MAX_WORKING_SET_MB = 1024;
export const MAX_PARTITIONS = 256;
export const MAX_PROBE_PER_BUILD = 8;
/** Hash-table slots per MB: 8 bytes each (key + 1, payload; key 0 marks an empty slot). */
export const SLOTS_PER_MB = (1 << 20) / 8;
/** Reference CPU time per hash-table slot visited, picoseconds (the JavaScript reference on one reference core). */
export const REFERENCE_PS_PER_STEP = 136_000;

const seed = z.int().min(0).max(0xffff_ffff);
const workingSet = z.int().min(MIN_WORKING_SET_MB).max(MAX_WORKING_SET_MB);
const probePerBuild = z.int().min(1).max(MAX_PROBE_PER_BUILD);

export const hashJoinParamsSchema = z.strictObject({
  seed,
  /** MB each unit's hash table takes: the build rows per partition follow from it (65,536 per MB). */
  workingSetMb: workingSet,
  /** Fact rows per dimension row. */
  probePerBuild: probePerBuild.default(2),
});
export type HashJoinParams = z.infer<typeof hashJoinParamsSchema>;

export const hashJoinUnitSchema = z
  .strictObject({
    seed,
    partition: z.int().min(0).max(MAX_PARTITIONS - 1),
    partitions: z.int().min(1).max(MAX_PARTITIONS),
    workingSetMb: workingSet,
    probePerBuild,
  })
  .refine((u) => u.partition < u.partitions, { message: 'partition outside the partitions' });
export type HashJoinUnit = z.infer<typeof hashJoinUnitSchema>;

const MAX_ROWS = MAX_WORKING_SET_MB * (SLOTS_PER_MB / 2) * MAX_PROBE_PER_BUILD;

export const hashJoinOutputSchema = z
  .strictObject({
    partition: z.int().min(0).max(MAX_PARTITIONS - 1),
    buildRows: z.int().min(1).max(MAX_ROWS),
    probeRows: z.int().min(1).max(MAX_ROWS),
    matches: z.int().min(0).max(MAX_ROWS),
    /** Sum over joined rows of (build payload XOR probe payload), mod 2^32. */
    checksum: z.int().min(0).max(0xffff_ffff),
    /** Hash-table slots visited while building and probing. */
    steps: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  })
  .refine((o) => o.matches <= o.probeRows && o.steps >= o.buildRows + o.probeRows, { message: 'inconsistent counts' });
export type HashJoinOutput = z.infer<typeof hashJoinOutputSchema>;

export type HashJoinResult = {
  /** Rows of build ⋈ probe. */
  matches: number;
  /** Sum over them of (build payload XOR probe payload), mod 2^32. */
  checksum: number;
  buildRows: number;
  probeRows: number;
  partitions: number;
};

/** A 32-bit mix (the finalizer of MurmurHash3) of a 32-bit value: the tables' random numbers. */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The `i`-th random number of stream `stream` of partition `partition` for `seed`. */
export function draw(seedValue: number, stream: number, partition: number, i: number): number {
  return mix32(mix32(mix32(seedValue ^ Math.imul(stream, 0x9e37_79b9)) ^ Math.imul(partition + 1, 0x7f4a_7c15)) ^ i);
}

/** Rows and key range of one partition. */
export function partitionShape(workingSetMb: number, probePerBuild: number) {
  const slots = workingSetMb * SLOTS_PER_MB;
  const buildRows = slots / 2;
  // partition-local keys r lie in [0, keySpace), a power of two at least 4 × buildRows
  let keyBits = 0;
  while (2 ** keyBits < 4 * buildRows) keyBits++;
  return { slots, buildRows, probeRows: buildRows * probePerBuild, keySpace: 2 ** keyBits };
}

/**
 * The build (dimension) rows of a partition: row j has the partition-local key
 * (j·a + b) mod keySpace, which is one-to-one for odd a, so keys are unique; its payload is a draw.
 */
export function buildRow(u: Pick<HashJoinUnit, 'seed' | 'partition'>, keySpace: number, j: number): { r: number; payload: number } {
  const a = draw(u.seed, 1, u.partition, 0) | 1;
  const b = draw(u.seed, 1, u.partition, 1);
  return { r: ((Math.imul(j, a) + b) >>> 0) & (keySpace - 1), payload: draw(u.seed, 2, u.partition, j) };
}

/** The probe (fact) rows of a partition: row i has a random partition-local key and a payload. */
export function probeRow(u: Pick<HashJoinUnit, 'seed' | 'partition'>, keySpace: number, i: number): { r: number; payload: number } {
  return { r: draw(u.seed, 3, u.partition, i) & (keySpace - 1), payload: draw(u.seed, 4, u.partition, i) };
}

/** The reference join of one partition in a hash table of exactly `workingSetMb` MB. */
export function joinPartition(u: HashJoinUnit): HashJoinOutput {
  const { slots, buildRows, probeRows, keySpace } = partitionShape(u.workingSetMb, u.probePerBuild);
  // the working set: slot s holds key + 1 at 2s (0: empty) and the payload at 2s + 1
  let table: Uint32Array;
  try {
    table = new Uint32Array(2 * slots);
  } catch {
    throw new KernelError(`this device could not allocate the unit's ${u.workingSetMb} MB working set`);
  }
  const a = draw(u.seed, 1, u.partition, 0) | 1;
  const b = draw(u.seed, 1, u.partition, 1);
  const mask = keySpace - 1;
  let steps = 0;
  for (let j = 0; j < buildRows; j++) {
    const r = ((Math.imul(j, a) + b) >>> 0) & mask;
    let s = mix32(r) % slots;
    steps++;
    while (table[2 * s] !== 0) {
      s = s + 1 === slots ? 0 : s + 1;
      steps++;
    }
    table[2 * s] = r + 1;
    table[2 * s + 1] = draw(u.seed, 2, u.partition, j);
  }
  let matches = 0;
  let checksum = 0;
  for (let i = 0; i < probeRows; i++) {
    const key = (draw(u.seed, 3, u.partition, i) & mask) + 1;
    let s = mix32(key - 1) % slots;
    steps++;
    for (;;) {
      const k = table[2 * s]!;
      if (k === key) {
        matches++;
        checksum = (checksum + ((table[2 * s + 1]! ^ draw(u.seed, 4, u.partition, i)) >>> 0)) >>> 0;
        break;
      }
      if (k === 0) break;
      s = s + 1 === slots ? 0 : s + 1;
      steps++;
    }
  }
  return { partition: u.partition, buildRows, probeRows, matches, checksum, steps };
}

export const hashJoinKernel: Kernel<HashJoinParams, HashJoinUnit, HashJoinOutput, HashJoinResult> = {
  name: 'hash-join',
  title: 'Hash join',
  description: 'Joins a seeded fact table with its dimension table on their key, one partition per unit, each in a hash table of the declared working set.',
  paramsSchema: hashJoinParamsSchema,
  outputSchema: hashJoinOutputSchema,

  split(params, units) {
    const partitions = clampUnits(units, MAX_PARTITIONS);
    return Array.from({ length: partitions }, (_, partition) => ({
      seed: params.seed,
      partition,
      partitions,
      workingSetMb: params.workingSetMb,
      probePerBuild: params.probePerBuild,
    }));
  },

  run(input) {
    return joinPartition(hashJoinUnitSchema.parse(input));
  },

  canonical(o) {
    return `${o.partition}:${o.buildRows}:${o.probeRows}:${o.matches}:${o.checksum}:${o.steps}`;
  },

  /** Integer work only: no floating-point operations; CPU time by the slots visited, as the unit counted them. */
  cost(_input, output): UnitCost {
    return { flop: 0, cpuUs: Math.ceil((output.steps * REFERENCE_PS_PER_STEP) / 1e6) };
  },

  workingSetMb: (params) => params.workingSetMb,

  /** Four slot visits per row: twice what a half-full table with linear probing averages (about 1.5 per insert, 2.5 per miss). */
  maxCpuUs(input) {
    const { buildRows, probeRows } = partitionShape(input.workingSetMb, input.probePerBuild);
    return Math.ceil((4 * (buildRows + probeRows) * REFERENCE_PS_PER_STEP) / 1e6);
  },

  assemble(params, outputs) {
    let matches = 0;
    let checksum = 0;
    let buildRows = 0;
    let probeRows = 0;
    const { buildRows: perBuild, probeRows: perProbe } = partitionShape(params.workingSetMb, params.probePerBuild);
    for (const [i, o] of outputs.entries()) {
      if (o.partition !== i) throw new KernelError(`unit output is partition ${o.partition}, expected ${i}`);
      if (o.buildRows !== perBuild || o.probeRows !== perProbe) throw new KernelError(`partition ${i} has the wrong number of rows`);
      matches += o.matches;
      checksum = (checksum + o.checksum) >>> 0;
      buildRows += o.buildRows;
      probeRows += o.probeRows;
    }
    if (outputs.length === 0) throw new KernelError('no partitions');
    return { matches, checksum, buildRows, probeRows, partitions: outputs.length };
  },
};
