'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useTRPC } from '@/app/_lib/trpc';
import { useContent, useTransfers } from './content-context';

/**
 * Private gifts offered to this device and not taken yet, from the coordinator (so they survive a reload). Read
 * again at once when a sender's device announces one over the data channel, and every 10 s otherwise.
 */
export function useOfferedGifts() {
  const trpc = useTRPC();
  const { deviceId, manager } = useContent();
  const snapshot = useTransfers(manager);
  const gifts = useQuery(trpc.content.gifts.queryOptions({ deviceId }, { refetchInterval: 10_000 }));
  const notices = snapshot.gifts.map((g) => `${g.itemId}@${g.at}`).join(',');
  const { refetch } = gifts;
  useEffect(() => {
    if (notices) void refetch();
  }, [notices, refetch]);
  return gifts;
}
