/**
 * The member's own code, run once per input.
 *
 * This module only describes the job: bounds on the code and inputs, one unit per input, how
 * outputs compare and assemble. It never runs member code: `run` throws, because custom code
 * executes only in the sandboxed worker (built separately), never in the coordinator or in the
 * kernel worker. A unit names the code by its SHA-256 instead of carrying it (10,000 units x 64 KiB
 * would be 640 MB of copies): whoever hands a unit to the sandbox also hands over the job's `code`,
 * and the sandbox checks it against `codeSha256` before running it.
 */
import { z } from 'zod';
import { sha256Hex } from './sha256';
import { KernelError, boundedJsonSchema, checkJson, stableStringify, utf8Length } from './shared';
import type { Json, Kernel } from './types';

export const MAX_CODE_BYTES = 64 * 1024;
export const MAX_INPUTS = 10_000;
/** Bounds on one input. */
export const MAX_INPUT_BYTES = 64 * 1024;
/** Bound on all inputs together (their JSON text). */
export const MAX_TOTAL_INPUT_BYTES = 4 * 1024 * 1024;
/** Bounds on one unit's output. */
export const MAX_OUTPUT_BYTES = 64 * 1024;
export const MAX_JSON_DEPTH = 64;

const inputSchema = boundedJsonSchema({ maxBytes: MAX_INPUT_BYTES, maxDepth: MAX_JSON_DEPTH });

export const customParamsSchema = z
  .strictObject({
    code: z
      .string()
      .min(1)
      .refine((code) => utf8Length(code) <= MAX_CODE_BYTES, { message: `code is over ${MAX_CODE_BYTES} bytes` }),
    inputs: z.array(inputSchema).min(1).max(MAX_INPUTS),
  })
  .superRefine((params, ctx) => {
    const problem = checkJson(params.inputs, { maxBytes: MAX_TOTAL_INPUT_BYTES, maxDepth: MAX_JSON_DEPTH + 1 });
    if (problem) ctx.addIssue({ code: 'custom', path: ['inputs'], message: `inputs: ${problem}` });
  });
export type CustomParams = z.infer<typeof customParamsSchema>;

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/);

export const customUnitSchema = z.strictObject({
  /** SHA-256 (hex) of the job's code, which travels separately. */
  codeSha256: sha256HexSchema,
  /** Position of the input in the job. */
  index: z.int().min(0).max(MAX_INPUTS - 1),
  input: inputSchema,
});
export type CustomUnit = z.infer<typeof customUnitSchema>;

export const customOutputSchema: z.ZodType<Json> = boundedJsonSchema({
  maxBytes: MAX_OUTPUT_BYTES,
  maxDepth: MAX_JSON_DEPTH,
});

/** The hash units carry to name the job's code. */
export function customCodeHash(code: string): string {
  return sha256Hex(code);
}

export const customKernel: Kernel<CustomParams, CustomUnit, Json, Json[]> = {
  name: 'custom',
  title: 'Custom code',
  description: "Runs the member's own code on each input, in a sandboxed worker.",
  paramsSchema: customParamsSchema,
  outputSchema: customOutputSchema,

  split(params) {
    const codeSha256 = customCodeHash(params.code);
    return params.inputs.map((input, index) => ({ codeSha256, index, input }));
  },

  run() {
    throw new KernelError('custom code runs only in the sandboxed worker, not through the kernel catalog');
  },

  canonical(output) {
    return stableStringify(output);
  },

  /** Members' code is not counted: a custom job pays by work unit only (no GFLOP, CPU-second or memory terms). */
  cost: () => ({ flop: 0, cpuUs: 0 }),

  workingSetMb: () => 0,

  assemble(params, outputs) {
    if (outputs.length !== params.inputs.length) {
      throw new KernelError(`${outputs.length} outputs for ${params.inputs.length} inputs`);
    }
    return outputs;
  },
};
