import { kindOf, type Tx } from './client';

/**
 * Serializes matching of one book (community + category) until the transaction ends. On SQLite every
 * transaction of the (single) coordinator process is already serialized by the adapter; on PostgreSQL
 * a transaction-scoped advisory lock serializes the book across every coordinator process.
 */
export async function lockBook(tx: Tx, communityId: string, category: string): Promise<void> {
  if (kindOf(tx) === 'postgres') {
    const key = `book:${communityId}:${category}`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
  }
}
