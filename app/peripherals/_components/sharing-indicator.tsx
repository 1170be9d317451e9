'use client';

import Link from 'next/link';
import { useState, useSyncExternalStore } from 'react';
import { whenShort } from '@/app/_lib/format';
import { KIND_WORDS } from '@/app/_lib/peripheral/client';
import { sellerSession } from '@/app/_lib/peripheral/seller-state';
import styles from '../peripherals.module.css';

/**
 * Shown on every screen while this device shares its camera, microphone or screen for a rental: who sees it,
 * until when, and a Stop button (the contract then pays for what was proven, and no more). It reads the light
 * seller-state store; the session itself (WebRTC) is loaded by the rental's screen, which started the sharing.
 */
export function SharingIndicator() {
  const sharing = useSyncExternalStore(sellerSession.subscribe, sellerSession.getSnapshot, sellerSession.getServerSnapshot);
  const [error, setError] = useState<string | null>(null);
  const [stopping, setStopping] = useState(false);
  if (!sharing) return null;
  const state = sharing.link === 'connected' ? '' : ' (waiting for their device)';
  return (
    <div className={styles.indicator} role="status" aria-live="polite" data-testid="sharing-indicator">
      <span className={styles.dot} aria-hidden="true" />
      <Link className={styles.what} href={`/peripherals/${sharing.contractId}`}>
        Your {KIND_WORDS[sharing.kind]} is being shared with @{sharing.buyerHandle} until {whenShort(sharing.windowEnd)}
        {state}.
      </Link>
      {error ? <p role="alert">{error}</p> : null}
      <button
        type="button"
        className={`button ${styles.stop}`}
        disabled={stopping}
        onClick={() => {
          setStopping(true);
          setError(null);
          import('@/app/_lib/peripheral/seller-session')
            .then(({ stopSharing }) => stopSharing(sharing.contractId))
            .catch((e: unknown) => setError(e instanceof Error ? e.message : 'Could not reach Swapmesh: the sharing stopped here; try again to settle.'))
            .finally(() => setStopping(false));
        }}
      >
        Stop
      </button>
    </div>
  );
}
