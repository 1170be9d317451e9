import { open } from 'node:fs/promises';
import path from 'node:path';

/** The database file of a SQLite URL (`file:./data/app.db?x=y` → `/abs/data/app.db`), or null for an in-memory database. */
export function sqliteFileOf(url: string): string | null {
  const file = url.replace(/^file:/, '').replace(/\?.*$/, '');
  if (file === '' || file.startsWith(':memory:') || /[?&]mode=memory\b/.test(url)) return null;
  return path.resolve(file);
}

/**
 * Group commit's last step for SQLite: make committed transactions durable without stopping the event
 * loop. With `synchronous = FULL` SQLite fsyncs the write-ahead log inside COMMIT, and the libsql driver
 * runs COMMIT synchronously, so every batch stopped the whole process for the length of an fsync
 * (3–40 ms). The transaction connection therefore commits with `synchronous = NORMAL` (in WAL mode:
 * the log is written at COMMIT and synced only at checkpoints, which still sync it), and the caller of a
 * transaction is answered only once an fsync of the log, started after its COMMIT, has completed — on
 * libuv's thread pool, while the event loop reads requests and the book's writer runs its next batch.
 * That is the same guarantee as FULL (the log holds the transaction on disk before anyone is told it
 * committed) with the fsyncs shared: one fsync covers every commit written before it started.
 */
export class WalSync {
  /** Commits written to the log so far (COMMIT returned), commits known to be on disk, fsyncs done. */
  readonly counts = { committed: 0, synced: 0, syncs: 0 };
  private running: Promise<void> | null = null;

  private readonly walPath: string;

  constructor(readonly databaseFile: string) {
    this.walPath = `${databaseFile}-wal`;
  }

  /** A COMMIT has returned: what it wrote must be synced before its caller is answered. */
  noteCommit(): void {
    this.counts.committed++;
  }

  /** Resolves once every commit noted so far is on disk. */
  async durable(): Promise<void> {
    const target = this.counts.committed;
    while (this.counts.synced < target) {
      this.running ??= this.syncOnce().finally(() => (this.running = null));
      await this.running;
    }
  }

  private async syncOnce(): Promise<void> {
    const upTo = this.counts.committed;
    // opened for each sync: SQLite may delete and recreate the log, and a kept descriptor would sync the old file
    try {
      const file = await open(this.walPath, 'r');
      try {
        // what SQLite itself calls for the log (fdatasync): the data and the size, not the times
        await file.datasync();
      } finally {
        await file.close();
      }
    } catch (error) {
      // no log: the last connection closed and checkpointed it into the database, which SQLite synced
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.counts.syncs++;
    this.counts.synced = Math.max(this.counts.synced, upTo);
  }
}
