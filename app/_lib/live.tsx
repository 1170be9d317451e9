'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { getLiveHub } from './live-client';
import type { StreamEvent } from './live-hub';
import { useTRPC } from './trpc';

/**
 * Subscribes the signed-in member to their live events (fills, orders, negotiations, contracts) and
 * keeps every screen current by refreshing the queries each event touches (the toasts are
 * app/_components/notifications). The events come through the browser's one live stream (app/_lib/live-hub.ts,
 * `signal.stream`).
 */
export function LiveEvents({ enabled, children }: { enabled: boolean; children: React.ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();

  const onEvent = (data: Extract<StreamEvent, { feed: 'event' }>) => {
    switch (data.type) {
      case 'fill':
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        break;
      case 'order':
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'negotiation':
        void queryClient.invalidateQueries(trpc.negotiation.pathFilter());
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        break;
      case 'contract':
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'transfer':
        // the transfer manager (WebRTC) is loaded only where transfers run; if it is, it is already in memory
        void import('./transfer/manager').then(({ currentTransferManager }) => currentTransferManager()?.refresh());
        void queryClient.invalidateQueries(trpc.content.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        break;
      case 'storage':
        void queryClient.invalidateQueries(trpc.storage.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'pageviews':
        void queryClient.invalidateQueries(trpc.pageviews.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'barter':
        void queryClient.invalidateQueries(trpc.barter.pathFilter());
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
    }
  };
  // the latest handler, without re-registering on every render
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!enabled) return;
    return getLiveHub().watchEvents((event) => handler.current(event));
  }, [enabled]);

  return <>{children}</>;
}
