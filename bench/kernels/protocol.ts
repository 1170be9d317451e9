/** Messages between the bench page and its kernel workers (bench/kernels.mjs). */
import { z } from 'zod';
import type { Json } from '../../workers/kernels/types';
import { WASM_KERNEL_NAMES } from '../../workers/kernels/wasm';

export const workerRequestSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('run'),
    id: z.int(),
    kernel: z.enum(WASM_KERNEL_NAMES),
    impl: z.enum(['js', 'wasm', 'wasm-scalar']),
    units: z.array(z.json()),
  }),
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

export type WorkerReply =
  | { type: 'ready'; failed: Record<string, string>; speedups: Record<string, number>; simd: boolean }
  | { type: 'done'; id: number; outputs: Json[]; ms: number }
  | { type: 'error'; id: number; message: string };

export const workerReplySchema: z.ZodType<WorkerReply> = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    failed: z.record(z.string(), z.string()),
    speedups: z.record(z.string(), z.number()),
    simd: z.boolean(),
  }),
  z.object({ type: z.literal('done'), id: z.int(), outputs: z.array(z.json()), ms: z.number() }),
  z.object({ type: z.literal('error'), id: z.int(), message: z.string() }),
]);
