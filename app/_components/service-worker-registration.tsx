'use client';

import { useEffect } from 'react';

/**
 * Registers the Serwist service worker (public/sw.js, built by `serwist build`) in production
 * builds. It waits for the page's `load` event so the worker's precaching never competes with the
 * first render for bandwidth. In development it removes a worker left behind by an earlier
 * production run on the same origin, which would otherwise keep serving precached pages.
 */
export function ServiceWorkerRegistration() {
  useEffect(() => {
    if (!('serviceWorker' in navigator)) return;
    if (process.env.NODE_ENV !== 'production') {
      void navigator.serviceWorker.getRegistrations().then((registrations) => {
        for (const registration of registrations) void registration.unregister();
      });
      return;
    }
    const register = () => {
      navigator.serviceWorker
        .register('/sw.js', { scope: '/', updateViaCache: 'none' })
        .catch((error: unknown) => console.warn('Service worker registration failed', error));
    };
    if (document.readyState === 'complete') {
      register();
      return;
    }
    window.addEventListener('load', register, { once: true });
    return () => window.removeEventListener('load', register);
  }, []);
  return null;
}
