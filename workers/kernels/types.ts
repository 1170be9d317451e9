/**
 * The compute kernel contract, shared by the coordinator (which splits jobs into work units, validates
 * replicas by the canonical hash of their outputs and assembles results) and by donors (which run units
 * in Web Workers or Node worker threads). Everything here is plain data and pure functions: no DOM, no
 * Node APIs, so the same module loads in a worker, in the browser and on the server.
 */
import type { z } from 'zod';

export const KERNEL_NAMES = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve', 'custom'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/** A JSON value: what unit inputs and outputs are made of (they travel as plain JSON). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Kernel<Params, UnitInput extends Json, UnitOutput extends Json, Result extends Json> = {
  name: KernelName;
  title: string;
  description: string;
  /** Bounded job parameters (what `compute.submitJob` accepts for this kernel). */
  paramsSchema: z.ZodType<Params>;
  /** Bounds on what a donor may send back for one unit. */
  outputSchema: z.ZodType<UnitOutput>;
  /** Splits a job into work units, in order; `units` is the number asked for (the kernel may round it). */
  split(params: Params, units: number): UnitInput[];
  /** Computes one unit: deterministic, so replicas on different devices agree exactly. */
  run(input: UnitInput): UnitOutput;
  /** The canonical text of an output; replicas agree when these are equal. */
  canonical(output: UnitOutput): string;
  /** Combines the validated outputs, in unit order, into the job's result. */
  assemble(params: Params, outputs: UnitOutput[]): Result;
};
