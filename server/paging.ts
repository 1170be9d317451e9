import { z } from 'zod';

/**
 * Keyset paging for lists: rows in a stable (createdAt, id) order, a page of `limit` rows and the cursor of the
 * last one. The next page starts strictly after that cursor, so rows added meanwhile never shift a page
 * (no offsets, no duplicates). `ledger.history` pages the same way.
 */
export type PageCursor = { createdAt: string; id: string };
export type Page<T> = { items: T[]; nextCursor: PageCursor | null };

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 100;

export const pageCursor = z.object({ createdAt: z.iso.datetime(), id: z.string().min(1).max(64) });

/** The paging fields of a list's input: an optional cursor (from the previous page's `nextCursor`) and a bounded limit. */
export const pageFields = {
  cursor: pageCursor.nullish(),
  limit: z.number().int('The page size is a whole number.').min(1, 'Ask for at least one row.').max(MAX_PAGE, `A page holds at most ${MAX_PAGE} rows.`).default(DEFAULT_PAGE),
};

export type PageRequest = { cursor?: PageCursor | null; limit: number };

/** The `where` clause that starts after the cursor, in a newest-first (`desc`) or oldest-first (`asc`) order. */
export function afterCursor(cursor: PageCursor | null | undefined, direction: 'asc' | 'desc') {
  if (!cursor) return {};
  const at = new Date(cursor.createdAt);
  const beyond = direction === 'desc' ? { lt: at } : { gt: at };
  const tie = direction === 'desc' ? { lt: cursor.id } : { gt: cursor.id };
  return { OR: [{ createdAt: beyond }, { createdAt: at, id: tie }] };
}

/** The ordering that matches `afterCursor`. */
export function pageOrder(direction: 'asc' | 'desc') {
  return [{ createdAt: direction }, { id: direction }] as [{ createdAt: 'asc' | 'desc' }, { id: 'asc' | 'desc' }];
}

/** Query `limit + 1` rows; this cuts them to the page and tells whether there is a next one. */
export function toPage<R extends { createdAt: Date; id: string }, T>(rows: R[], limit: number, present: (row: R) => T): Page<T> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(present),
    nextCursor: rows.length > limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
  };
}
