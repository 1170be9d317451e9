/**
 * One worker's lifetime, for every Comlink worker of the app (the compute pool's kernels worker, the
 * benchmark, the storage worker) and the headless agent's Node threads (agent/node-threads.ts): started
 * on first use, each call raced against the worker crashing and against an abort (which terminates the
 * worker: a busy worker cannot be interrupted otherwise), and terminated after sitting idle when asked.
 * A stopped or crashed worker is made anew by the next call. After squoosh's WorkerBridge.
 */
import { releaseProxy, type Remote } from 'comlink';

/** A started worker, seen from its lifetime: its Comlink remote, how to end it, and how it reports a crash. */
export type StartedWorker<T> = {
  remote: Remote<T>;
  terminate(): void;
  /** calls `onCrash` when the worker itself fails (did not load, threw at top level, exited) */
  watch(onCrash: (message: string) => void): void;
};

/** The worker itself failed (did not load, crashed, exited): it is replaced, not reused. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

export type LifetimeOptions = {
  /** what the worker is, for error messages ("The compute worker") */
  name: string;
  /** terminate after sitting idle this long (ms); null: only `stop()` ends it */
  idleMs?: number | null;
};

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new DOMException('Aborted.', 'AbortError');

export class WorkerLifetime<T> {
  private current: (StartedWorker<T> & { crashed: Promise<never>; generation: number }) | null = null;
  private generation = 0;
  private busy = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly start: () => StartedWorker<T>,
    private readonly options: LifetimeOptions,
  ) {}

  /** Whether a worker is running now. */
  get alive(): boolean {
    return this.current !== null;
  }

  /** Calls in flight. */
  get calls(): number {
    return this.busy;
  }

  /** The running worker's remote, starting it when there is none (for calls that manage their own errors). */
  remote(): Remote<T> {
    return this.ensure().remote;
  }

  /**
   * Runs `fn` against the worker. Rejects with a `WorkerCrashedError` when the worker fails meanwhile,
   * with the signal's reason when aborted (the worker is then terminated), else as `fn` does.
   */
  async call<R>(fn: (remote: Remote<T>) => Promise<R>, options: { signal?: AbortSignal } = {}): Promise<R> {
    const { signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    const worker = this.ensure();
    this.busy++;
    this.clearIdle();
    let onAbort: (() => void) | null = null;
    const aborted = signal
      ? new Promise<never>((_, reject) => {
          onAbort = () => {
            this.stopWorker(worker.generation);
            reject(abortReason(signal));
          };
          signal.addEventListener('abort', onAbort, { once: true });
        })
      : null;
    try {
      return await Promise.race([fn(worker.remote), worker.crashed, ...(aborted ? [aborted] : [])]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.busy--;
      if (this.busy === 0) this.scheduleIdle();
    }
  }

  /** Terminates the worker now (calls in flight reject as crashed); the next call starts a new one. */
  stop(): void {
    if (this.current) this.stopWorker(this.current.generation);
  }

  private ensure() {
    if (this.current) return this.current;
    const started = this.start();
    const generation = ++this.generation;
    let fail: (error: Error) => void = () => undefined;
    const crashed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    crashed.catch(() => undefined);
    const entry = { ...started, crashed, generation };
    this.current = entry;
    started.watch((message) => {
      fail(new WorkerCrashedError(`${this.options.name}: ${message}`));
      this.stopWorker(generation);
    });
    return entry;
  }

  private stopWorker(generation: number) {
    const worker = this.current;
    if (!worker || worker.generation !== generation) return;
    this.current = null;
    this.clearIdle();
    try {
      worker.remote[releaseProxy]();
    } catch {
      // the channel is gone already
    }
    try {
      worker.terminate();
    } catch {
      // already ended
    }
  }

  private clearIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private scheduleIdle() {
    const idleMs = this.options.idleMs;
    if (idleMs === null || idleMs === undefined || !this.current) return;
    this.clearIdle();
    const generation = this.current.generation;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.busy === 0) this.stopWorker(generation);
    }, idleMs);
  }
}

/** A browser module worker under a lifetime: crash = an `error` or `messageerror` event. */
export function browserWorker<T>(make: () => Worker, wrapRemote: (worker: Worker) => Remote<T>): () => StartedWorker<T> {
  return () => {
    const worker = make();
    return {
      remote: wrapRemote(worker),
      terminate: () => worker.terminate(),
      watch(onCrash) {
        const onError = (event: Event) => {
          event.preventDefault();
          onCrash(event instanceof ErrorEvent && event.message ? event.message : 'it failed to load or crashed.');
        };
        worker.addEventListener('error', onError);
        worker.addEventListener('messageerror', onError);
      },
    };
  };
}
