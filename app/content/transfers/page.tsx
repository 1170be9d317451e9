'use client';

import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { ErrorAlert } from '../../_components/form';
import { LastKnownMark } from '../../_components/last-known-mark';
import { useLastKnown } from '../../_lib/last-known';
import { ReceivedOnDevice } from '../_components/received-on-device';
import { LoadMore, rowsOf } from '../../_components/load-more';
import { whenShort } from '../../_lib/format';
import { formatCredits } from '../../_lib/money';
import type { ManagerSnapshot, Phase, TransferManager, TransferView } from '../../_lib/transfer/manager';
import { receivedFile } from '../../_lib/transfer/storage';
import { useTRPC } from '../../_lib/trpc';
import { useContent, useTransfers } from '../_components/content-context';
import { BundleEntries } from '../_components/bundle-entries';
import { formatBytes, formatDuration, formatSpeed } from '../_components/format';
import styles from '../content.module.css';

const PHASE_TEXT: Record<Phase, string> = {
  queued: 'queued',
  connecting: 'connecting',
  waiting: 'waiting for the device',
  transferring: 'copying',
  verifying: 'checking',
  ready: 'ready to send',
  completed: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};
const PHASE_CLASS: Partial<Record<Phase, string>> = { transferring: 'ACTIVE', verifying: 'DELIVERED', completed: 'SETTLED', failed: 'FAILED', cancelled: 'CANCELLED' };
const RUNNING: Phase[] = ['queued', 'connecting', 'waiting', 'transferring', 'verifying', 'ready'];

