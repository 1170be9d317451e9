/**
 * Bench worker: loads the WebAssembly modules next to it (the SIMD builds and the scalar ones),
 * then runs lists of units with the JavaScript reference or a WebAssembly build and reports the
 * time spent computing.
 */
import { getKernel, type AnyKernel, type Json } from '../../workers/kernels';
import { loadKernelWasm, runUnitWasm, simdSupported, wasmUrls } from '../../workers/kernels/wasm';
import { workerRequestSchema, type WorkerReply } from './protocol';

const reply = (message: WorkerReply) => postMessage(message);

const loading = Promise.all([
  loadKernelWasm(wasmUrls({ simd: true })),
  loadKernelWasm(wasmUrls({ simd: false }), { calibrate: false }),
]).then(([simd, scalar]) => {
  const speedups: Record<string, number> = {};
  for (const [name, m] of Object.entries(simd.modules)) speedups[name] = m.speedup ?? 0;
  const failed: Record<string, string> = {};
  for (const [name, why] of Object.entries(simd.failed)) failed[name] = why;
  for (const [name, why] of Object.entries(scalar.failed)) failed[`${name} (scalar)`] = why;
  reply({ type: 'ready', failed, speedups, simd: simdSupported() });
  return { simd: simd.modules, scalar: scalar.modules };
});

addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = workerRequestSchema.safeParse(event.data);
  if (!parsed.success) {
    reply({ type: 'error', id: -1, message: `bad request: ${parsed.error.message}` });
    return;
  }
  const request = parsed.data;
  void loading.then((modules) => {
    try {
      const kernel: AnyKernel = getKernel(request.kernel);
      const t0 = performance.now();
      const outputs: Json[] = request.units.map((unit) =>
        request.impl === 'js'
          ? kernel.run(unit)
          : runUnitWasm(request.kernel, unit, request.impl === 'wasm' ? modules.simd : modules.scalar),
      );
      reply({ type: 'done', id: request.id, outputs, ms: performance.now() - t0 });
    } catch (error) {
      reply({ type: 'error', id: request.id, message: error instanceof Error ? error.message : String(error) });
    }
  });
});
