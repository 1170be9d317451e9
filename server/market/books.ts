import { Prisma } from '../db/generated/sqlite/client';
import { activeLinksQuery, federatedFrom, federatedIds, type LinkRow } from '../community/links';
import { kindOf, type Tx } from '../db/client';
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
  return openMarketBooksReading(tx, communityId, category, []);
}

/**
 * `openMarketBooks`, and then the rows of `reads`. On SQLite they all go in one message to its thread: the
 * book's lock is the process's one writer there (server/db/book-lock.ts), so reading before "locking" reads
 * the same. On PostgreSQL `reads` run once the books are locked.
 */
export async function openMarketBooksReading(
  tx: Tx,
  communityId: string,
  category: string,
  reads: Prisma.Sql[],
): Promise<{ communities: string[]; community: MarketCommunity; rows: unknown[][] }> {
  const sqlite = kindOf(tx) === 'sqlite';
  const [links, terms, ...rows] = await rawQueryAll<[LinkRow, { id: string; commissionBps: unknown; creditLimit: unknown }, ...unknown[]]>(tx, [
    activeLinksQuery(communityId),
    Prisma.sql`SELECT id, "commissionBps", "creditLimit" FROM "Community" WHERE id = ${communityId}`,
    ...(sqlite ? reads : []),
  ]);
  const row = terms[0];
  if (!row) throw new DomainError('NOT_FOUND', 'This community no longer exists.');
  const communities = federatedFrom(communityId, links);
  await lockBooks(tx, communities, category);
  const community = { id: row.id, commissionBps: Number(row.commissionBps), creditLimit: toMicro(BigInt(row.creditLimit as bigint)) };
  return { communities, community, rows: sqlite || reads.length === 0 ? rows : await rawQueryAll(tx, reads) };
}
