import { createElement, isValidElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { LoadMore, rowsOf } from '@/app/_components/load-more';
import { afterCursor, pageFields, toPage } from '@/server/paging';
import { z } from 'zod';

describe('keyset pages', () => {
  const rows = Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) }));

  it('cuts limit + 1 rows to a page whose cursor is its last row', () => {
    expect(toPage(rows, 4, (r) => r.id)).toEqual({ items: ['r0', 'r1', 'r2', 'r3'], nextCursor: { createdAt: '2026-01-01T00:00:03.000Z', id: 'r3' } });
    expect(toPage(rows.slice(0, 4), 4, (r) => r.id).nextCursor).toBeNull();
    expect(toPage([], 4, (r: { id: string; createdAt: Date }) => r.id)).toEqual({ items: [], nextCursor: null });
  });

  it('starts strictly after the cursor, breaking time ties by id, in either direction', () => {
    expect(afterCursor(null, 'desc')).toEqual({});
    const at = new Date('2026-01-01T00:00:03.000Z');
    expect(afterCursor({ createdAt: at.toISOString(), id: 'r3' }, 'desc')).toEqual({ OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: 'r3' } }] });
    expect(afterCursor({ createdAt: at.toISOString(), id: 'r3' }, 'asc')).toEqual({ OR: [{ createdAt: { gt: at } }, { createdAt: at, id: { gt: 'r3' } }] });
  });

  it('bounds the page size: 1..100, 50 when not given', () => {
    const input = z.object(pageFields);
    expect(input.parse({})).toEqual({ limit: 50 });
    expect(input.safeParse({ limit: 0 }).success).toBe(false);
    expect(input.safeParse({ limit: 101 }).success).toBe(false);
    expect(input.safeParse({ cursor: { createdAt: 'soon', id: 'x' } }).success).toBe(false);
  });
});

describe('Load more', () => {
  const query = (hasNextPage: boolean, isFetchingNextPage = false) => ({ hasNextPage, isFetchingNextPage, fetchNextPage: vi.fn() });

  it('shows a 48 px button that fetches the next page, and nothing once the last page is loaded', () => {
    const next = query(true);
    const button = LoadMore({ query: next });
    expect(isValidElement(button)).toBe(true);
    const markup = renderToStaticMarkup(createElement(LoadMore, { query: next }));
    expect(markup).toContain('Load more');
    expect(markup).toContain('min-height:48px');
    (button as ReactElement<{ onClick: () => void }>).props.onClick();
    expect(next.fetchNextPage).toHaveBeenCalledTimes(1);

    expect(renderToStaticMarkup(createElement(LoadMore, { query: query(false) }))).toBe('');
    expect(renderToStaticMarkup(createElement(LoadMore, { query: query(true, true) }))).toMatch(/disabled.*Loading…/);
  });

  it('joins the loaded pages in order', () => {
    expect(rowsOf({ pages: [{ items: [1, 2] }, { items: [3] }] })).toEqual([1, 2, 3]);
    expect(rowsOf(undefined)).toEqual([]);
  });
});
