'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import styles from '../content.module.css';
import { useContent, useTransfers } from './content-context';
import { useOfferedGifts } from './gifts';

const tabs = [
  { href: '/content', label: 'Catalog' },
  { href: '/content/transfers', label: 'Transfers' },
  { href: '/content/nearby', label: 'Nearby' },
  { href: '/content/publish', label: 'Offer' },
];

export function ContentNav() {
  const pathname = usePathname();
  const { manager } = useContent();
  const snapshot = useTransfers(manager);
  const running = snapshot.transfers.filter((t) => ['queued', 'connecting', 'waiting', 'transferring', 'verifying'].includes(t.phase)).length;
  const gifts = useOfferedGifts().data?.length ?? 0;
  const current = (href: string) => (href === '/content' ? pathname === '/content' || pathname.startsWith('/content/items') : pathname.startsWith(href));
  return (
    <nav className={styles.subnav} aria-label="Files">
      {tabs.map((tab) => (
        <Link key={tab.href} href={tab.href} aria-current={current(tab.href) ? 'page' : undefined}>
          {tab.label}
          {tab.href === '/content/transfers' && running > 0 ? <span className={styles.badge} aria-label={`${running} running`}>{running}</span> : null}
          {tab.href === '/content/nearby' && gifts > 0 ? <span className={styles.badge} aria-label={`${gifts} offered to you`}>{gifts}</span> : null}
        </Link>
      ))}
    </nav>
  );
}
