/**
 * A pool of compute workers for donated work units, with managed lifetimes (after squoosh's
 * WorkerBridge): one worker per granted core, calls queued, every call abortable, a time limit per
 * unit, workers terminated after sitting idle, and the CPU duty cycle enforced here.
 *
 * Duty cycle: a slot that was busy `t` ms on a unit (whatever the outcome) rests
 * `restAfter(t, d) = t × (1 − d) / d` ms before it starts another, so each core is busy at most the
 * fraction `d` of the time (50% → it rests as long as it worked). See `donor-rules.ts`.
 *
 * Built-in kernels run in `workers/compute.worker.ts` through Comlink. A member's own code (kernel
 * `custom`) runs in a sandboxed module worker loaded from `/api/compute/sandbox/JOBID` (served with
 * `Content-Security-Policy: default-src 'none'`), kept for further units of the same job in its
 * slot. A slot holds one worker at a time: a unit of another kind or job replaces it.
 *
 * Aborting a running unit, or a unit running past its time limit, terminates its worker; the slot
 * makes a new one when it next needs it. The worker factory can be replaced (tests use fakes).
 */
import { wrap } from 'comlink';
import type { ComputeWorkerApi } from '../../workers/compute.worker';
import { customOutputSchema, customUnitSchema } from '../../workers/kernels/custom';
import type { Json } from '../../workers/kernels/types';
import { restAfter } from './donor-rules';
import { browserWorker, WorkerCrashedError, WorkerLifetime } from './worker-lifetime';

export { WorkerCrashedError };

/** `code`: a job's code fetched from the mesh (app/_lib/job-source.ts), handed to its sandbox, which checks its SHA-256. */
export type UnitTask = { jobId: string; kernel: string; input: Json; code?: string };
export type Engine = 'wasm' | 'js' | 'sandbox';
export type UnitRun = { output: Json; engine: Engine; ms: number };

/** What a slot's worker runs: the built-in kernels, or one job's own code. */
export type RunnerKind = { type: 'kernels' } | { type: 'sandbox'; jobId: string };

/** One worker, seen from the pool. `run` is called again only after the previous call settled. */
export interface UnitRunner {
  run(task: UnitTask): Promise<{ output: Json; engine: Engine }>;
  terminate(): void;
}
export type RunnerFactory = (kind: RunnerKind) => UnitRunner;

/** The unit's code threw or gave an unusable output; the worker is fine. */
export class UnitFailedError extends Error {
  override name = 'UnitFailedError';
}

export type PoolOptions = {
  /** workers (one per granted core) */
  size: number;
  /** 0.1 … 1, see the duty-cycle rule above */
  dutyCycle?: number;
  /** default time limit of one unit, ms */
  unitTimeoutMs?: number;
  /** a worker idle this long is terminated, ms */
  idleMs?: number;
  createRunner?: RunnerFactory;
};

export type RunOptions = { signal?: AbortSignal; timeoutMs?: number };

export const DEFAULT_UNIT_TIMEOUT_MS = 120_000;
export const DEFAULT_IDLE_MS = 30_000;

type Pending = {
  task: UnitTask;
  key: string;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  resolve: (run: UnitRun) => void;
  reject: (err: unknown) => void;
  onAbort: (() => void) | null;
};

type Slot = {
  runner: UnitRunner | null;
  runnerKey: string | null;
  current: { pending: Pending; startedAt: number; timer: ReturnType<typeof setTimeout> } | null;
  /** when the last unit ended, and how long it kept the worker busy (its rest follows from them) */
  finishedAt: number;
  busyMs: number;
  idleTimer: ReturnType<typeof setTimeout> | null;
};

const keyOf = (task: UnitTask) => (task.kernel === 'custom' ? `sandbox:${task.jobId}` : 'kernels');
const kindOf = (task: UnitTask): RunnerKind => (task.kernel === 'custom' ? { type: 'sandbox', jobId: task.jobId } : { type: 'kernels' });

const abortError = (signal: AbortSignal) => signal.reason ?? new DOMException('The unit was aborted.', 'AbortError');

export class ComputePool {
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private targetSize: number;
  private duty: number;
  private readonly unitTimeoutMs: number;
  private readonly idleMs: number;
  private readonly createRunner: RunnerFactory;
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(options: PoolOptions) {
    this.targetSize = Math.max(1, Math.floor(options.size));
    this.duty = options.dutyCycle ?? 1;
    this.unitTimeoutMs = options.unitTimeoutMs ?? DEFAULT_UNIT_TIMEOUT_MS;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.createRunner = options.createRunner ?? browserRunner;
    this.resize(this.targetSize);
  }

  /** Workers the pool runs at most. */
  get size(): number {
    return this.targetSize;
  }
  /** Units running now. */
  get running(): number {
    return this.slots.filter((s) => s.current).length;
  }
  /** Units waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }
  /** Workers alive (running, resting or idle but not yet terminated). */
  get workers(): number {
    return this.slots.filter((s) => s.runner).length;
  }

