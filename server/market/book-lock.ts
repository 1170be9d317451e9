import { federatedIds } from '../community/links';
import { kindOf, type Tx } from '../db/client';

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

/**
 * Locks every book an order of this community and category can match in (linked communities share
 * their books), always in the same order, so that two transactions never wait on each other's locks.
 * Every market path that may fill or re-match takes the whole set first. Returns the communities.
 */
export async function lockMarketBooks(tx: Tx, communityId: string, category: string): Promise<string[]> {
  const communities = await federatedIds(tx, communityId);
  for (const id of [...communities].sort()) await lockBook(tx, id, category);
  return communities;
}
