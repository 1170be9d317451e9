/**
 * Bench page script: drives kernel workers for bench/kernels.mjs through `window.kernelBench`.
 * Single-worker throughput uses the time each worker reports for its compute (best of `runs`,
 * after a warm-up); pool scaling uses wall time on the page, units handed out one at a time.
 */
import { getKernel, type AnyKernel, type Json } from '../../workers/kernels';
import type { WasmKernelName } from '../../workers/kernels/wasm';
import { workerReplySchema, type WorkerReply, type WorkerRequest } from './protocol';

export type Impl = 'js' | 'wasm' | 'wasm-scalar';
export type SingleRun = { ms: number; result: Json };
export type PoolRun = { ms: number; result: Json };

declare global {
  interface Window {
    kernelBench: {
      single(kernel: WasmKernelName, params: unknown, units: number, impl: Impl, runs: number): Promise<SingleRun>;
      pool(workers: number, kernel: WasmKernelName, params: unknown, units: number, impl: Impl, runs: number): Promise<PoolRun>;
      /** A worker warmed up on a kernel's units, for `runOpen` to time one pass at a time. */
      open(kernel: WasmKernelName, params: unknown, units: number, impl: Impl): Promise<number>;
      /** One pass over the units: the worker's compute time (the outputs stay in the worker's reply). */
      runOpen(session: number): Promise<number>;
      /** The assembled result of the last pass, then the worker ends. */
      close(session: number): Json;
      speedups(): Promise<{ speedups: Record<string, number>; failed: Record<string, string>; simd: boolean }>;
    };
  }
}

type Done = Extract<WorkerReply, { type: 'done' }>;

class BenchWorker {
  private readonly worker = new Worker('/worker.js', { type: 'module' });
  private readonly waiting = new Map<number, { resolve: (d: Done) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  readonly ready: Promise<Extract<WorkerReply, { type: 'ready' }>>;

  constructor() {
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener('error', (e) => reject(new Error(e.message)));
      this.worker.addEventListener('message', (event: MessageEvent<unknown>) => {
        const parsed = workerReplySchema.safeParse(event.data);
        if (!parsed.success) return reject(new Error(`bad reply: ${parsed.error.message}`));
        const message = parsed.data;
        if (message.type === 'ready') return resolve(message);
        const waiter = this.waiting.get(message.id);
        if (!waiter) return reject(new Error(`reply to unknown request ${message.id}`));
        this.waiting.delete(message.id);
        if (message.type === 'done') waiter.resolve(message);
        else waiter.reject(new Error(message.message));
      });
    });
  }

  run(kernel: WasmKernelName, impl: Impl, units: Json[]): Promise<Done> {
    const id = this.nextId++;
    const request: WorkerRequest = { type: 'run', id, kernel, impl, units };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

function prepare(name: WasmKernelName, raw: unknown, units: number) {
  const kernel: AnyKernel = getKernel(name);
  const params = kernel.paramsSchema.parse(raw);
  return { kernel, params, inputs: kernel.split(params, units) };
}

async function single(name: WasmKernelName, raw: unknown, units: number, impl: Impl, runs: number): Promise<SingleRun> {
  const { kernel, params, inputs } = prepare(name, raw, units);
  const worker = new BenchWorker();
  try {
    await worker.ready;
    await worker.run(name, impl, inputs.slice(0, 2)); // warm-up
    let best: Done | null = null;
    for (let r = 0; r < runs; r++) {
      const done = await worker.run(name, impl, inputs);
      if (!best || done.ms < best.ms) best = done;
    }
    if (!best) throw new Error('no runs');
    return { ms: best.ms, result: kernel.assemble(params, best.outputs.map((o) => kernel.outputSchema.parse(o))) };
  } finally {
    worker.terminate();
  }
}

async function pool(count: number, name: WasmKernelName, raw: unknown, units: number, impl: Impl, runs: number): Promise<PoolRun> {
  const { kernel, params, inputs } = prepare(name, raw, units);
  const workers = Array.from({ length: count }, () => new BenchWorker());
  try {
    await Promise.all(workers.map((w) => w.ready));
    await Promise.all(workers.map((w) => w.run(name, impl, inputs.slice(0, 2))));
    let best: PoolRun | null = null;
    for (let r = 0; r < runs; r++) {
      const outputs: Json[] = new Array<Json>(inputs.length).fill(null);
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        workers.map(async (w) => {
          while (next < inputs.length) {
            const index = next++;
            const done = await w.run(name, impl, [inputs[index]!]);
            outputs[index] = done.outputs[0] ?? null;
          }
        }),
      );
      const ms = performance.now() - t0;
      if (!best || ms < best.ms) {
        best = { ms, result: kernel.assemble(params, outputs.map((o) => kernel.outputSchema.parse(o))) };
      }
    }
    if (!best) throw new Error('no runs');
    return best;
  } finally {
    for (const w of workers) w.terminate();
  }
}

type Session = { worker: BenchWorker; run: () => Promise<Done>; result: (d: Done) => Json; last: Done | null };
const sessions = new Map<number, Session>();
let nextSession = 0;

async function open(name: WasmKernelName, raw: unknown, units: number, impl: Impl): Promise<number> {
  const { kernel, params, inputs } = prepare(name, raw, units);
  const worker = new BenchWorker();
  await worker.ready;
  await worker.run(name, impl, inputs.slice(0, 2)); // warm-up
  const id = nextSession++;
  sessions.set(id, {
    worker,
    run: () => worker.run(name, impl, inputs),
    result: (d) => kernel.assemble(params, d.outputs.map((o) => kernel.outputSchema.parse(o))),
    last: null,
  });
  return id;
}

function session(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new Error(`no session ${id}`);
  return s;
}

async function runOpen(id: number): Promise<number> {
  const s = session(id);
  s.last = await s.run();
  return s.last.ms;
}

function close(id: number): Json {
  const s = session(id);
  s.worker.terminate();
  sessions.delete(id);
  if (!s.last) throw new Error(`session ${id} never ran`);
  return s.result(s.last);
}

async function speedups(): Promise<{ speedups: Record<string, number>; failed: Record<string, string>; simd: boolean }> {
  const worker = new BenchWorker();
  try {
    const { speedups, failed, simd } = await worker.ready;
    return { speedups, failed, simd };
  } finally {
    worker.terminate();
  }
}

window.kernelBench = { single, pool, open, runOpen, close, speedups };