async function save(view: TransferView) {
  const file = await receivedFile(view.id);
  if (!file) throw new Error('The file is no longer on this device.');
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  const ext = view.mediaType.split('/')[1]?.split(/[+.]/)[0] ?? 'bin';
  a.download = /\.[a-z0-9]{1,5}$/i.test(view.title) ? view.title : `${view.title}.${ext}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function TransferCard({ view, manager }: { view: TransferView; manager: TransferManager }) {
  const [error, setError] = useState<unknown>(null);
  const act = useMutation({
    mutationFn: async (action: 'cancel' | 'retry' | 'save') => {
      setError(null);
      if (action === 'cancel') await manager.cancel(view.id);
      else if (action === 'retry') await manager.retry(view.id);
      else await save(view);
    },
    onError: setError,
  });
  const pct = view.sizeBytes ? Math.min(100, Math.floor((view.bytesDone / view.sizeBytes) * 100)) : 0;
  const receiving = view.role === 'receive';
  const running = RUNNING.includes(view.phase);
  return (
    <li data-testid={`transfer-${view.id}`} data-phase={view.phase} data-role={view.role}>
      <div className="row spread" style={{ alignItems: 'flex-start' }}>
        <div style={{ minWidth: 0 }}>
          <Link href={`/content/items/${view.itemId}`} className={styles.title} style={{ color: 'inherit', textDecoration: 'none' }}>
            {view.title}
          </Link>
          <div className="muted small">
            {receiving ? `from ${view.peerLabel}` : `to ${view.peerLabel}`} · {view.pricing === 'GIFT' ? 'gift' : `${formatCredits(view.price)} credits`}
          </div>
        </div>
        <span className={`state ${PHASE_CLASS[view.phase] ?? ''}`} data-testid="transfer-phase">{PHASE_TEXT[view.phase]}</span>
      </div>
      <div className="progress" style={{ marginTop: '0.5rem' }} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={`${view.title}: ${pct}%`}>
        <div style={{ width: `${pct}%` }} />
      </div>
      <div className={styles.stats}>
        <span data-testid="transfer-bytes">{formatBytes(view.bytesDone)} of {formatBytes(view.sizeBytes)} ({pct}%)</span>
        {view.phase === 'transferring' ? (
          <>
            <span data-testid="transfer-speed">{formatSpeed(view.bytesPerSecond)}</span>
            <span>{formatDuration(view.secondsLeft)} left</span>
          </>
        ) : null}
        {view.resumedAt !== null && receiving ? <span data-testid="transfer-resumed">resumed at {formatBytes(view.resumedAt)}</span> : null}
        {view.refetched > 0 ? <span data-testid="transfer-refetched">{view.refetched} damaged {view.refetched === 1 ? 'chunk' : 'chunks'} fetched again</span> : null}
        {view.phase === 'completed' && receiving ? <span>SHA-256 verified</span> : null}
      </div>
      <BundleEntries view={view} />
      {view.error && view.phase !== 'completed' ? (
        <div className="field-error" data-testid="transfer-error">
          {view.error.message} <span className={styles.mono}>({view.error.code})</span>
        </div>
      ) : null}
      <ErrorAlert error={error} />
      <div className={styles.actions}>
        {running ? (
          <button type="button" className="button danger" disabled={act.isPending} onClick={() => act.mutate('cancel')}>Cancel</button>
        ) : null}
        {receiving && (view.phase === 'failed' || view.phase === 'cancelled') ? (
          <button type="button" className="button secondary" disabled={act.isPending} onClick={() => act.mutate('retry')}>Retry</button>
        ) : null}
        {receiving && view.phase === 'completed' && !view.entries ? (
          <button type="button" className="button secondary" disabled={act.isPending} onClick={() => act.mutate('save')}>Save to device</button>
        ) : null}
        {view.contractId ? <Link className="button secondary" href={`/contracts/${view.contractId}`}>Contract</Link> : null}
      </div>
    </li>
  );
}

export default function TransfersPage() {
  const { manager, deviceId } = useContent();
  const snapshot = useTransfers(manager);
  const history = useHistoryQuery(deviceId);
  // offline: the transfers as last known, and the files received whole, read from this device's own storage
  const known = useLastKnown(`content.transferHistory.${deviceId}`, history);
  const unreachable = history.fetchStatus === 'paused' || history.isError;
  const incoming = snapshot.transfers.filter((t) => t.role === 'receive');
  const outgoing = snapshot.transfers.filter((t) => t.role === 'send');
  return (
    <>
      <LastKnownMark asOf={known.asOf} />
      <h1>Transfers</h1>
      {unreachable ? <ReceivedOnDevice /> : null}
      {snapshot.passive ? <div className="alert info">Transfers run in another Swapmesh tab of this browser.</div> : null}
      <WakeNote wake={snapshot.wake} refusal={snapshot.wakeRefusal} busy={snapshot.transfers.some((t) => t.phase === 'transferring' || t.phase === 'connecting' || t.phase === 'waiting')} />
      {!snapshot.storageOk ? <div className="alert error">This browser cannot store files for transfers.</div> : null}
      {/* offline, nothing runs: the files on this device and the transfers as last known say what there is */}
      {unreachable && snapshot.transfers.length === 0 ? null : (
        <>
          <div className="card" data-testid="incoming">
            <h2>Coming to this device</h2>
            {incoming.length === 0 ? <p className="empty">Nothing yet: request a file from the catalog.</p> : null}
            <ul className="list">
              {incoming.map((view) => (
                <TransferCard key={view.id} view={view} manager={manager} />
              ))}
            </ul>
          </div>
          <div className="card" data-testid="outgoing">
            <h2>Sent from this device</h2>
            {outgoing.length === 0 ? <p className="empty">When someone requests a file you offer, it shows here.</p> : null}
            <ul className="list">
              {outgoing.map((view) => (
                <TransferCard key={view.id} view={view} manager={manager} />
              ))}
            </ul>
            <p className="muted small" style={{ margin: 0 }}>Keep Swapmesh open while files are being sent: they travel directly from this device.</p>
          </div>
        </>
      )}
      <EarlierTransfers deviceId={deviceId} history={history} data={known.data} shown={new Set(snapshot.transfers.map((t) => t.id))} />
    </>
  );
}

/** Whether the screen is kept on while copying (Screen Wake Lock), said only while something copies. */
function WakeNote({ wake, refusal, busy }: { wake: ManagerSnapshot['wake']; refusal: string | null; busy: boolean }) {
  if (!busy) return null;
  const text =
    wake === 'held'
      ? 'The screen stays on while files copy.'
      : wake === 'unsupported'
        ? 'Keep Swapmesh on screen while files copy: this browser may pause it when the screen turns off.'
        : 'If the screen turns off, copying pauses and picks up where it was when you come back.';
  return (
    <p className={`muted ${styles.wake}`} data-testid="wake-note" data-wake={wake} data-refusal={refusal ?? undefined}>
      {text}
    </p>
  );
}

type History = ReturnType<typeof useHistoryQuery>;
const useHistoryQuery = (deviceId: string) => {
  const trpc = useTRPC();
  return useInfiniteQuery(trpc.content.transferHistory.infiniteQueryOptions({ deviceId, limit: 50 }, { getNextPageParam: (page) => page.nextCursor }));
};

/** Finished transfers older than the ones above, a page at a time (offline: as last known). */
function EarlierTransfers({ deviceId, history, data, shown }: { deviceId: string; history: History; data: History['data']; shown: Set<string> }) {
  const earlier = rowsOf(data).filter((t) => !shown.has(t.id));
  if (earlier.length === 0 && !history.hasNextPage) return null;
  return (
    <div className="card" data-testid="earlier-transfers">
      <h2>Earlier transfers</h2>
      <ul className="list">
        {earlier.map((t) => (
          <li key={t.id}>
            <strong>{t.item.title}</strong>
            <span className="muted small">
              {' '}
              {t.receiverDeviceId === deviceId ? 'received' : `sent to @${t.receiver.handle}`} · {t.status.toLowerCase()} · {whenShort(t.createdAt)}
            </span>
          </li>
        ))}
      </ul>
      <LoadMore query={history} label="Show earlier transfers" />
    </div>
  );
}
