import { taskEnded, taskStarted } from '../system/health';

/**
 * Runs `work` every `intervalMs` in the background: never two runs at once in one process, a failure is
 * logged and the next run still happens, and the timer does not keep the process alive. Each run is
 * reported to the process's health (server/system/health.ts).
 */
export function runEvery(name: string, intervalMs: number, work: () => Promise<unknown>): void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    const task = taskStarted(name, intervalMs);
    let failure: unknown = null;
    try {
      await work();
    } catch (error) {
      failure = error;
      console.error(`${name} failed:`, error);
    } finally {
      running = false;
      taskEnded(task, failure);
    }
  }, intervalMs);
  timer.unref();
}
