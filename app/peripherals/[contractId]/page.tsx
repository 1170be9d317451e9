'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { whenShort } from '../../_lib/format';
import { getLiveHub } from '../../_lib/live-client';
import { BuyerSession, type BuyerSnapshot } from '../../_lib/peripheral/buyer-session';
import { KIND_WORDS } from '../../_lib/peripheral/client';
import { duration } from '../../_lib/peripheral/duration';
import { endSharing, sellerSession, sharedStream, startSharing, stopSharing } from '../../_lib/peripheral/seller-session';
import { useTRPC } from '../../_lib/trpc';
import type { RentalKind } from '@/server/peripheral/receipt-format';
import type { RentalView } from '@/server/peripheral/rentals';
import styles from '../peripherals.module.css';

const DEVICE_ID_KEY = 'swapmesh.deviceId';
const KINDS: RentalKind[] = ['CAMERA', 'MICROPHONE', 'SCREEN'];
const KIND_LABELS: Record<RentalKind, string> = { CAMERA: 'Camera', MICROPHONE: 'Microphone', SCREEN: 'Screen' };
const ENDED_BY: Record<string, string> = { SELLER: 'the seller stopped', BUYER: 'the buyer ended it', WINDOW: 'the window closed' };

type Data = { contract: { id: string; state: string; quantity: number; windowStart: string; windowEnd: string; wholeMs: number; rentable: boolean }; seller: string; buyer: string; rental: RentalView | null };

/** A video (or, for a microphone, an audio player) showing a MediaStream. */
function MediaView({ stream, kind, muted, label }: { stream: MediaStream | null; kind: RentalKind; muted: boolean; label: string }) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  if (kind === 'MICROPHONE') return <audio ref={ref} controls autoPlay muted={muted} aria-label={label} style={{ width: '100%' }} />;
  return <video ref={ref} className={styles.video} autoPlay playsInline muted aria-label={label} data-testid="rental-video" />;
}

function Proven({ provenMs, wholeMs }: { provenMs: number; wholeMs: number }) {
  const share = wholeMs > 0 ? Math.min(100, (provenMs / wholeMs) * 100) : 0;
  return (
    <div className="stack">
      <div className={styles.figure} data-testid="seconds-proven">
        {Math.floor(provenMs / 1000)} s <small>proven of {duration(wholeMs)}</small>
      </div>
      <div className="progress" role="progressbar" aria-label="Seconds proven" aria-valuemin={0} aria-valuemax={Math.floor(wholeMs / 1000)} aria-valuenow={Math.floor(provenMs / 1000)}>
        <div style={{ width: `${share}%` }} />
      </div>
    </div>
  );
}

function Terms({ data }: { data: Data }) {
  const { contract } = data;
  const hours = `${contract.quantity} device ${contract.quantity === 1 ? 'hour' : 'hours'}`;
  return (
    <>
      <dl className={styles.facts}>
        <dt>Seller</dt>
        <dd>@{data.seller}</dd>
        <dt>Buyer</dt>
        <dd>@{data.buyer}</dd>
        <dt>Window</dt>
        <dd>
          {whenShort(contract.windowStart)} – {whenShort(contract.windowEnd)}
        </dd>
        <dt>Sells</dt>
        <dd>{duration(contract.wholeMs)} of live media</dd>
      </dl>
      <p className="muted small">
        This contract is {hours} over its window, so the stream can run for {duration(contract.wholeMs)}. It pays for the seconds the buyer&rsquo;s
        device proves it received at the agreed quality, in signed receipts every few seconds: streaming half of it pays half, and the rest of the
        escrow goes back to the buyer.
      </p>
    </>
  );
}

function Ended({ data, role }: { data: Data; role: 'SELLER' | 'BUYER' }) {
  const rental = data.rental!;
  const seconds = Math.floor(rental.provenMs / 1000);
  return (
    <div className="card stack" data-testid="rental-ended">
      <h2>Rental ended</h2>
      <p>
        Ended at {rental.endedAt ? whenShort(rental.endedAt) : '—'}: {ENDED_BY[rental.endedBy ?? ''] ?? 'ended'}.
      </p>
      <Proven provenMs={rental.provenMs} wholeMs={rental.wholeMs} />
      <p>
        {role === 'SELLER'
          ? `You are paid for ${seconds} s of ${duration(rental.wholeMs)}, less commission.`
          : `You paid for ${seconds} s of ${duration(rental.wholeMs)}; the rest of your escrow came back.`}
      </p>
      <Link className="button secondary block" href={`/contracts/${data.contract.id}`}>
        See the contract
      </Link>
    </div>
  );
}

