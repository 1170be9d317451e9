'use client';

import dynamic from 'next/dynamic';
import { useAfterLoad } from '@/app/_lib/after-load';

const ConnectionStatus = dynamic(() => import('./connection-status').then((m) => m.ConnectionStatus), { ssr: false });
const ServiceWorkerRegistration = dynamic(() => import('./service-worker-registration').then((m) => m.ServiceWorkerRegistration), { ssr: false });

/**
 * The offline banner and the service worker's registration, started once the first screen is drawn and idle: neither
 * has anything to show before then, and leaving them out of the first load keeps its scripts small.
 */
export function AfterLoadChrome() {
  const afterLoad = useAfterLoad();
  return afterLoad ? (
    <>
      <ConnectionStatus />
      <ServiceWorkerRegistration />
    </>
  ) : null;
}
