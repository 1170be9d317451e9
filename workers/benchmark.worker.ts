/**
 * Web Worker entry of the device benchmark, driven through Comlink by
 * `app/device/measure-profile.ts`. The work itself lives in `benchmark.ts`.
 */
import { expose } from 'comlink';
import { measureCompute, measureMemory, measureStorage } from './benchmark';

const api = { measureCompute, measureMemory, measureStorage };

expose(api);

export type BenchmarkWorkerApi = typeof api;
