import { perClient } from '../db/client-cache';
import { RefreshingCache } from '../db/refreshing-cache';
import type { Queryable } from '../db/client';
import { toMicro } from '../money';

export type Membership = {
  role: 'MEMBER' | 'COORDINATOR';
  community: { id: string; slug: string; name: string; commissionBps: number; creditLimit: number; valuationRates: unknown };
};

/**
 * Recently looked-up memberships, so that a request to a community's procedures does not cost a query each
 * time (the market's hot path): one in use is read again in the background after MEMBERSHIP_FRESH_MS, and
 * nothing older than MEMBERSHIP_CACHE_MS is answered (server/db/refreshing-cache.ts), per database client.
 * Any change to a membership or a community's settings made in this process clears the client's cache at
 * once (`forgetMemberships`); another coordinator process sees it within MEMBERSHIP_CACHE_MS. Money is never
 * decided on these figures alone: the market and the ledger read the community again under their locks.
 */
export const MEMBERSHIP_CACHE_MS = 5_000;
const MEMBERSHIP_FRESH_MS = 4_000;
const cacheOf = perClient('swapmeshMembershipCaches', () => new RefreshingCache<Membership>({ freshMs: MEMBERSHIP_FRESH_MS, maxAgeMs: MEMBERSHIP_CACHE_MS, maxSize: 20_000 }));

/** The member's membership of the community (with the community's public settings), or null. */
export function membershipOf(db: Queryable, memberId: string, communityId: string): Promise<Membership | null> {
  return cacheOf(db).get(`${memberId}:${communityId}`, async () => {
    const row = await db.membership.findUnique({
      where: { memberId_communityId: { memberId, communityId } },
      select: {
        role: true,
        community: { select: { id: true, slug: true, name: true, commissionBps: true, creditLimit: true, valuationRates: true } },
      },
    });
    // money in the context is micro-credits as numbers, like everywhere past the database
    return row && { role: row.role, community: { ...row.community, creditLimit: toMicro(row.community.creditLimit) } };
  });
}

/** Forgets every cached membership of this client: call after changing a membership or a community's settings. */
export function forgetMemberships(db: Queryable): void {
  cacheOf(db).clear();
}
