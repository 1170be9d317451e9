import { federatedIds } from '../community/links';
import type { Queryable } from '../db/client';
import { bookDepth, recentTrades } from '../market/queries';
import type { BookWatch } from './book-feed';
import { bookWantKey, type BookWant } from './tab-protocol';

/** A book's public state as `market.bookEvents` and `signal.stream` send it: its levels and latest trades. */
export type BookState = Awaited<ReturnType<typeof readBookState>>;

async function readBookState(db: Queryable, want: BookWant) {
  const { communityId, category, unit, tradeLimit } = want;
  const [levels, trades] = await Promise.all([bookDepth(db, communityId, category, unit, new Date()), recentTrades(db, communityId, category, tradeLimit)]);
  return { communityId, category, unit: unit ?? null, levels, trades };
}

/** The shared watch of a book (linked communities' books included), for a member of its community. */
export async function bookWatchFor(db: Queryable, want: BookWant): Promise<BookWatch<BookState>> {
  return {
    scope: db,
    communityIds: await federatedIds(db, want.communityId),
    category: want.category,
    variant: `${want.communityId}|${want.unit ?? ''}|${want.tradeLimit}`,
    key: bookWantKey(want),
    read: () => readBookState(db, want),
  };
}
