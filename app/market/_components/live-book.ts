'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { getLiveHub } from '@/app/_lib/live-client';
import { useTRPC } from '@/app/_lib/trpc';
import type { Category } from '@/app/_lib/units';

/** How many recent trades the market screen shows (the `market.trades` query it keeps current). */
export const TRADE_LIMIT = 10;

/**
 * Keeps the book's levels and the recent trades of the market screen current: the browser's live stream
 * (app/_lib/live-hub.ts, the book's part of `signal.stream`, as `market.bookEvents` sends it) carries them
 * within moments of any member's order, cancel or fill (not only ours), and each event is written straight
 * into the `market.book` and `market.trades` queries the screen reads. On reconnect the server sends the
 * current state first, so nothing missed while away stays missed.
 */
export function useLiveBook(communityId: string, category: Category, unit: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const topTrade = useRef<string | null>(null);
  useEffect(() => {
    return getLiveHub().watchBook({ communityId, category, unit, tradeLimit: TRADE_LIMIT }, (data) => {
      if (data.unit !== unit || data.category !== category) return;
      queryClient.setQueryData(trpc.market.book.queryKey({ communityId, category, unit }), data.levels);
      queryClient.setQueryData(trpc.market.trades.queryKey({ communityId, category, limit: TRADE_LIMIT }), data.trades as never);
      const top = (data.trades[0] as { id?: string } | undefined)?.id ?? null;
      if (top !== topTrade.current) {
        // a new trade moves the price chart too
        if (topTrade.current !== null) void queryClient.invalidateQueries(trpc.market.priceHistory.pathFilter());
        topTrade.current = top;
      }
    });
  }, [communityId, category, unit, queryClient, trpc]);
}
