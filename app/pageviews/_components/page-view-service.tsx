'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useStoredDeviceId } from '@/app/content/_components/content-context';
import { getPageViewServer } from '@/app/_lib/pageviews/page-view-server';
import { readServing } from '@/app/_lib/pageviews/serving-choice';
import { useTRPC } from '@/app/_lib/trpc';

/**
 * Serves page views from this device on every screen while the member has switched it on (the choice is kept in
 * this browser; the coordinator's record of it is the device's page-view SELL, and a claim refused because that
 * was withdrawn stops the loop). Renders nothing; mounted once in the app shell.
 */
export function PageViewService() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const stored = useStoredDeviceId();
  useEffect(() => {
    if (!me.data || !stored) return;
    for (const choice of readServing()) if (choice.deviceId === stored) getPageViewServer(choice.deviceId, choice.communityId).start();
  }, [me.data, stored]);
  return null;
}
