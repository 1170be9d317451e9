/**
 * The agent's compute pool runners: each slot of the browser's ComputePool (app/_lib/compute-pool.ts) gets
 * a Node worker thread (agent/compute-thread.ts) under the same worker lifetime as a browser worker
 * (app/_lib/worker-lifetime.ts), spoken to through Comlink's Node adapter. Built-in kernels go through
 * `lifetimeRunner`, exactly as in the browser; a member's own code (kernel `custom`, only with
 * --allow-custom) is fetched once per job, checked against the unit's SHA-256, compiled to a script by
 * esbuild and run in the thread's `vm`.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import { nodeEndpoint } from './node-endpoint';
import { lifetimeRunner, UnitFailedError, type RunnerFactory, type UnitRunner } from '../app/_lib/compute-pool';
import { WorkerLifetime, type StartedWorker } from '../app/_lib/worker-lifetime';
import { customOutputSchema, customUnitSchema } from '../workers/kernels/custom';
import type { AgentThreadApi } from './compute-thread';

/** Heap of one thread, MB (a runaway unit ends its thread, not the agent). */
const THREAD_MEMORY_MB = 512;

export type ThreadSetup = {
  /** the bundled compute-thread module */
  threadFile: string;
  wasmDir: string;
  /** the job's code as text (`/api/compute/sandbox/JOB?part=code`); null when custom code is not allowed */
  fetchCode: ((jobId: string) => Promise<string>) | null;
  /** compiles a member's ES module to a script that defines `__member` */
  compile: (code: string) => Promise<string>;
};

function startThread(setup: ThreadSetup): () => StartedWorker<AgentThreadApi> {
  return () => {
    const worker = new Worker(setup.threadFile, { workerData: { wasmDir: setup.wasmDir }, resourceLimits: { maxOldGenerationSizeMb: THREAD_MEMORY_MB } });
    worker.unref();
    return {
      remote: wrap<AgentThreadApi>(nodeEndpoint(worker)),
      terminate: () => void worker.terminate(),
      watch(onCrash) {
        worker.on('error', (err) => onCrash(err instanceof Error ? err.message : String(err)));
        worker.on('exit', (code) => onCrash(`the thread exited (${code}).`));
      },
    };
  };
}

/** Runner factory for the agent's ComputePool. */
export function nodeRunners(setup: ThreadSetup): RunnerFactory {
  const scripts = new Map<string, Promise<string>>();
  const scriptFor = (jobId: string, codeSha256: string): Promise<string> => {
    let script = scripts.get(jobId);
    if (!script) {
      const fetchCode = setup.fetchCode;
      if (!fetchCode) return Promise.reject(new UnitFailedError("This agent does not run members' own code (--allow-custom)."));
      script = (async () => {
        const code = await fetchCode(jobId);
        if (createHash('sha256').update(code).digest('hex') !== codeSha256) throw new UnitFailedError("The job's code does not match the unit's hash.");
        return setup.compile(code);
      })();
      script.catch(() => scripts.delete(jobId));
      scripts.set(jobId, script);
    }
    return script;
  };

  return (kind): UnitRunner => {
    const life = new WorkerLifetime(startThread(setup), { name: 'A compute thread', idleMs: null });
    if (kind.type === 'kernels') return lifetimeRunner(life);
    return {
      run: async (task) => {
        const unit = customUnitSchema.safeParse(task.input);
        if (!unit.success) throw new UnitFailedError('This is not a unit of custom code.');
        const script = await scriptFor(kind.jobId, unit.data.codeSha256);
        const output = await life.call(async (remote) => {
          try {
            return await remote.runCustom(script, unit.data.input);
          } catch (err) {
            throw new UnitFailedError(err instanceof Error ? err.message : String(err));
          }
        });
        const parsed = customOutputSchema.safeParse(output);
        if (!parsed.success) throw new UnitFailedError('The code returned something that is not a small JSON value.');
        return { output: parsed.data, engine: 'sandbox' };
      },
      terminate: () => life.stop(),
    };
  };
}
