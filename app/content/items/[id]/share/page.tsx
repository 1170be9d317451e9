'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ErrorAlert } from '../../../../_components/form';
import { Pending } from '../../../../_components/loading';
import { describeCounts } from '../../../../_lib/transfer/bundle';
import { useTRPC } from '../../../../_lib/trpc';
import { useContent } from '../../../_components/content-context';
import { formatBytes } from '../../../_components/format';
import styles from '../../../content.module.css';

/**
 * A link and QR code that open an item's page. The link carries nothing but the item's id: whoever opens it
 * sees the item only if they could already (a member of its community; for a private gift its sender and
 * recipient alone, everyone else being told there is no such item).
 */
export default function ShareItemPage() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const { member } = useContent();
  const item = useQuery(trpc.content.get.queryOptions({ itemId: id }));
  const [url, setUrl] = useState('');
  const [qr, setQr] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [canShare, setCanShare] = useState(false);

  useEffect(() => {
    setUrl(`${window.location.origin}/content/items/${encodeURIComponent(id)}`);
    setCanShare(typeof navigator.share === 'function');
  }, [id]);

  useEffect(() => {
    if (!url || !item.data) return;
    let live = true;
    // the QR encoder is loaded by this screen only
    void import('qrcode').then(({ toDataURL }) => toDataURL(url, { margin: 1, width: 400, errorCorrectionLevel: 'M' })).then((data) => live && setQr(data));
    return () => {
      live = false;
    };
  }, [url, item.data]);

  if (!item.data) return item.isError ? <ErrorAlert error={item.error} /> : <Pending query={item} />;
  const it = item.data;
  const mine = it.owner.id === member.id;
  const who = it.privateGift
    ? `Only ${mine ? 'you and the member you sent it to' : `you and @${it.owner.handle}`} can open it: anyone else is told there is no such item.`
    : 'Members of its community can open it; anyone else is asked to join the community first.';

  return (
    <div className="card stack" data-testid="share">
      <h1 style={{ margin: 0 }}>Share “{it.title}”</h1>
      <p className="muted small" style={{ margin: 0 }}>
        {it.bundle ? `${describeCounts(it.bundle)} · ` : ''}
        {formatBytes(it.sizeBytes)} from @{it.owner.handle}
      </p>
      {qr ? <img className={styles.qr} src={qr} alt={`QR code of the link to ${it.title}`} data-testid="share-qr" /> : <div className={styles.qr} aria-hidden="true" />}
      <div className={styles.shareLink} data-testid="share-link">{url}</div>
      <div className={styles.pickRow}>
        <button
          type="button"
          className="button"
          onClick={() =>
            void navigator.clipboard.writeText(url).then(
              () => {
                setCopied(true);
                setTimeout(() => setCopied(false), 2_000);
              },
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Link copied' : 'Copy link'}
        </button>
        {canShare ? (
          <button type="button" className="button secondary" onClick={() => void navigator.share({ title: it.title, url }).catch(() => undefined)}>
            Share…
          </button>
        ) : null}
      </div>
      <p className="small" style={{ margin: 0 }} data-testid="share-who">{who}</p>
      <Link className="button secondary" href={`/content/items/${it.id}`}>Back to the item</Link>
    </div>
  );
}
