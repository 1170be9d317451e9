/**
 * A Node worker thread of the headless agent: the browser compute worker's functions (workers/compute-api.ts,
 * with the WebAssembly builds read from workers/kernels/wasm/), and, for `--allow-custom`, a member's code
 * run in a fresh `vm` context per unit — exposed to the main thread through Comlink's Node adapter.
 *
 * `vm` is not a security boundary (Node has no sandbox like the browser's CSP-stripped worker): the agent
 * runs members' code only when its owner passes --allow-custom, for code they trust.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from './node-endpoint';
import { makeComputeApi } from '../workers/compute-api';
import type { Json } from '../workers/kernels/types';
import { loadKernelWasm, WASM_KERNEL_NAMES, type WasmKernelName, type WasmSource } from '../workers/kernels/wasm';

const { wasmDir } = workerData as { wasmDir: string };

function wasmFromDisk() {
  const sources: Partial<Record<WasmKernelName, WasmSource>> = {};
  for (const name of WASM_KERNEL_NAMES) {
    try {
      sources[name] = readFileSync(join(wasmDir, `${name}.wasm`));
    } catch {
      // not built: that kernel runs in JavaScript
    }
  }
  return loadKernelWasm(sources);
}

/** Runs a member's code (compiled to a script defining `__member`) in a fresh context; JSON in, JSON out. */
async function runCustom(script: string, input: Json): Promise<Json> {
  const context = createContext(Object.create(null), { name: 'swapmesh-custom', codeGeneration: { strings: false, wasm: false } });
  runInContext(script, context, { timeout: 60_000 });
  context.__input = JSON.stringify(input);
  const text: unknown = await runInContext(
    `(async () => {
      const m = typeof __member === 'object' && __member !== null ? __member : {};
      const f = typeof m.run === 'function' ? m.run
        : typeof m.default === 'function' ? m.default
        : m.default && typeof m.default.run === 'function' ? m.default.run.bind(m.default) : null;
      if (!f) throw new Error('The code exports no run(input) function.');
      const out = await f(JSON.parse(__input));
      if (out === undefined) throw new Error('run(input) returned nothing.');
      return JSON.stringify(out);
    })()`,
    context,
    { timeout: 60_000 },
  );
  if (typeof text !== 'string') throw new Error('The code returned something that is not JSON.');
  return JSON.parse(text) as Json;
}

const api = { ...makeComputeApi(wasmFromDisk), runCustom };
export type AgentThreadApi = typeof api;

if (!parentPort) throw new Error('compute-thread runs only as a worker thread.');
expose(api, nodeEndpoint(parentPort));
