'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ErrorAlert } from '../../../_components/form';
import { Pending } from '../../../_components/loading';
import { formatCredits } from '../../../_lib/money';
import { hasOffer, removeOffer } from '../../../_lib/transfer/storage';
import { useTRPC } from '../../../_lib/trpc';
import { useContent } from '../../_components/content-context';
import { formatBytes, mediaLabel } from '../../_components/format';
import { describeCounts } from '../../../_lib/transfer/bundle';
import styles from '../../content.module.css';

export default function ItemPage() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { member, deviceId, manager } = useContent();
  const item = useQuery(trpc.content.get.queryOptions({ itemId: id }, { refetchInterval: 15_000 }));
  const [held, setHeld] = useState<boolean | null>(null);
  const sha = item.data?.sha256;
  const mine = item.data ? item.data.owner.id === member.id : false;
  const onThisDevice = item.data?.deviceId === deviceId;

  useEffect(() => {
    if (sha && onThisDevice) void hasOffer(sha).then(setHeld, () => setHeld(false));
  }, [sha, onThisDevice]);

  // from a barter's file leg (the contract page): this copy counts towards that leg instead of being bought
  const [leg, setLeg] = useState<string | null>(null);
  useEffect(() => setLeg(new URLSearchParams(window.location.search).get('leg')), []);
  const request = useMutation({
    mutationFn: () => manager.request(id, leg ?? undefined),
    onSuccess: async () => {
      await queryClient.invalidateQueries(trpc.ledger.pathFilter());
      router.push('/content/transfers');
    },
  });
  const withdraw = useMutation(
    trpc.content.withdraw.mutationOptions({
      onSuccess: async () => {
        if (sha && onThisDevice) await removeOffer(sha);
        await queryClient.invalidateQueries(trpc.content.pathFilter());
        router.push('/content');
      },
    }),
  );

  if (!item.data) return item.isError ? <ErrorAlert error={item.error} /> : <Pending query={item} />;
  const it = item.data;
  const free = it.pricing === 'GIFT';
  return (
    <>
      <div className="card stack" data-testid="item">
        <div>
          <span className="pill gray">{mediaLabel(it.mediaType)}</span>{' '}
          {it.nearby ? <span className="pill">nearby</span> : it.online ? <span className="pill">online</span> : <span className="pill gray">offline</span>}
        </div>
        <h1 style={{ margin: 0 }}>{it.title}</h1>
        {it.description ? <p style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{it.description}</p> : null}
        <dl className={styles.facts}>
          <dt>Offered by</dt>
          <dd>@{it.owner.handle} · {it.deviceName}</dd>
          <dt>Size</dt>
          <dd>{formatBytes(it.sizeBytes)}</dd>
          <dt>Type</dt>
          <dd>{it.mediaType}</dd>
          {it.audience ? (<><dt>Audience</dt><dd>{it.audience}</dd></>) : null}
          {it.purpose ? (<><dt>Purpose</dt><dd>{it.purpose}</dd></>) : null}
          {it.environment ? (<><dt>Needs</dt><dd>{it.environment}</dd></>) : null}
          <dt>SHA-256</dt>
          <dd className={styles.mono}>{it.sha256}</dd>
          <dt>Chunks</dt>
          <dd>{it.chunkCount.toLocaleString()} × {it.chunkSize / 1024} KiB</dd>
          <dt>Price</dt>
          <dd data-testid="item-price">{it.privateGift ? 'A private gift' : free ? 'Free (a gift)' : `${formatCredits(it.price)} credits`}</dd>
          {it.privateGift ? (<><dt>Seen by</dt><dd>{mine ? 'you and the device you sent it to' : `you and @${it.owner.handle}`} only</dd></>) : null}
          {it.bundle ? (<><dt>Carries</dt><dd>{describeCounts(it.bundle)}</dd></>) : null}
        </dl>
        <Link className="button secondary" href={`/content/items/${it.id}/share`}>Share link or QR code</Link>
      </div>

      {mine ? (
        <div className="card stack">
          <h2 style={{ margin: 0 }}>Your file</h2>
          {onThisDevice ? (
            held === false ? (
              <div className="alert error">This device no longer holds the file: offer it again, or withdraw it.</div>
            ) : (
              <p className="muted small" style={{ margin: 0 }}>This device holds the file and sends it whenever someone requests it while Swapmesh is open.</p>
            )
          ) : (
            <p className="muted small" style={{ margin: 0 }}>Offered from your device “{it.deviceName}”: it sends the file while Swapmesh is open there.</p>
          )}
          <ErrorAlert error={withdraw.error} />
          <div className="row">
            {onThisDevice ? <Link className="button secondary" href={`/content/nearby?item=${it.id}`}>Send to a nearby device</Link> : null}
            <button className="button danger" type="button" disabled={withdraw.isPending} onClick={() => withdraw.mutate({ itemId: it.id })}>
              Withdraw
            </button>
          </div>
        </div>
      ) : (
        <div className="card stack">
          <ErrorAlert error={request.error} />
          {!it.online ? <p className="muted small" style={{ margin: 0 }}>The owner’s device is offline: the copy starts as soon as it is back.</p> : null}
          <button className="button block" type="button" disabled={request.isPending} onClick={() => request.mutate()}>
            {request.isPending ? 'Requesting…' : leg ? 'Take it for the barter' : it.privateGift ? 'Accept the gift' : free ? 'Request a copy' : `Buy for ${formatCredits(it.price)} credits`}
          </button>
          {leg ? (
            <p className="muted small" style={{ margin: 0 }} data-testid="item-for-leg">
              This copy counts towards your barter with @{it.owner.handle}: nothing is charged for it, and once its fingerprint checks out it proves one file of the trade.
            </p>
          ) : !free ? (
            <p className="muted small" style={{ margin: 0 }}>
              Your credits wait in escrow and reach @{it.owner.handle} only once every byte of your copy checks out.
            </p>
          ) : null}
        </div>
      )}
    </>
  );
}
