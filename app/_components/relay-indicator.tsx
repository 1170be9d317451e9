'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useSyncExternalStore } from 'react';
import { getLiveHub } from '@/app/_lib/live-client';
import { relaying, stopRelaying } from '@/app/_lib/relay/relaying';
import { mbText } from '@/app/_lib/relay/words';
import styles from '@/app/relay/relay.module.css';

/** On every screen while this device relays: for whom, and how much it carried; the relay's own screen shows it itself. */
export function RelayIndicator() {
  const list = useSyncExternalStore(relaying.subscribe, relaying.getSnapshot, relaying.getServerSnapshot);
  const pathname = usePathname();
  // a relay ended by anyone stops here too
  useEffect(
    () =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'contract' && event.action === 'RELAY_ENDED') stopRelaying({ contractId: event.contractId });
      }),
    [],
  );
  const shown = list.filter((r) => pathname !== `/relay/${r.sessionId}`);
  if (shown.length === 0) return null;
  return (
    <div className="stack" style={{ marginBottom: '0.75rem' }}>
      {shown.map((r) => (
        <Link key={r.sessionId} href={`/relay/${r.sessionId}`} className={styles.indicator} data-testid="relay-indicator-bar">
          <span className={styles.dot} aria-hidden />
          Relaying for @{r.sender} → @{r.receiver} · {mbText(r.snap?.forwarded ?? 0)}
        </Link>
      ))}
    </div>
  );
}
