import { Prisma } from './generated/sqlite/client';
import { kindOf, rememberKind, sqliteAdapterOf, type Db, type Tx } from './client';
import { OrmInRawTransaction, rawOnlyTx, rememberConnection } from './direct';

const MAX_ATTEMPTS = 5;

/** PostgreSQL aborted the transaction to break a deadlock or a serialization conflict: safe to run again. */
function isRetryable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true;
  const text = error instanceof Error ? error.message : String(error);
  return /deadlock detected|could not serialize access|40P01|40001/.test(text);
}

/**
 * Resolves once every transaction committed so far is durable: on SQLite, once an fsync of the write-ahead
 * log started after their commits has completed (server/db/wal-sync.ts); PostgreSQL answers a commit only
 * once it is durable.
 */
export function durable(db: Db): Promise<void> {
  return kindOf(db) === 'sqlite' ? (sqliteAdapterOf(db)?.durable() ?? Promise.resolve()) : Promise.resolve();
}

/**
 * Runs `fn` in one interactive transaction, again (up to 5 times) when PostgreSQL aborts it for a
 * deadlock. Inside it, use only `tx`: on SQLite the process-wide statement lock is held by the
 * transaction, so a query on the outer client would wait for it. The answer comes once the commit is
 * durable; with `answerWhenDurable: false` it comes as soon as the commit returns, for a writer that
 * goes on with its next batch and tells its callers after `durable(db)` (server/db/group-commit.ts).
 */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: { answerWhenDurable?: boolean } = {}): Promise<T> {
  const kind = kindOf(db);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await db.$transaction((tx) => {
        rememberKind(tx, kind);
        if (kind === 'sqlite') rememberConnection(tx, db);
        return fn(tx);
      });
      // on SQLite the commit reached the log; the caller hears of it once the log is on disk (server/db/wal-sync.ts)
      if (options.answerWhenDurable !== false) await durable(db);
      return result;
    } catch (error) {
      if (kind !== 'postgres' || attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}

/**
 * `transaction` for a callback that runs raw statements only (server/db/direct.ts), without the ORM's
 * interactive transaction on SQLite: BEGIN goes with the callback's first statement and COMMIT with its
 * deferred writes, so a callback that reads once and writes once costs two messages to SQLite's thread.
 * The ORM's own cost per transaction (a few hundred microseconds of CPU, and a message each for BEGIN and
 * COMMIT) was most of a small batch's time. `tx` is not a Prisma client here: an ORM call on it throws
 * `OrmInRawTransaction` — or, with `ormIfNeeded`, rolls the transaction back and runs `fn` again in the
 * ORM's (for a callback that needs the ORM only on rare paths; it must have no effect outside its
 * transaction before it returns). On PostgreSQL it is `transaction`.
 */
export async function rawTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: { answerWhenDurable?: boolean; ormIfNeeded?: boolean } = {}): Promise<T> {
  const adapter = kindOf(db) === 'sqlite' ? sqliteAdapterOf(db) : undefined;
  if (!adapter) return transaction(db, fn, options);
  if (!adapter.connected) await db.$connect();
  const { connection, transaction: open } = await adapter.rawTransaction();
  const tx = rawOnlyTx(connection);
  rememberKind(tx, 'sqlite');
  let result: T;
  try {
    result = await fn(tx);
  } catch (error) {
    await open.rollback();
    if (options.ormIfNeeded && error instanceof OrmInRawTransaction) return transaction(db, fn, options);
    throw error;
  }
  await open.commit();
  if (options.answerWhenDurable !== false) await durable(db);
  return result;
}
