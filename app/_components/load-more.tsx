'use client';

/** What a list screen needs from `useInfiniteQuery` to offer its next page. */
type Pages = { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };

/** The rows of every page loaded so far, in order. */
export function rowsOf<T>(data: { pages: { items: T[] }[] } | undefined): T[] {
  return data?.pages.flatMap((page) => page.items) ?? [];
}

/** A full-width "Load more" button (a 48 px touch target) under a paged list; gone once the last page is loaded. */
export function LoadMore({ query, label = 'Load more' }: { query: Pages; label?: string }) {
  if (!query.hasNextPage) return null;
  return (
    <button
      type="button"
      className="button secondary block"
      style={{ minHeight: 48, marginTop: '0.75rem' }}
      data-testid="load-more"
      disabled={query.isFetchingNextPage}
      onClick={() => void query.fetchNextPage()}
    >
      {query.isFetchingNextPage ? 'Loading…' : label}
    </button>
  );
}
