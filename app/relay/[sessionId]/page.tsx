'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { money, whenShort } from '../../_lib/format';
import { getLiveHub } from '../../_lib/live-client';
import { relaying, startRelaying, stopRelaying } from '../../_lib/relay/relaying';
import { RelayEnd, type EndSnapshot } from '../../_lib/relay/session';
import { ENDED_BY, mbText } from '../../_lib/relay/words';
import { useTRPC } from '../../_lib/trpc';
import { BYTES_PER_MB } from '@/server/relay/receipt-format';
import type { RelaySessionView } from '@/server/relay/sessions';
import styles from '../relay.module.css';

const DEVICE_ID_KEY = 'swapmesh.deviceId';

function Progress({ label, done, total, testId }: { label: string; done: number; total: number; testId: string }) {
  const share = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  return (
    <div className="stack">
      <div className={styles.figure} data-testid={testId}>
        {mbText(done)} <small>{label} {mbText(total)}</small>
      </div>
      <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={done}>
        <div style={{ width: `${share}%` }} />
      </div>
    </div>
  );
}

const earned = (view: RelaySessionView) => (view.pricePerMb === null ? null : Math.floor((view.provenBytes * view.pricePerMb) / BYTES_PER_MB));

function Confirmed({ view }: { view: RelaySessionView }) {
  const pay = earned(view);
  return (
    <>
      <Progress label="confirmed by both ends of" done={view.provenBytes} total={view.wholeBytes} testId="relay-proven" />
      <p className="small muted">
        @{view.sender.handle}&rsquo;s device counted {mbText(view.sender.bytes)} sent, @{view.receiver.handle}&rsquo;s {mbText(view.receiver.bytes)} received;
        the contract pays for the smaller{pay !== null ? ` (${money(pay)} credits so far, before commission)` : ''}.
      </p>
    </>
  );
}

function EndPanel({ view, deviceId, role }: { view: RelaySessionView; deviceId: string; role: 'SENDER' | 'RECEIVER' }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const end = useRef<RelayEnd | null>(null);
  const [snap, setSnap] = useState<EndSnapshot | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const [file, setFile] = useState<File | null>(null);
  const live = view.state === 'LIVE';
  const ownDevice = role === 'SENDER' ? view.sender.deviceId === deviceId : true;

  useEffect(() => {
    if (!live || !ownDevice) return;
    const e = new RelayEnd(view, role, deviceId, setSnap);
    end.current = e;
    e.start().catch(setStartError);
    return () => {
      e.close();
      end.current = null;
    };
    // one end per session and device: later changes reach it through update()
  }, [view.id, deviceId, live, ownDevice]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => end.current?.update(view), [view]);

  const send = useMutation({ mutationFn: (f: File) => end.current!.send(f) });
  const stop = useMutation(trpc.relay.stop.mutationOptions());
  const finish = useMutation({
    mutationFn: async () => {
      await end.current?.report();
      return stop.mutateAsync({ sessionId: view.id });
    },
    onSuccess: () => queryClient.invalidateQueries(trpc.relay.pathFilter()),
  });

  if (!ownDevice) return <div className="alert info">This relay sends from another of your devices: open it there.</div>;
  const relayReady = Boolean(view.relay.deviceId) && view.receiver.joined;
  const link = snap?.phase === 'connecting' || !snap ? (relayReady ? `Connecting through @${view.relay.handle}'s device…` : `Waiting for ${view.receiver.joined ? `@${view.relay.handle}'s device` : `@${view.receiver.handle} to open this relay`}…`) : 'Connected, end to end encrypted.';
  return (
    <div className="card stack">
      <h2>{role === 'SENDER' ? `To @${view.receiver.handle} through @${view.relay.handle}` : `From @${view.sender.handle} through @${view.relay.handle}`}</h2>
      {live ? <p data-testid="relay-link">{link}</p> : null}
      {role === 'SENDER' && live ? (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            if (file) send.mutate(file);
          }}
        >
          <label className="stack">
            <span className="small muted">File to send</span>
            <input className={styles.file} type="file" aria-label="File to send" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
          <button type="submit" className="button block" disabled={!file || send.isPending || snap?.phase === 'connecting' || !snap}>
            {send.isPending ? 'Sending…' : 'Send through the relay'}
          </button>
          <ErrorAlert error={send.error} />
        </form>
      ) : null}
      {snap?.file ? (
        <>
          <Progress label={`${role === 'SENDER' ? 'sent' : 'received'} of`} done={snap.bytes} total={snap.total + (snap.bytes - Math.min(snap.bytes, snap.total))} testId="relay-progress" />
          <dl className={styles.facts}>
            <dt>File</dt>
            <dd>{snap.file.name}</dd>
            <dt>SHA-256</dt>
            <dd className={styles.hash} data-testid="relay-sha256">
              {snap.file.sha256}
            </dd>
          </dl>
        </>
      ) : null}
      {role === 'RECEIVER' && snap?.verified ? (
        <div className="stack" data-testid="relay-verified">
          <p className="alert success">All {mbText(snap.file!.size)} arrived and match the file&rsquo;s SHA-256.</p>
          <a className="button block" href={snap.url!} download={snap.file!.name}>
            Save {snap.file!.name}
          </a>
        </div>
      ) : null}
      {role === 'SENDER' && snap?.phase === 'done' ? <p className="alert success" data-testid="relay-delivered">@{view.receiver.handle}&rsquo;s device checked the file&rsquo;s SHA-256: delivered.</p> : null}
      <Confirmed view={view} />
      <ErrorAlert error={startError ?? finish.error ?? (snap?.problem ? new Error(snap.problem) : null)} />
      {live ? (
        <button type="button" className="button danger block" disabled={finish.isPending} onClick={() => finish.mutate()}>
          End the relay
        </button>
      ) : null}
      {live ? <p className="small muted">Ending settles the contract at once for the bytes both ends confirmed; the rest of the escrow goes back to @{view.sender.handle}.</p> : null}
    </div>
  );
}

