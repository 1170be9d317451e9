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

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A content item in the mesh that holds the job's code (a JavaScript module) or its inputs (a JSON array):
 * the coordinator never holds its bytes, only its id and the SHA-256 donors must find before running.
 */
export const sourceItemSchema = z.strictObject({ itemId: z.string().min(1).max(64), sha256: sha256HexSchema });
export type SourceItem = z.infer<typeof sourceItemSchema>;

/**
 * Inline (`code` and `inputs`, as before) or from the mesh: `codeItem` instead of `code`, and `dataItem`
 * with `count` (how many inputs its JSON array holds: one unit each) instead of `inputs`.
 */
export const customParamsSchema = z
  .strictObject({
    code: z
      .string()
      .min(1)
      .refine((code) => utf8Length(code) <= MAX_CODE_BYTES, { message: `code is over ${MAX_CODE_BYTES} bytes` })
      .optional(),
    inputs: z.array(inputSchema).min(1).max(MAX_INPUTS).optional(),
    codeItem: sourceItemSchema.optional(),
    dataItem: sourceItemSchema.optional(),
    count: z.int().min(1).max(MAX_INPUTS).optional(),
  })
  .superRefine((params, ctx) => {
    if ((params.code === undefined) === (params.codeItem === undefined)) ctx.addIssue({ code: 'custom', path: ['code'], message: 'give the code inline or as a content item, not both' });
    if ((params.inputs === undefined) === (params.dataItem === undefined)) ctx.addIssue({ code: 'custom', path: ['inputs'], message: 'give the inputs inline or as a content item, not both' });
    if (params.dataItem !== undefined && params.count === undefined) ctx.addIssue({ code: 'custom', path: ['count'], message: 'say how many inputs the data item holds' });
    if (params.inputs !== undefined && params.count !== undefined) ctx.addIssue({ code: 'custom', path: ['count'], message: 'count goes only with a data item' });
    if (params.inputs === undefined) return;
    const problem = checkJson(params.inputs, { maxBytes: MAX_TOTAL_INPUT_BYTES, maxDepth: MAX_JSON_DEPTH + 1 });
    if (problem) ctx.addIssue({ code: 'custom', path: ['inputs'], message: `inputs: ${problem}` });
  });
export type CustomParams = z.infer<typeof customParamsSchema>;

export const customUnitSchema = z.strictObject({
  /** SHA-256 (hex) of the job's code, which travels separately. */
  codeSha256: sha256HexSchema,
  /** Position of the input in the job. */
  index: z.int().min(0).max(MAX_INPUTS - 1),
  /** the input; null when it is element `index` of the data item's JSON array */
  input: inputSchema,
  /** where a donor fetches what the unit does not carry (peer to peer), checking each item's SHA-256 first */
  source: z.strictObject({ codeItem: sourceItemSchema.optional(), dataItem: sourceItemSchema.optional() }).optional(),
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
    const codeSha256 = params.codeItem ? params.codeItem.sha256 : customCodeHash(params.code ?? '');
    const source = params.codeItem || params.dataItem ? { source: { ...(params.codeItem ? { codeItem: params.codeItem } : {}), ...(params.dataItem ? { dataItem: params.dataItem } : {}) } } : {};
    if (params.inputs) return params.inputs.map((input, index) => ({ codeSha256, index, input, ...source }));
    return Array.from({ length: params.count ?? 0 }, (_, index) => ({ codeSha256, index, input: null, ...source }));
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
    const expected = params.inputs ? params.inputs.length : (params.count ?? 0);
    if (outputs.length !== expected) {
      throw new KernelError(`${outputs.length} outputs for ${expected} inputs`);
    }
    return outputs;
  },
};
