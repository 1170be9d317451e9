'use client';

import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { getLiveHub } from './live-client';
import type { StreamEvent } from './live-hub';
import { currentTransferManager } from './transfer/manager';
import { unitPrice } from './format';
import { useTRPC } from './trpc';
import { categoryWord } from './units';

export type Toast = { id: number; text: string };

const ToastContext = createContext<Toast[]>([]);
export const useToasts = () => useContext(ToastContext);

/**
 * Subscribes the signed-in member to their live events (fills, orders, negotiations, contracts) and
 * keeps every screen current by refreshing the queries each event touches; fills also pop a toast. The
 * events come through the browser's one live stream (app/_lib/live-hub.ts, `signal.stream`).
 */
export function LiveEvents({ enabled, children }: { enabled: boolean; children: React.ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const toast = useCallback((text: string) => {
    const id = Date.now() + Math.random();
    setToasts((list) => [...list.slice(-2), { id, text }]);
    setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), 6_000);
  }, []);

  const onEvent = (data: Extract<StreamEvent, { feed: 'event' }>) => {
    switch (data.type) {
      case 'fill':
        if (!data.pulled) toast(`${data.side === 'BUY' ? 'Bought' : 'Sold'} ${data.quantity.toLocaleString()} ${data.quantity === 1 ? 'unit' : 'units'} of ${categoryWord(data.category)} at ${unitPrice(data.price)} credits each`);
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        break;
      case 'order':
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'negotiation':
        if (data.status === 'OPEN' && data.byMemberId === null) toast('A negotiation opened on one of your orders');
        void queryClient.invalidateQueries(trpc.negotiation.pathFilter());
        void queryClient.invalidateQueries(trpc.market.pathFilter());
        break;
      case 'contract':
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        break;
      case 'transfer':
        void currentTransferManager()?.refresh();
        void queryClient.invalidateQueries(trpc.content.pathFilter());
        void queryClient.invalidateQueries(trpc.ledger.pathFilter());
        void queryClient.invalidateQueries(trpc.contract.pathFilter());
        break;
      case 'storage':
        void queryClient.invalidateQueries(trpc.storage.pathFilter());
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

  return <ToastContext.Provider value={toasts}>{children}</ToastContext.Provider>;
}

export function Toasts() {
  const toasts = useToasts();
  if (toasts.length === 0) return null;
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className="toast">{t.text}</div>
      ))}
    </div>
  );
}