function SellerPanel({ data, deviceId }: { data: Data; deviceId: string }) {
  const sharing = useSyncExternalStore(sellerSession.subscribe, sellerSession.getSnapshot, sellerSession.getServerSnapshot);
  const { rental, contract } = data;
  const here = sharing?.contractId === contract.id ? sharing : null;
  const [kind, setKind] = useState<RentalKind>(rental?.kind ?? 'CAMERA');
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries(trpc.peripheral.pathFilter());
  const start = useMutation({ mutationFn: () => startSharing({ contractId: contract.id, deviceId, kind: rental?.kind ?? kind, buyerHandle: data.buyer }), onSuccess: refresh });
  const stop = useMutation({ mutationFn: () => stopSharing(contract.id), onSuccess: refresh });

  // ended elsewhere (the buyer, the window): stop sharing here too
  useEffect(() => {
    if (rental?.state === 'ENDED') endSharing(contract.id);
  }, [rental?.state, contract.id]);

  if (rental?.state === 'ENDED') return <Ended data={data} role="SELLER" />;
  const open = contract.state === 'MATCHED' || contract.state === 'ACTIVE';
  if (!open && !rental) {
    return <div className="alert info">This contract is {contract.state.toLowerCase()}: there is nothing to stream.</div>;
  }

  if (here) {
    const word = KIND_WORDS[here.kind];
    return (
      <div className="card stack">
        <h2>Sharing your {word}</h2>
        <MediaView stream={sharedStream(contract.id)} kind={here.kind} muted label={`Your ${word}, as shared`} />
        <p data-testid="seller-link">
          {here.link === 'connected' ? `@${data.buyer}'s device is receiving it.` : `Waiting for @${data.buyer}'s device to connect…`}
          {here.problem ? <span className="muted small"> ({here.problem})</span> : null}
        </p>
        <Proven provenMs={rental?.provenMs ?? 0} wholeMs={rental?.wholeMs ?? contract.wholeMs} />
        <ErrorAlert error={stop.error} />
        <button type="button" className="button danger block" disabled={stop.isPending} onClick={() => stop.mutate()}>
          Stop sharing
        </button>
        <p className="muted small">Stopping ends the rental at once: the contract pays for the seconds proven so far, and no more.</p>
      </div>
    );
  }

  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        start.mutate();
      }}
    >
      <h2>{rental ? 'Resume sharing' : 'Rent out a device'}</h2>
      {rental ? (
        <p>
          This rental shares your {KIND_WORDS[rental.kind]} with @{data.buyer}. This page is not sharing it now: resume to carry on.
        </p>
      ) : (
        <fieldset className={styles.kinds} style={{ border: 0, padding: 0, margin: 0 }}>
          <legend className="small muted" style={{ gridColumn: '1 / -1', marginBottom: '0.4rem' }}>
            What @{data.buyer} receives
          </legend>
          {KINDS.map((k) => (
            <label key={k}>
              <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
              {KIND_LABELS[k]}
            </label>
          ))}
        </fieldset>
      )}
      <ErrorAlert error={start.error} />
      <button type="submit" className="button block" disabled={start.isPending}>
        {start.isPending ? 'Asking for permission…' : `${rental ? 'Resume sharing' : 'Rent out'} my ${KIND_WORDS[rental?.kind ?? kind]}`}
      </button>
      <p className="muted small">Your browser asks for permission only now. While it is shared, a red bar on every screen says so and can stop it.</p>
    </form>
  );
}

