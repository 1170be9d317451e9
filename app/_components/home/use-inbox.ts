'use client';

import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTRPC } from '@/app/_lib/trpc';

/** The start of the device's day, as the inbox counts "today" (the same value all day, so every screen shares one query). */
export function startOfToday(now = new Date()): string {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day.toISOString();
}

/** The member's Home inbox (`home.inbox`), shared by Home and the navigation's badge. */
export function useHomeInbox(enabled = true) {
  const trpc = useTRPC();
  const since = useMemo(() => startOfToday(), []);
  return useQuery(trpc.home.inbox.queryOptions({ since }, { enabled }));
}
