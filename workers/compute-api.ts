/**
 * What a compute worker does, whatever runs it: the browser's module worker (`compute.worker.ts`) and the
 * headless agent's Node threads (`agent/compute-thread.ts`) expose the same functions through Comlink.
 * The WebAssembly builds are loaded and calibrated once, on the first unit, by the `loadWasm` the host
 * passes (fetched next to `kernels/wasm.ts` in a browser, read from workers/kernels/wasm/ in Node); a
 * kernel whose module failed to load, disagrees with the JavaScript reference or is not faster runs in
 * JavaScript (`runUnitFast` decides). Members' own code never runs here: it has its own sandbox.
 */
import { findKernel } from './kernels';
import type { Json } from './kernels/types';
import { PREFER_WASM_SPEEDUP, runUnitFast, type LoadedWasm, type WasmKernelName, WASM_KERNEL_NAMES } from './kernels/wasm';

const isWasmKernel = (name: string): name is WasmKernelName => (WASM_KERNEL_NAMES as readonly string[]).includes(name);

export function makeComputeApi(loadWasm: () => Promise<LoadedWasm | null>) {
  let loading: Promise<LoadedWasm | null> | null = null;

  /** Loads and calibrates the WebAssembly modules once; null when WebAssembly is unavailable. */
  function wasm(): Promise<LoadedWasm | null> {
    loading ??= typeof WebAssembly === 'object' ? loadWasm().catch(() => null) : Promise.resolve(null);
    return loading;
  }

  /** Runs one unit; throws (a `KernelError`) when the kernel is unknown or the input breaks its rules. */
  async function runUnit(kernelName: string, input: Json): Promise<{ output: Json; engine: 'wasm' | 'js' }> {
    const kernel = findKernel(kernelName);
    if (!kernel || kernel.name === 'custom') throw new Error(`This worker cannot run the kernel "${kernelName}".`);
    const loaded = isWasmKernel(kernel.name) ? await wasm() : null;
    const compiled = loaded && isWasmKernel(kernel.name) ? loaded.modules[kernel.name] : undefined;
    const output = runUnitFast(kernel.name, input, loaded?.modules);
    // the same test runUnitFast applies to pick WebAssembly
    const usedWasm = compiled !== undefined && compiled.agrees !== false && (compiled.speedup ?? 0) >= PREFER_WASM_SPEEDUP;
    return { output, engine: usedWasm ? 'wasm' : 'js' };
  }

  /** What the WebAssembly calibration found on this device (for diagnostics). */
  async function wasmReport(): Promise<{ speedups: Partial<Record<WasmKernelName, number>>; failed: LoadedWasm['failed'] } | null> {
    const loaded = await wasm();
    if (!loaded) return null;
    const speedups: Partial<Record<WasmKernelName, number>> = {};
    for (const name of WASM_KERNEL_NAMES) {
      const m = loaded.modules[name];
      if (m?.speedup !== undefined) speedups[name] = m.speedup;
    }
    return { speedups, failed: loaded.failed };
  }

  return { runUnit, wasmReport };
}

export type ComputeApi = ReturnType<typeof makeComputeApi>;
