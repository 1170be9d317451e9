'use client';

import Link from 'next/link';
import { formatCredits } from '@/app/_lib/money';
import styles from '../content.module.css';
import { formatBytes, mediaLabel } from './format';

export type CatalogItem = {
  id: string;
  title: string;
  mediaType: string;
  sizeBytes: number;
  pricing: string;
  price: number;
  owner: { handle: string };
  online: boolean;
  nearby: boolean;
};

export function ItemRow({ item }: { item: CatalogItem }) {
  const ext = item.mediaType.split('/')[1]?.split(/[.+-]/)[0]?.slice(0, 4) ?? 'file';
  return (
    <Link className={styles.itemRow} href={`/content/items/${item.id}`} data-testid="catalog-item">
      <span className={styles.icon} aria-hidden="true">{ext}</span>
      <span>
        <span className={styles.title}>{item.title}</span>
        <span className="muted small">
          {mediaLabel(item.mediaType)} · {formatBytes(item.sizeBytes)} · @{item.owner.handle}
        </span>
        <span className="row" style={{ gap: '0.3rem', marginTop: 2 }}>
          {item.nearby ? <span className="pill">nearby</span> : item.online ? <span className="pill">online</span> : <span className="pill gray">offline</span>}
        </span>
      </span>
      <span className={styles.price}>{item.pricing === 'GIFT' ? 'Free' : `${formatCredits(item.price)} cr`}</span>
    </Link>
  );
}
