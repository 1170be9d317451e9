import { federatedIds } from '../community/links';
import type { Tx } from '../db/client';
import { lockBook } from '../db/book-lock';

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
