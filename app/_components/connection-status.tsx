'use client';

import { useEffect, useRef, useState, type CSSProperties } from 'react';

const region: CSSProperties = {
  position: 'fixed',
  left: 0,
  right: 0,
  bottom: 'calc(var(--nav-height, 0px) + env(safe-area-inset-bottom, 0px) + 0.75rem)',
  zIndex: 50,
  display: 'flex',
  justifyContent: 'center',
  padding: '0 0.75rem',
  pointerEvents: 'none',
};

const banner: CSSProperties = {
  display: 'flex',
  alignItems: 'flex-start',
  gap: '0.7rem',
  width: '100%',
  maxWidth: '36rem',
  padding: '0.8rem 1rem',
  borderRadius: '14px',
  background: '#1c1917',
  color: '#fafaf9',
  boxShadow: '0 6px 24px rgb(0 0 0 / 0.25)',
  fontSize: '0.95rem',
  lineHeight: 1.4,
  margin: 0,
  pointerEvents: 'auto',
};

const icon: CSSProperties = { flex: 'none', width: 22, height: 22, marginTop: 1, color: '#fbbf24' };

/**
 * Whether the coordinator answers: navigator.onLine alone says "online" on a network that reaches
 * nowhere (and some browsers keep it true when the connection drops), so a short ping decides.
 */
async function coordinatorReachable(): Promise<boolean> {
  if (!navigator.onLine) return false;
  try {
    // any answer, even an error status, means the coordinator is reachable; only a network failure is not
    await fetch('/api/ping', { cache: 'no-store' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tells the user when the device has no connection. The live region is always in the page (empty
 * while online) so screen readers announce the message when it appears. The connection is checked in
 * an effect, never during render, so the server HTML and the first client render agree; again when
 * the browser reports a change and when the app comes back to the foreground.
 */
export function ConnectionStatus() {
  const [online, setOnline] = useState(true);
  const onlineRef = useRef(true);
  onlineRef.current = online;

  useEffect(() => {
    let latest = 0;
    const update = () => {
      const check = ++latest;
      void coordinatorReachable().then((reachable) => {
        if (check === latest) setOnline(reachable);
      });
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible') update();
    };
    update();
    // while offline, look again now and then: not every browser fires 'online' when the connection returns
    const retry = setInterval(() => {
      if (!onlineRef.current) update();
    }, 3_000);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      latest = -1;
      clearInterval(retry);
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);

  return (
    <div role="status" aria-live="polite" style={online ? undefined : region}>
      {online ? null : (
        <p style={banner} data-testid="offline-banner">
          <svg viewBox="0 0 24 24" style={icon} aria-hidden="true" fill="none" stroke="currentColor"
            strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
            <path d="M2 2l20 20" />
            <path d="M8.5 16.5a5 5 0 0 1 7 0" />
            <path d="M5 12.9a10 10 0 0 1 5.2-2.8" />
            <path d="M19 12.9a10 10 0 0 0-2.3-1.6" />
            <path d="M2 8.8a15 15 0 0 1 4.2-2.6" />
            <path d="M22 8.8A15 15 0 0 0 10.7 5" />
            <path d="M12 20h.01" />
          </svg>
          <span>
            <strong>You&apos;re offline</strong> — showing the saved app. Changes will need a connection.
          </span>
        </p>
      )}
    </div>
  );
}
