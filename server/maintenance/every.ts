/**
 * Runs `work` every `intervalMs` in the background: never two runs at once in one process, a failure is
 * logged and the next run still happens, and the timer does not keep the process alive.
 */
export function runEvery(name: string, intervalMs: number, work: () => Promise<unknown>): void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await work();
    } catch (error) {
      console.error(`${name} failed:`, error);
    } finally {
      running = false;
    }
  }, intervalMs);
  timer.unref();
}
