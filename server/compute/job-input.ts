import { z } from 'zod';
import { formatCredits, MAX_MICRO } from '../money';
import { orderCostFits } from '../market/order-input';
import { checkJson } from '../../workers/kernels/shared';
import { KERNEL_NAMES } from '../../workers/kernels/types';
import { jobResultsInput, jobSourceInput } from './placement-input';

export const MAX_UNITS = 1024;
export const MAX_PARAMS_BYTES = 512 * 1024;
export const MAX_DEADLINE_MS = 7 * 86_400_000;
/** How deep job parameters and unit results may nest (a custom kernel's inputs nest up to 64 inside them). */
export const MAX_JSON_DEPTH = 70;

// NUL and halves of surrogate pairs cannot be stored (PostgreSQL's jsonb refuses them)
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A character that may be unstorable (NUL or half of a surrogate pair): only then is a string looked at closely. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;
/** The longest JSON text of a finite number (`-1.2345678901234567e-308`). */
const MAX_NUMBER_BYTES = 24;

/**
 * An upper bound on a JSON value's size in bytes, in one cheap pass, or -1 when the value needs the exact
 * check (a number that is not finite, a string with a suspect character, nesting at the limit, something
 * that is not JSON): every string counted at 6 bytes a character (the longest escape), every number at
 * its longest text. A donor's result of a few KB is far under any bound, so this is all it costs; the
 * exact check (which measures each string's UTF-8 text) runs only when the bound comes close.
 */
function quickJsonBound(value: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const v = stack.pop();
    const depth = depths.pop()!;
    if (v === null || typeof v === 'boolean') bytes += 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return -1;
      bytes += MAX_NUMBER_BYTES;
    } else if (typeof v === 'string') {
      if (SUSPECT.test(v)) return -1;
      bytes += 6 * v.length + 2;
    } else if (Array.isArray(v)) {
      if (depth + 1 >= MAX_JSON_DEPTH) return -1;
      bytes += 2 + v.length;
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'number') {
          if (!Number.isFinite(child)) return -1;
          bytes += MAX_NUMBER_BYTES;
        } else {
          stack.push(child);
          depths.push(depth + 1);
        }
      }
    } else if (typeof v === 'object') {
      const proto: unknown = Object.getPrototypeOf(v);
      if ((proto !== Object.prototype && proto !== null) || depth + 1 >= MAX_JSON_DEPTH) return -1;
      for (const key of Object.keys(v)) {
        if (SUSPECT.test(key)) return -1;
        bytes += 6 * key.length + 4;
        stack.push((v as Record<string, unknown>)[key]);
        depths.push(depth + 1);
      }
      bytes += 2;
    } else return -1;
  }
  return bytes;
}

/** The first problem with a JSON value a job carries, at any depth, or null; iterative, so nesting cannot overflow the stack. */
export function jsonProblem(value: unknown, maxBytes: number): string | null {
  if (value === undefined) return 'it is missing';
  // most values are far under the bound and plain: one cheap pass says so
  const bound = quickJsonBound(value);
  if (bound >= 0 && bound <= maxBytes) return null;
  return exactJsonProblem(value, maxBytes);
}

/** `jsonProblem` measured exactly: every string's UTF-8 text, every character looked at. */
export function exactJsonProblem(value: unknown, maxBytes: number): string | null {
  if (value === undefined) return 'it is missing';
  const shape = checkJson(value, { maxBytes, maxDepth: MAX_JSON_DEPTH });
  if (shape) return shape;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (UNSTORABLE.test(node)) return 'text cannot contain the NUL character or broken (half) characters';
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (UNSTORABLE.test(key)) return 'text cannot contain the NUL character or broken (half) characters';
        stack.push(child);
      }
    }
  }
  return null;
}

/** A JSON value of at most `maxBytes`, bounded in depth, storable in either database. */
export const storableJson = (what: string, maxBytes: number) =>
  z.unknown().superRefine((value, ctx) => {
    const problem = jsonProblem(value, maxBytes);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what}: ${problem}.` });
  });

/** What a job can pay at most: price per unit × the replicas it holds for (units × (replication + 1)), with commission. */
export const jobCostFits = (units: number, replication: number, pricePerUnit: number) => orderCostFits(units * (replication + 1), pricePerUnit);
export const JOB_COST_MESSAGE = `A job can cost at most ${formatCredits(MAX_MICRO)} credits (price per unit × units × (replication + 1), with commission): lower the price or the units.`;

export const submitJobInput = z
  .object({
    communityId: z.string().min(1).max(64),
    kernel: z.enum(KERNEL_NAMES),
    title: z.string().trim().max(80).optional(),
    params: storableJson(`Job parameters (with any code, at most ${MAX_PARAMS_BYTES / 1024} KiB)`, MAX_PARAMS_BYTES),
    units: z.number().int('Units are a whole number.').min(1, 'A job needs at least one unit.').max(MAX_UNITS, `A job can have at most ${MAX_UNITS} units.`),
    replication: z.number().int().min(2, 'Replication must be at least 2, so that results can be compared.').max(5, 'Replication can be at most 5.'),
    quorum: z.number().int().min(2, 'A quorum is at least 2 agreeing results.').max(5),
    deadline: z.iso.datetime({ offset: true, message: 'The deadline must be an ISO 8601 time.' }),
    pricePerUnit: z.number().int('Prices are whole micro-credits.').min(0, 'The price cannot be negative.').max(MAX_MICRO, 'That price is too large.'),
    /** Kernels with a working set (the hash join): micro-credits per MB·hour of memory, paid for validated units. */
    memoryPrice: z.number().int('Prices are whole micro-credits.').positive('The memory price must be more than zero.').max(MAX_MICRO, 'That memory price is too large.').optional(),
    /**
     * A contract of the member's (as buyer) that the job spends: a COMPUTE contract (GFLOP, CPU seconds or
     * work units) pays its work units instead of a price per unit; a MEMORY contract pays its memory.
     */
    fundingContractId: z.string().min(1).max(64).optional(),
    /** a custom job's code and/or inputs from content items in the mesh (server/compute/placement.ts) */
    source: jobSourceInput.optional(),
    /** where the results go: kept for download, one of the owner's devices, a results URL */
    results: jobResultsInput.optional(),
  })
  .superRefine((j, ctx) => {
    if (j.pricePerUnit === 0 && !j.fundingContractId) ctx.addIssue({ code: 'custom', path: ['pricePerUnit'], message: 'The price must be more than zero (or pay from a compute contract).' });
    if (j.quorum > j.replication) ctx.addIssue({ code: 'custom', path: ['quorum'], message: 'The quorum cannot be larger than the replication.' });
    if (!jobCostFits(j.units, j.replication, j.pricePerUnit)) ctx.addIssue({ code: 'custom', path: ['pricePerUnit'], message: JOB_COST_MESSAGE });
  });

export type SubmitJobInput = z.infer<typeof submitJobInput>;
