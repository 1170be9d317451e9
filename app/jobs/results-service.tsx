'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useStoredDeviceId } from '@/app/content/_components/content-context';
import { useTRPC } from '@/app/_lib/trpc';

/**
 * Sends jobs' results from this device to the device their owner chose, and takes those sent here
 * (app/_lib/transfer/results.ts), on every screen. Renders nothing; mounted once with the background services.
 */
export function ResultsService() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const stored = useStoredDeviceId();
  const devices = useQuery(trpc.device.list.queryOptions(undefined, { enabled: Boolean(me.data && stored) }));
  const owned = Boolean(stored && devices.data?.some((d) => d.device.id === stored));
  useEffect(() => {
    if (!owned || !stored) return;
    let live = true;
    let stop: (() => void) | null = null;
    void Promise.all([import('@/app/_lib/transfer/manager'), import('@/app/_lib/transfer/results'), import('@/app/_lib/trpc-client')]).then(
      ([{ getTransferManager }, { getResultsCourier }, { trpcClient }]) => {
        if (!live) return;
        const courier = getResultsCourier(stored, getTransferManager(stored), trpcClient());
        courier.start();
        stop = () => courier.stop();
      },
    );
    return () => {
      live = false;
      stop?.();
    };
  }, [owned, stored]);
  return null;
}
