import { Prisma } from '../db/generated/sqlite/client';
import { activeLinksQuery, federatedFrom, federatedIds, type LinkRow } from '../community/links';
import type { Tx } from '../db/client';
import { lockBook } from '../db/book-lock';
import { rawQueryAll } from '../db/direct';
import { DomainError } from '../errors';
import { toMicro } from '../money';
import type { MarketCommunity } from './fills';

/**
 * Locks every book an order of this community and category can match in (linked communities share
 * their books), always in the same order, so that two transactions never wait on each other's locks.
 * Every market path that may fill or re-match takes the whole set first. Returns the communities.
 */
export async function lockMarketBooks(tx: Tx, communityId: string, category: string): Promise<string[]> {
  const communities = await federatedIds(tx, communityId);
  await lockBooks(tx, communities, category);
  return communities;
}

/** The books of `communities` in one category, locked in a fixed order (their ids sorted). */
async function lockBooks(tx: Tx, communities: string[], category: string): Promise<void> {
  for (const id of [...communities].sort()) await lockBook(tx, id, category);
}

/**
 * `lockMarketBooks` and the community's market terms (`marketCommunity`) for a batch of the book's writer:
 * both read in one message to SQLite's thread, raw.
 */
export async function openMarketBooks(tx: Tx, communityId: string, category: string): Promise<{ communities: string[]; community: MarketCommunity }> {
  const [links, rows] = await rawQueryAll<[LinkRow, { id: string; commissionBps: unknown; creditLimit: unknown }]>(tx, [
    activeLinksQuery(communityId),
    Prisma.sql`SELECT id, "commissionBps", "creditLimit" FROM "Community" WHERE id = ${communityId}`,
  ]);
  const row = rows[0];
  if (!row) throw new DomainError('NOT_FOUND', 'This community no longer exists.');
  const communities = federatedFrom(communityId, links);
  await lockBooks(tx, communities, category);
  return { communities, community: { id: row.id, commissionBps: Number(row.commissionBps), creditLimit: toMicro(BigInt(row.creditLimit as bigint)) } };
}