  /** Runs one unit; rejects with the signal's reason on abort, a `TimeoutError` past the time limit. */
  run(task: UnitTask, { signal, timeoutMs }: RunOptions = {}): Promise<UnitRun> {
    if (this.disposed) return Promise.reject(new Error('The compute pool was disposed.'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<UnitRun>((resolve, reject) => {
      const pending: Pending = { task, key: keyOf(task), signal, timeoutMs: timeoutMs ?? this.unitTimeoutMs, resolve, reject, onAbort: null };
      if (signal) {
        pending.onAbort = () => this.abort(pending, abortError(signal));
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Takes effect at once, rests in progress included. */
  setDutyCycle(dutyCycle: number): void {
    this.duty = dutyCycle;
    this.dispatch();
  }

  private restUntil(slot: Slot): number {
    return slot.finishedAt + restAfter(slot.busyMs, this.duty);
  }

  /** Grows at once; shrinks by retiring idle workers now and busy ones when their unit ends. */
  resize(size: number): void {
    this.targetSize = Math.max(1, Math.floor(size));
    while (this.slots.length < this.targetSize) this.slots.push({ runner: null, runnerKey: null, current: null, finishedAt: 0, busyMs: 0, idleTimer: null });
    this.retireExtraSlots();
    this.dispatch();
  }

  /** Aborts every queued and running unit (their workers are terminated). */
  abortAll(reason: unknown = new DOMException('Computing was paused.', 'AbortError')): void {
    for (const pending of [...this.queue]) this.abort(pending, reason);
    for (const slot of this.slots) if (slot.current) this.abort(slot.current.pending, reason);
  }

  /** Aborts everything and terminates every worker. */
  dispose(): void {
    this.abortAll(new DOMException('The compute pool was disposed.', 'AbortError'));
    this.disposed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const slot of this.slots) this.killRunner(slot);
    this.slots = [];
  }

  private abort(pending: Pending, reason: unknown): void {
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(pending, () => pending.reject(reason));
      return;
    }
    const slot = this.slots.find((s) => s.current?.pending === pending);
    if (slot) this.finish(slot, pending, { error: reason }, true);
  }

  private dispatch(): void {
    if (this.disposed) return;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const ready = this.slots.slice(0, this.targetSize).filter((s) => !s.current && this.restUntil(s) <= now);
      if (ready.length === 0) break;
      // reuse a worker of the right kind first, then an empty slot, then replace another kind
      const slot = ready.find((s) => s.runnerKey === head.key) ?? ready.find((s) => !s.runner) ?? ready[0]!;
      this.queue.shift();
      this.start(slot, head);
    }
    this.scheduleWake(now);
  }

  /** When units wait and every free slot rests, dispatch again when the first rest ends. */
  private scheduleWake(now: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    if (this.queue.length === 0) return;
    const resting = this.slots.slice(0, this.targetSize).filter((s) => !s.current).map((s) => this.restUntil(s));
    if (resting.length === 0) return;
    const wakeAt = Math.min(...resting);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.dispatch();
    }, Math.max(0, wakeAt - now));
  }

  private start(slot: Slot, pending: Pending): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    const startedAt = Date.now();
    const timer = setTimeout(() => {
      this.finish(slot, pending, { error: new DOMException(`The unit ran past its time limit (${Math.round(pending.timeoutMs / 1000)} s).`, 'TimeoutError') }, true);
    }, pending.timeoutMs);
    slot.current = { pending, startedAt, timer };
    let runner: UnitRunner;
    try {
      if (slot.runnerKey !== pending.key || !slot.runner) {
        this.killRunner(slot);
        slot.runner = this.createRunner(kindOf(pending.task));
        slot.runnerKey = pending.key;
      }
      runner = slot.runner;
    } catch (err) {
      this.finish(slot, pending, { error: err }, true);
      return;
    }
    runner.run(pending.task).then(
      (result) => this.finish(slot, pending, { result }, false),
      (err: unknown) => this.finish(slot, pending, { error: err }, !(err instanceof UnitFailedError)),
    );
  }

