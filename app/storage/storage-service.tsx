'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useStoredDeviceId } from '@/app/content/_components/content-context';
import { getStorageAgent } from '@/app/_lib/storage/page-agent';
import { useTRPC } from '@/app/_lib/trpc';

/**
 * Runs this device's storage agent on every screen while the app is open: it answers challenges, fetches and
 * keeps the copies it is given, and serves them. Renders nothing; mounted once in the app shell.
 */
export function StorageService() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const stored = useStoredDeviceId();
  const devices = useQuery(trpc.device.list.queryOptions(undefined, { enabled: Boolean(me.data && stored) }));
  const owned = Boolean(stored && devices.data?.some((d) => d.device.id === stored));
  useEffect(() => {
    if (owned && stored) getStorageAgent(stored).start();
  }, [owned, stored]);
  return null;
}