function BuyerPanel({ data, deviceId }: { data: Data; deviceId: string }) {
  const { rental } = data;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const session = useRef<BuyerSession | null>(null);
  const [view, setView] = useState<BuyerSnapshot | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const live = rental?.state === 'LIVE' ? rental : null;

  useEffect(() => {
    if (!live) return;
    const s = new BuyerSession(data.contract.id, deviceId, live, setView);
    session.current = s;
    setStartError(null);
    s.start().catch(setStartError);
    return () => {
      s.close();
      session.current = null;
    };
    // one session per rental and device: later changes to the rental come through the session itself
  }, [live?.id, deviceId]); // eslint-disable-line react-hooks/exhaustive-deps

  const stop = useMutation(trpc.peripheral.stop.mutationOptions());
  const end = useMutation({
    mutationFn: async () => {
      // count the last few seconds first
      await session.current?.sendReceipt();
      return stop.mutateAsync({ contractId: data.contract.id });
    },
    onSuccess: () => queryClient.invalidateQueries(trpc.peripheral.pathFilter()),
  });

  if (rental?.state === 'ENDED') return <Ended data={data} role="BUYER" />;
  if (!rental) {
    return (
      <div className="card stack" role="status">
        <h2>Waiting for @{data.seller}</h2>
        <p className="muted">The stream appears here as soon as @{data.seller} starts sharing. Keep this page open.</p>
      </div>
    );
  }
  const word = KIND_WORDS[rental.kind];
  const recent = view?.recent;
  const q = rental.quality;
  return (
    <div className="card stack">
      <h2>
        @{data.seller}&rsquo;s {word}
      </h2>
      <MediaView stream={view?.stream ?? null} kind={rental.kind} muted={false} label={`@${data.seller}'s ${word}`} />
      <p data-testid="buyer-link">
        {view?.link === 'connected' ? 'Receiving live.' : view?.ended ? 'The rental has ended.' : `Connecting to @${data.seller}'s device…`}
      </p>
      <Proven provenMs={Math.max(view?.provenMs ?? 0, rental.provenMs)} wholeMs={rental.wholeMs} />
      {recent && rental.kind !== 'MICROPHONE' ? (
        <p className="small muted" data-testid="quality">
          Now: {recent.width}×{recent.height} at {Math.round(recent.fps)} frames/s — {recent.counted ? 'counts' : 'below the agreed quality, not counted'}.
        </p>
      ) : null}
      <p className="small muted">
        {rental.kind === 'MICROPHONE'
          ? 'A second counts when your device plays a second of sound.'
          : `A second counts when your device shows at least ${q.minWidth}×${q.minHeight} at ${q.minFps} frames per second.`}{' '}
        Your device signs a receipt every few seconds; you pay only for what it proves.
      </p>
      <ErrorAlert error={startError ?? end.error ?? (view?.problem ? new Error(view.problem) : null)} />
      <button type="button" className="button danger block" disabled={end.isPending} onClick={() => end.mutate()}>
        End the rental
      </button>
    </div>
  );
}

function RentalPage({ contractId }: { contractId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useQuery(trpc.peripheral.get.queryOptions({ contractId }));
  const [deviceId, setDeviceId] = useState<string | null | undefined>(undefined);
  useEffect(() => setDeviceId(localStorage.getItem(DEVICE_ID_KEY)), []);
  // the rental's changes (started, joined, receipts, ended) arrive as contract events on the live stream
  useEffect(
    () =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'contract' && event.contractId === contractId) void queryClient.invalidateQueries(trpc.peripheral.pathFilter());
      }),
    [contractId, queryClient, trpc],
  );

  if (query.isPending) return <Pending query={query} />;
  if (query.isError) return <ErrorAlert error={query.error} />;
  const data = query.data;
  if (!data.contract.rentable) return <div className="alert info">Only peripheral contracts (device hours) are streamed live.</div>;
  return (
    <div className="stack">
      <h1>{data.role === 'SELLER' ? `Rental for @${data.buyer}` : `Rental from @${data.seller}`}</h1>
      {deviceId === undefined ? null : deviceId === null ? (
        <div className="card stack">
          <p>Register this device first: the stream goes from one registered device to another.</p>
          <Link className="button block" href="/device">
            Register this device
          </Link>
        </div>
      ) : data.role === 'SELLER' ? (
        <SellerPanel data={data} deviceId={deviceId} />
      ) : (
        <BuyerPanel data={data} deviceId={deviceId} />
      )}
      <div className="card stack">
        <Terms data={data} />
      </div>
    </div>
  );
}

export default function Page({ params }: { params: Promise<{ contractId: string }> }) {
  const { contractId } = use(params);
  return <RequireMember what="see this rental">{() => <RentalPage contractId={contractId} />}</RequireMember>;
}
