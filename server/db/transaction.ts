import { Prisma } from './generated/sqlite/client';
import { kindOf, rememberKind, type Db, type Tx } from './client';
import { rememberConnection } from './direct';

const MAX_ATTEMPTS = 5;

/** PostgreSQL aborted the transaction to break a deadlock or a serialization conflict: safe to run again. */
function isRetryable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true;
  const text = error instanceof Error ? error.message : String(error);
  return /deadlock detected|could not serialize access|40P01|40001/.test(text);
}

/**
 * Runs `fn` in one interactive transaction, again (up to 5 times) when PostgreSQL aborts it for a
 * deadlock. Inside it, use only `tx`: on SQLite the process-wide statement lock is held by the
 * transaction, so a query on the outer client would wait for it.
 */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const kind = kindOf(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction((tx) => {
        rememberKind(tx, kind);
        if (kind === 'sqlite') rememberConnection(tx, db);
        return fn(tx);
      });
    } catch (error) {
      if (kind !== 'postgres' || attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
