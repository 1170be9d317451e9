import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How this coordinator process is doing, for the system administrator's screen: its background tasks
 * (last run, duration, lag behind their interval, failures), the queues of its writers, the event loop's
 * delay, memory. Kept on globalThis: Next.js may load the server modules more than once in one thread
 * (`next dev`: instrumentation runs the sweeper, a route serves tRPC), and every copy must report to one place.
 */
type TaskHealth = { name: string; intervalMs: number; runs: number; failures: number; lastStartedAt: number | null; lastDurationMs: number | null; lastError: string | null; running: boolean };
type Registry = { tasks: Map<string, TaskHealth>; queues: Map<string, () => { pending: number; stats: Record<string, number> }>; loop: IntervalHistogram | null; startedAt: number };

const store = globalThis as unknown as { swapmeshHealth?: Registry };
const registry = (store.swapmeshHealth ??= { tasks: new Map(), queues: new Map(), loop: null, startedAt: Date.now() });

/** A background task's run, as `runEvery` sees it. */
export function taskStarted(name: string, intervalMs: number): TaskHealth {
  let task = registry.tasks.get(name);
  if (!task) registry.tasks.set(name, (task = { name, intervalMs, runs: 0, failures: 0, lastStartedAt: null, lastDurationMs: null, lastError: null, running: false }));
  task.running = true;
  task.lastStartedAt = Date.now();
  return task;
}

export function taskEnded(task: TaskHealth, error: unknown): void {
  task.running = false;
  task.runs++;
  task.lastDurationMs = Date.now() - (task.lastStartedAt ?? Date.now());
  if (error) {
    task.failures++;
    task.lastError = error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
  }
}

/** A writer's queue, read when the health is asked for (commands waiting, and counters of what it did). */
export function registerQueue(name: string, read: () => { pending: number; stats: Record<string, number> }): void {
  registry.queues.set(name, read);
}

export type ProcessHealth = ReturnType<typeof processHealth>;

export function processHealth(now = Date.now()) {
  registry.loop ??= (() => {
    const histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    return histogram;
  })();
  const memory = process.memoryUsage();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return {
    uptimeSeconds: Math.round((now - registry.startedAt) / 1000),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    eventLoopDelay: { p50Ms: ms(registry.loop.percentile(50)), p99Ms: ms(registry.loop.percentile(99)), maxMs: ms(registry.loop.max) },
    tasks: [...registry.tasks.values()].map((t) => ({
      name: t.name,
      runs: t.runs,
      failures: t.failures,
      running: t.running,
      lastRunAt: t.lastStartedAt ? new Date(t.lastStartedAt).toISOString() : null,
      lastDurationMs: t.lastDurationMs,
      // how far behind its schedule the task is: 0 while it keeps to its interval
      lagMs: t.lastStartedAt ? Math.max(0, now - t.lastStartedAt - t.intervalMs) : null,
      lastError: t.lastError,
    })),
    queues: [...registry.queues.entries()].map(([name, read]) => ({ name, ...read() })),
  };
}
