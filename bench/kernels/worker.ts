/**
 * Bench worker: loads the WebAssembly modules next to it, then runs lists of units with the
 * JavaScript reference or the WebAssembly build and reports the time spent computing.
 */
import { getKernel, type AnyKernel, type Json } from '../../workers/kernels';
import { loadKernelWasm, runUnitWasm } from '../../workers/kernels/wasm';
import { workerRequestSchema, type WorkerReply } from './protocol';

const reply = (message: WorkerReply) => postMessage(message);

const loading = loadKernelWasm().then((loaded) => {
  const speedups: Record<string, number> = {};
  for (const [name, m] of Object.entries(loaded.modules)) speedups[name] = m.speedup ?? 0;
  reply({ type: 'ready', failed: loaded.failed, speedups });
  return loaded.modules;
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
        request.impl === 'js' ? kernel.run(unit) : runUnitWasm(request.kernel, unit, modules),
      );
      reply({ type: 'done', id: request.id, outputs, ms: performance.now() - t0 });
    } catch (error) {
      reply({ type: 'error', id: request.id, message: error instanceof Error ? error.message : String(error) });
    }
  });
});
