'use client';

import { useEffect, useState } from 'react';

/**
 * False until the page has loaded and the main thread has had a moment of idle (at most `timeoutMs` after the load
 * event): for parts that need not compete with the first screen — the live stream, background transfers, the
 * relay bar — so that a phone draws and hydrates the screen first and opens connections after.
 */
export function useAfterLoad(timeoutMs = 1_500): boolean {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let idle: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const afterLoad = () => {
      if ('requestIdleCallback' in window) idle = window.requestIdleCallback(() => setReady(true), { timeout: timeoutMs });
      else timer = setTimeout(() => setReady(true), 0);
    };
    if (document.readyState === 'complete') afterLoad();
    else window.addEventListener('load', afterLoad, { once: true });
    return () => {
      window.removeEventListener('load', afterLoad);
      if (idle !== undefined) window.cancelIdleCallback(idle);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [timeoutMs]);
  return ready;
}