  private finish(slot: Slot, pending: Pending, outcome: { result: { output: Json; engine: Engine } } | { error: unknown }, killWorker: boolean): void {
    const current = slot.current;
    if (!current || current.pending !== pending) return; // already settled (aborted, timed out)
    clearTimeout(current.timer);
    slot.current = null;
    const now = Date.now();
    const ms = now - current.startedAt;
    slot.finishedAt = now;
    slot.busyMs = ms;
    if (killWorker) this.killRunner(slot);
    if ('result' in outcome) this.settle(pending, () => pending.resolve({ ...outcome.result, ms }));
    else this.settle(pending, () => pending.reject(outcome.error));
    this.retireExtraSlots();
    if (slot.runner && this.slots.includes(slot)) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = null;
        if (!slot.current) this.killRunner(slot);
      }, this.idleMs);
    }
    this.dispatch();
  }

  private settle(pending: Pending, settle: () => void): void {
    if (pending.onAbort) pending.signal?.removeEventListener('abort', pending.onAbort);
    pending.onAbort = null;
    settle();
  }

  private killRunner(slot: Slot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    const runner = slot.runner;
    slot.runner = null;
    slot.runnerKey = null;
    try {
      runner?.terminate();
    } catch {
      // already gone
    }
  }

  private retireExtraSlots(): void {
    for (let i = this.slots.length - 1; i >= this.targetSize; i--) {
      const slot = this.slots[i]!;
      if (slot.current) continue;
      this.killRunner(slot);
      this.slots.splice(i, 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Browser workers

/** The default factory: real module workers (browser only). */
export const browserRunner: RunnerFactory = (kind) => (kind.type === 'kernels' ? kernelsRunner() : sandboxRunner(kind.jobId));

/** Rejects the call in flight when the worker itself fails (a crash leaves Comlink waiting forever). */
function watchWorker(worker: Worker, what: string) {
  let fail: ((err: Error) => void) | null = null;
  const onError = (event: Event) => {
    event.preventDefault();
    const message = event instanceof ErrorEvent && event.message ? event.message : null;
    fail?.(new WorkerCrashedError(message ? `${what}: ${message}` : `${what} failed to load or crashed.`));
  };
  worker.addEventListener('error', onError);
  worker.addEventListener('messageerror', onError);
  return {
    guard<T>(call: (reject: (err: unknown) => void) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        fail = reject;
        call(reject).then(resolve, reject).finally(() => {
          fail = null;
        });
      });
    },
  };
}

function kernelsRunner(): UnitRunner {
  const start = browserWorker(
    () => new Worker(new URL('../../workers/compute.worker.ts', import.meta.url), { type: 'module', name: 'swapmesh-compute' }),
    (worker) => wrap<ComputeWorkerApi>(worker),
  );
  // the pool terminates idle slots itself: the lifetime only starts, watches and stops the worker
  return lifetimeRunner(new WorkerLifetime(start, { name: 'The compute worker', idleMs: null }));
}

/** A slot's runner over a kernels worker's lifetime (a browser worker here, a Node thread in the agent). */
export function lifetimeRunner(life: WorkerLifetime<ComputeWorkerApi>): UnitRunner {
  return {
    run: (task) =>
      life.call(async (remote) => {
        try {
          const { output, engine } = await remote.runUnit(task.kernel, task.input);
          return { output, engine };
        } catch (err) {
          // an error thrown by the kernel (bad input) crosses Comlink as an Error: the worker is fine
          throw new UnitFailedError(err instanceof Error ? err.message : String(err));
        }
      }),
    terminate: () => life.stop(),
  };
}

/** Messages of the sandbox protocol (see app/api/compute/sandbox/[jobId]/route.ts). */
export type SandboxRequest = { type: 'run'; id: number; codeSha256: string; input: Json; code?: string };
export type SandboxReply = { type: 'result'; id: number; ok: true; output: Json } | { type: 'result'; id: number; ok: false; error: string };

/** A reply from the sandbox, checked; null when it is not one (the member's code can post anything). */
export function parseSandboxReply(data: unknown): SandboxReply | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (m.type !== 'result' || typeof m.id !== 'number') return null;
  if (m.ok === true && 'output' in m) return { type: 'result', id: m.id, ok: true, output: m.output as Json };
  if (m.ok === false) return { type: 'result', id: m.id, ok: false, error: typeof m.error === 'string' ? m.error.slice(0, 500) : 'The code failed.' };
  return null;
}

export const sandboxUrl = (jobId: string) => `/api/compute/sandbox/${encodeURIComponent(jobId)}`;

function sandboxRunner(jobId: string): UnitRunner {
  const worker = new Worker(sandboxUrl(jobId), { type: 'module', name: `swapmesh-sandbox-${jobId}` });
  const watch = watchWorker(worker, "The job's code");
  let nextId = 1;
  return {
    run: (task) =>
      watch.guard(
        (reject) =>
          new Promise((resolve) => {
            const unit = customUnitSchema.safeParse(task.input);
            if (!unit.success) {
              reject(new UnitFailedError('This is not a unit of custom code.'));
              return;
            }
            const id = nextId++;
            const onMessage = (event: MessageEvent) => {
              const reply = parseSandboxReply(event.data);
              if (reply?.id !== id) return; // not ours (stray posts from the member's code)
              worker.removeEventListener('message', onMessage);
              if (!reply.ok) {
                reject(new UnitFailedError(reply.error));
                return;
              }
              const output = customOutputSchema.safeParse(reply.output);
              if (!output.success) reject(new UnitFailedError('The code returned something that is not a small JSON value.'));
              else resolve({ output: output.data, engine: 'sandbox' as const });
            };
            worker.addEventListener('message', onMessage);
            const request: SandboxRequest = { type: 'run', id, codeSha256: unit.data.codeSha256, input: unit.data.input, ...(task.code !== undefined ? { code: task.code } : {}) };
            worker.postMessage(request);
          }),
      ),
    terminate: () => worker.terminate(),
  };
}
