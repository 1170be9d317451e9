/**
 * Web Worker entry of the donor's compute pool (`app/_lib/compute-pool.ts`), driven through Comlink:
 * the functions of `compute-api.ts`, with the WebAssembly builds fetched next to `kernels/wasm.ts`
 * (`wasmUrls()`, emitted as assets by the bundler).
 */
import { expose } from 'comlink';
import { makeComputeApi, type ComputeApi } from './compute-api';
import { loadKernelWasm } from './kernels/wasm';

const api: ComputeApi = makeComputeApi(() => loadKernelWasm());

expose(api);

export type ComputeWorkerApi = ComputeApi;
