import { clientCache } from '../db/client-cache';
import type { Queryable } from '../db/client';
import { toMicro } from '../money';

export type Membership = {
  role: 'MEMBER' | 'COORDINATOR';
  community: { id: string; slug: string; name: string; commissionBps: number; creditLimit: number; valuationRates: unknown };
};

/**
 * Recently looked-up memberships, kept for MEMBERSHIP_CACHE_MS so that a request to a community's
 * procedures does not cost a query each time (the market's hot path), per database client
 * (server/db/client-cache.ts). Any change to a
 * membership or a community's settings made in this process clears the client's cache at once
 * (`forgetMemberships`); another coordinator process sees it within MEMBERSHIP_CACHE_MS. Money is never
 * decided on these figures alone: the market and the ledger read the community again under their locks.
 */
export const MEMBERSHIP_CACHE_MS = 5_000;
const MEMBERSHIP_CACHE_SIZE = 20_000;
type Cached = { membership: Membership; until: number };
const cacheOf = clientCache<Cached>('swapmeshMembershipCaches');

/** The member's membership of the community (with the community's public settings), or null. */
export async function membershipOf(db: Queryable, memberId: string, communityId: string): Promise<Membership | null> {
  const cache = cacheOf(db);
  const key = `${memberId}:${communityId}`;
  const cached = cache.get(key);
  if (cached && cached.until > Date.now()) return cached.membership;
  const row = await db.membership.findUnique({
    where: { memberId_communityId: { memberId, communityId } },
    select: {
      role: true,
      community: { select: { id: true, slug: true, name: true, commissionBps: true, creditLimit: true, valuationRates: true } },
    },
  });
  if (!row) {
    cache.delete(key);
    return null;
  }
  // money in the context is micro-credits as numbers, like everywhere past the database
  const membership: Membership = { role: row.role, community: { ...row.community, creditLimit: toMicro(row.community.creditLimit) } };
  if (cache.size >= MEMBERSHIP_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, { membership, until: Date.now() + MEMBERSHIP_CACHE_MS });
  return membership;
}

/** Forgets every cached membership of this client: call after changing a membership or a community's settings. */
export function forgetMemberships(db: Queryable): void {
  cacheOf(db).clear();
}
