import type { Db, Tx } from './client';

/**
 * Runs `fn` in one interactive transaction. Inside it, use only `tx`: on SQLite the process-wide
 * statement lock is held by the transaction, so a query on the outer client would wait for it.
 */
export function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(fn);
}
