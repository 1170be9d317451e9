/**
 * The kernel catalog. `KERNELS` keeps each kernel's own types (`getKernel('mandelbrot')` is fully
 * typed); code that handles a kernel picked at run time widens it to `AnyKernel`, whose
 * parameters are `unknown` and whose units and outputs are `Json`: parse params with
 * `paramsSchema` and outputs with `outputSchema` before handing them back, and pass unit inputs
 * only as `split` produced them (every `run` also re-validates its input).
 */
import { customKernel } from './custom';
import { hashJoinKernel } from './hash-join';
import { mandelbrotKernel } from './mandelbrot';
import { montecarloPiKernel } from './montecarlo-pi';
import { primeSieveKernel } from './prime-sieve';
import { sha256NonceKernel } from './sha256-nonce';
import { KernelError } from './shared';
import { KERNEL_NAMES, type Json, type Kernel, type KernelName } from './types';

/** A kernel with its types erased: what code that picks kernels by name at run time works with. */
export type AnyKernel = Kernel<unknown, Json, Json, Json>;

export const KERNELS = {
  mandelbrot: mandelbrotKernel,
  'montecarlo-pi': montecarloPiKernel,
  'sha256-nonce': sha256NonceKernel,
  'prime-sieve': primeSieveKernel,
  'hash-join': hashJoinKernel,
  custom: customKernel,
} as const satisfies Record<KernelName, AnyKernel>;

export type KernelMap = typeof KERNELS;
export type ParamsOf<N extends KernelName> = Parameters<KernelMap[N]['split']>[0];
export type UnitInputOf<N extends KernelName> = Parameters<KernelMap[N]['run']>[0];
export type UnitOutputOf<N extends KernelName> = ReturnType<KernelMap[N]['run']>;
export type ResultOf<N extends KernelName> = ReturnType<KernelMap[N]['assemble']>;

/**
 * The kernel called `name`: with its own types when the name is one literal
 * (`getKernel('mandelbrot')`), erased to `AnyKernel` when it is only known at run time (a
 * `KernelName` or a string read back from the database). Throws `KernelError` for an unknown name.
 */
export function getKernel<N extends KernelName>(name: N): KernelName extends N ? AnyKernel : KernelMap[N];
export function getKernel(name: string): AnyKernel;
export function getKernel(name: string): AnyKernel {
  if (!isKernelName(name)) throw new KernelError(`no kernel called ${JSON.stringify(name)}`);
  return KERNELS[name];
}

/** The kernel called `name` with erased types, or null when no kernel has that name. */
export function findKernel(name: string): AnyKernel | null {
  return isKernelName(name) ? KERNELS[name] : null;
}

export function isKernelName(name: string): name is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(name);
}

export { KERNEL_NAMES, type Json, type Kernel, type KernelName, type UnitCost } from './types';
export { KernelError } from './shared';
