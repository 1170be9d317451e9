import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { RecentDurations, type DurationSummary } from '../system/recent-durations';

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
  /**
   * How long each sync took over the last minute, from its start until this thread heard it was done (the disk's
   * time, plus the event loop's if something held it up meanwhile): every acknowledged write waited that long.
   */
  private readonly times = new RecentDurations(60_000);
  private running: Promise<void> | null = null;
  private readonly walPath: string;
  /**
   * The log, kept open between syncs: opening and closing it each time were two more jobs on libuv's thread
   * pool, each waiting for a pool thread and then for the event loop, and under load that was most of a
   * sync's time (opening alone took 5–40 ms). SQLite deletes the log only when the last connection to the
   * database closes; the client that owns this calls `reopen` whenever its connections are made again.
   */
  private file: Promise<FileHandle | null> | null = null;

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

  /** The log's syncs over the last minute (null when there were none); over 20 ms counts as slow. */
  recentSyncs(now = Date.now()): DurationSummary | null {
    return this.times.summary(now, 20);
  }

  /** The connections were made again (the log may be a new file): the next sync opens it afresh. */
  reopen(): void {
    const file = this.file;
    this.file = null;
    // a sync still running on the old handle finishes first (close waits for it)
    void file?.then((handle) => handle?.close()).catch(() => undefined);
  }

  private async syncOnce(): Promise<void> {
    const upTo = this.counts.committed;
    const started = performance.now();
    this.file ??= open(this.walPath, 'r').catch((error: NodeJS.ErrnoException) => {
      // no log: the last connection closed and checkpointed it into the database, which SQLite synced
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    const file = this.file;
    let handle: FileHandle | null;
    try {
      handle = await file;
      // what SQLite itself calls for the log (fdatasync): the data and the size, not the times
      await handle?.datasync();
    } catch (error) {
      if (this.file === file) this.file = null;
      throw error;
    }
    // no log yet: look again next time
    if (handle === null && this.file === file) this.file = null;
    this.counts.syncs++;
    this.counts.synced = Math.max(this.counts.synced, upTo);
    this.times.record(performance.now() - started);
  }
}
