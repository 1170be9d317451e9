/** What one command of a batch came to: its value, or the error its caller gets. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

type Waiting<C, R> = { command: C; resolve: (value: R) => void; reject: (error: unknown) => void };

/**
 * Group commit: commands for one key (one book) queue up while a batch for that key is being written;
 * the next batch takes every command waiting (up to `maxBatch`) and `runBatch` applies them in one
 * transaction. Each caller is answered with its own outcome once that batch's transaction has committed,
 * so an acknowledged command is durable. A batch starts as soon as the previous one for its key ends and
 * the event loop has had one turn: one command alone waits for no timer.
 */
export class GroupCommit<C, R> {
  private readonly queues = new Map<string, Waiting<C, R>[]>();

  /**
   * `durable`: when given, `runBatch` answers as soon as its transaction has committed, and the callers
   * are told once `durable()` resolves — while the next batch already runs (the commit's fsync and the
   * next batch overlap).
   */
  constructor(
    private readonly runBatch: (key: string, commands: C[]) => Promise<Outcome<R>[]>,
    private readonly options: { maxBatch?: number; durable?: () => Promise<void> } = {},
  ) {}

  submit(key: string, command: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) {
        queue.push({ command, resolve, reject });
        return;
      }
      const fresh: Waiting<C, R>[] = [{ command, resolve, reject }];
      this.queues.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  /** Commands waiting or being written, over every key (for tests and metrics). */
  get pending(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  private async drain(key: string, queue: Waiting<C, R>[]): Promise<void> {
    while (queue.length > 0) {
      // Let the event loop read what has arrived before the batch is cut: the SQLite driver runs its
      // statements synchronously, so without this turn no request that came in during a batch would reach
      // the queue before the next batch starts, and every batch would hold one command.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = queue.splice(0, this.options.maxBatch ?? 128);
      let outcomes: Outcome<R>[];
      try {
        outcomes = await this.runBatch(key, batch.map((w) => w.command));
      } catch (error) {
        outcomes = batch.map(() => ({ ok: false, error }));
      }
      const answer = () =>
        batch.forEach((waiting, i) => {
          const outcome = outcomes[i] ?? { ok: false, error: new Error('group commit: the batch gave no outcome for this command') };
          if (outcome.ok) waiting.resolve(outcome.value);
          else waiting.reject(outcome.error);
        });
      if (this.options.durable) {
        this.options.durable().then(answer, (error: unknown) => batch.forEach((waiting) => waiting.reject(error)));
      } else answer();
    }
    this.queues.delete(key);
  }
}

/** Runs `fn` and records how it ended, never throwing. */
export async function outcomeOf<R>(fn: () => Promise<R>): Promise<Outcome<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