function RelayPanel({ view, deviceId }: { view: RelaySessionView; deviceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useSyncExternalStore(relaying.subscribe, relaying.getSnapshot, relaying.getServerSnapshot);
  const here = list.find((r) => r.sessionId === view.id);
  const snap = here?.snap ?? null;
  const startError = here?.problem ? new Error(here.problem) : null;
  const live = view.state === 'LIVE';
  // the device keeps relaying while the seller moves around the app (an indicator on every screen says so)
  useEffect(() => {
    if (live) startRelaying(view, deviceId);
    else stopRelaying({ sessionId: view.id });
  }, [view, deviceId, live]);
  const stop = useMutation(trpc.relay.stop.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.relay.pathFilter()) }));
  return (
    <div className="card stack">
      {live ? (
        <div className={styles.indicator} data-testid="relay-indicator" role="status">
          <span className={styles.dot} aria-hidden />
          Relaying for @{view.sender.handle} → @{view.receiver.handle}
        </div>
      ) : null}
      {live ? (
        <p className="small" data-testid="relay-ends">
          @{view.sender.handle}: {snap?.senderOnline ? 'connected' : 'not connected'} · @{view.receiver.handle}: {snap?.receiverOnline ? 'connected' : 'not connected'}
        </p>
      ) : null}
      <div className={styles.figure} data-testid="relay-forwarded">
        {mbText(snap?.forwarded ?? 0)} <small>of ciphertext carried by this page</small>
      </div>
      <Confirmed view={view} />
      <p className="small muted">Your device only forwards encrypted bytes: it cannot read the file, and the ends&rsquo; keys are signed by their devices, so it cannot swap them.</p>
      <ErrorAlert error={startError ?? stop.error} />
      {live ? (
        <button type="button" className="button danger block" disabled={stop.isPending} onClick={() => stop.mutate({ sessionId: view.id })}>
          Stop relaying
        </button>
      ) : null}
    </div>
  );
}

function Ended({ view }: { view: RelaySessionView }) {
  const pay = earned(view);
  return (
    <div className="card stack" data-testid="relay-ended">
      <h2>Relay ended</h2>
      <p>
        Ended at {view.endedAt ? whenShort(view.endedAt) : '—'}: {ENDED_BY[view.endedBy ?? ''] ?? 'ended'}. {mbText(view.provenBytes)} of {mbText(view.wholeBytes)} were confirmed by both ends
        {view.role === 'RELAY' && pay !== null ? `: you are paid ${money(pay)} credits, less commission.` : view.role === 'SENDER' ? ' and paid for; the rest of your escrow came back.' : '.'}
      </p>
      <Link className="button secondary block" href={view.role === 'RECEIVER' ? '/relay' : `/contracts/${view.contractId}`}>
        {view.role === 'RECEIVER' ? 'All relays' : 'See the contract'}
      </Link>
    </div>
  );
}

function SessionPage({ sessionId }: { sessionId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useQuery(trpc.relay.get.queryOptions({ sessionId }));
  const [deviceId, setDeviceId] = useState<string | null | undefined>(undefined);
  useEffect(() => setDeviceId(localStorage.getItem(DEVICE_ID_KEY)), []);
  useEffect(
    () =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'relay' || event.type === 'contract') void queryClient.invalidateQueries(trpc.relay.get.queryFilter({ sessionId }));
      }),
    [sessionId, queryClient, trpc],
  );
  if (query.isPending) return <Pending query={query} />;
  if (query.isError) return <ErrorAlert error={query.error} />;
  const view = query.data;
  return (
    <div className="stack">
      <h1>{view.role === 'RELAY' ? 'Relaying' : view.role === 'SENDER' ? 'Sending through a relay' : 'Receiving through a relay'}</h1>
      {view.state === 'ENDED' ? <Ended view={view} /> : null}
      {deviceId === undefined ? null : deviceId === null ? (
        <div className="card stack">
          <p>Register this device first: relays run between registered devices.</p>
          <Link className="button block" href="/device">
            Register this device
          </Link>
        </div>
      ) : view.role === 'RELAY' ? (
        <RelayPanel view={view} deviceId={deviceId} />
      ) : (
        <EndPanel view={view} deviceId={deviceId} role={view.role} />
      )}
      <div className="card">
        <dl className={styles.facts}>
          <dt>Sender</dt>
          <dd>@{view.sender.handle}</dd>
          <dt>Relay</dt>
          <dd>@{view.relay.handle}</dd>
          <dt>Receiver</dt>
          <dd>@{view.receiver.handle}</dd>
          <dt>Window</dt>
          <dd>
            {whenShort(view.windowStart)} – {whenShort(view.windowEnd)}
          </dd>
        </dl>
      </div>
    </div>
  );
}

export default function Page({ params }: { params: Promise<{ sessionId: string }> }) {
  const { sessionId } = use(params);
  return <RequireMember what="see this relay">{() => <SessionPage sessionId={sessionId} />}</RequireMember>;
}
