/**
 * The compute kernel contract, shared by the coordinator (which splits jobs into work units, validates
 * replicas by the canonical hash of their outputs and assembles results) and by donors (which run units
 * in Web Workers or Node worker threads). Everything here is plain data and pure functions: no DOM, no
 * Node APIs, so the same module loads in a worker, in the browser and on the server.
 */
import type { z } from 'zod';

export const KERNEL_NAMES = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve', 'hash-join', 'custom'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/**
 * What one unit cost, counted from what it did (never guessed, never the donor's word): `flop` is the
 * floating-point operations (+, -, *, /) the reference kernel executed, exact; `cpuUs` is reference CPU
 * time in microseconds, the kernel's counted operations at its stated reference rate (one core of the
 * reference machine running the JavaScript kernel; see each kernel's `REFERENCE_*` constant). Both are
 * functions of the unit's input and its validated output, so the quorum that validates the output
 * validates the count too, and every replica of a unit costs the same.
 */
export type UnitCost = { flop: number; cpuUs: number };

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
  /** What the unit cost (see `UnitCost`), from its input and its validated output. */
  cost(input: UnitInput, output: UnitOutput): UnitCost;
  /**
   * The working set a unit of these params allocates and uses, in MB (2^20 bytes); 0 when it is small
   * enough not to matter (a few MB at most).
   */
  workingSetMb(params: Params): number;
  /**
   * Kernels with a working set: the most reference CPU time (µs) a unit is paid for, known from its input
   * (a job holds credits for memory up to this; a unit that counted more is paid this).
   */
  maxCpuUs?(input: UnitInput): number;
  /** Combines the validated outputs, in unit order, into the job's result. */
  assemble(params: Params, outputs: UnitOutput[]): Result;
};
