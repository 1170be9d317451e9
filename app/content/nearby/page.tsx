'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { toDataURL } from 'qrcode';
import { Suspense, useEffect, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { useTRPC } from '../../_lib/trpc';
import type { TransferManager } from '../../_lib/transfer/manager';
import { connectionPath, PATH_LABEL, type ConnectionPath } from '../_components/connection-path';
import { useContent, useTransfers } from '../_components/content-context';
import { formatBytes } from '../_components/format';
import { SendComposer, type Target } from '../_components/send-composer';
import { describeCounts, type BundleEntry } from '../../_lib/transfer/bundle';
import { useOfferedGifts } from '../_components/gifts';
import { SwapActivity, SwapPanel, SwapReceipts } from '../_components/offline-swap';
import styles from '../content.module.css';

/** Where an earlier version kept pairings in this browser; the coordinator keeps them now. */
const OLD_PAIRED_KEY = 'swapmesh.pairedDevices';

type Header = { title: string; description: string; audience: string; purpose: string; environment: string; mediaType: string; sizeBytes: number; sha256: string; chunkSize: number; chunkHashes: string[] };

/** Gives a file privately to the chosen device (no community, no catalog) and tells that device at once. */
function useGive(target: Target) {
  const trpc = useTRPC();
  const { deviceId, manager } = useContent();
  const give = useMutation(trpc.content.give.mutationOptions());
  const send = async (header: Header, bundle?: BundleEntry[]) => {
    const item = await give.mutateAsync({ deviceId, toDeviceId: target.deviceId, header, ...(bundle ? { bundle } : {}) });
    manager.offerGift(target.deviceId, { id: item.id, title: item.title, sizeBytes: item.sizeBytes });
    return item;
  };
  return { send, give };
}

/** Sends one of this device's published files to the chosen device, as a private gift of the same bytes. */
function SendPreset({ target, itemId, onClose }: { target: Target; itemId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const item = useQuery(trpc.content.get.queryOptions({ itemId }));
  const { send, give } = useGive(target);
  const [done, setDone] = useState(false);
  const it = item.data;
  return (
    <div className="card stack" data-testid="send-panel">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Send to @{target.handle}</h2>
        <button type="button" className="button secondary" onClick={onClose}>Close</button>
      </div>
      <ErrorAlert error={item.error ?? give.error} />
      {done ? (
        <div className="alert info" role="status">Offered to @{target.handle}: it copies as soon as they accept.</div>
      ) : it?.chunkHashes ? (
        <button
          type="button"
          className="button block"
          disabled={give.isPending}
          onClick={() => {
            const { title, description, audience, purpose, environment, mediaType, sizeBytes, sha256, chunkSize, chunkHashes } = it;
            void send({ title, description, audience, purpose, environment, mediaType, sizeBytes, sha256, chunkSize, chunkHashes: chunkHashes ?? [] }, it.bundle?.entries).then(() => setDone(true), () => undefined);
          }}
        >
          Offer “{it.title}” to @{target.handle}
        </button>
      ) : null}
    </div>
  );
}

/**
 * How this device reaches each device it has an open connection to, from WebRTC's own statistics (see
 * connection-path.ts), read every few seconds while the screen is open.
 */
function useConnectionPaths(manager: TransferManager, deviceIds: string[]): Map<string, ConnectionPath> {
  const [paths, setPaths] = useState(new Map<string, ConnectionPath>());
  const key = deviceIds.join(',');
  useEffect(() => {
    let live = true;
    const read = async () => {
      const next = new Map<string, ConnectionPath>();
      for (const id of key ? key.split(',') : []) {
        const report = await manager.linkStats(id).catch(() => null);
        const path = report ? connectionPath([...report.values()]) : null;
        if (path) next.set(id, path);
      }
      if (live) setPaths((old) => (JSON.stringify([...old]) === JSON.stringify([...next]) ? old : next));
    };
    void read();
    const timer = setInterval(() => void read(), 3_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [manager, key]);
  return paths;
}

/** "same Wi-Fi" (the WebRTC path is host to host), else "same public address" (the coordinator's view), else online or offline. */
function Reach({ online, nearby, path }: { online: boolean; nearby: boolean; path: ConnectionPath | undefined }) {
  return (
    <>
      {path === 'same-network' ? <span className="pill" data-testid="reach">same Wi-Fi</span> : null}
      {path && path !== 'same-network' ? <span className="pill gray" data-testid="reach">{PATH_LABEL[path]}</span> : null}
      {!path && nearby ? <span className="pill" data-testid="reach">same public address</span> : null}
      {!path && !nearby ? <span className="pill gray" data-testid="reach">{online ? 'online' : 'offline'}</span> : null}
    </>
  );
}

function OfferedToYou() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { manager } = useContent();
  const gifts = useOfferedGifts();
  const [accepting, setAccepting] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const decline = useMutation(
    trpc.content.declineGift.mutationOptions({
      onSuccess: (_data, { itemId }) => {
        manager.dismissGift(itemId);
        void queryClient.invalidateQueries(trpc.content.gifts.pathFilter());
      },
    }),
  );
  const accept = async (itemId: string) => {
    setAccepting(itemId);
    setError(null);
    try {
      await manager.acceptGift(itemId);
      await queryClient.invalidateQueries(trpc.content.gifts.pathFilter());
      router.push('/content/transfers');
    } catch (e) {
      setError(e);
    } finally {
      setAccepting(null);
    }
  };
  if (!gifts.data?.length) return null;
  return (
    <div className="card stack" data-testid="gifts">
      <h2 style={{ margin: 0 }}>Offered to you</h2>
      <ErrorAlert error={error ?? decline.error} />
      <ul className="list">
        {gifts.data.map((g) => (
          <li key={g.id}>
            <div>
              <strong>{g.title}</strong>
              <div className="muted small">
                {g.bundle ? `${describeCounts(g.bundle)} · ` : ''}
                {formatBytes(g.sizeBytes)} from @{g.owner.handle}
              </div>
            </div>
            <div className={styles.actions}>
              <button type="button" className="button" disabled={accepting !== null} onClick={() => void accept(g.id)}>Accept</button>
              <button type="button" className="button secondary" disabled={decline.isPending} onClick={() => decline.mutate({ itemId: g.id })}>Decline</button>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Pairing({ initialCode, paired }: { initialCode: string; paired: Target[] | undefined }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { deviceId } = useContent();
  const [code, setCode] = useState(initialCode);
  const [qr, setQr] = useState<string | null>(null);
  // the devices already paired when the code was shown: one that appears later entered it
  const [before, setBefore] = useState<Set<string> | null>(null);
  const mine = useMutation(trpc.signal.pairCode.mutationOptions({ onMutate: () => setBefore(new Set(paired?.map((p) => p.deviceId))) }));
  const joined = before && mine.data ? paired?.find((p) => !before.has(p.deviceId)) : undefined;
  const pair = useMutation(trpc.signal.pair.mutationOptions({ onSuccess: () => void queryClient.invalidateQueries(trpc.signal.pairings.pathFilter()) }));
  useEffect(() => {
    if (!mine.data) return;
    void toDataURL(`${window.location.origin}/content/nearby?pair=${mine.data.code}`, { margin: 1, width: 400, errorCorrectionLevel: 'M' }).then(setQr);
  }, [mine.data]);

  return (
    <div className="card stack" data-testid="pairing">
      <h2 style={{ margin: 0 }}>Pair with a device</h2>
      <p className="muted small" style={{ margin: 0 }}>
        Paired devices see each other and can send each other files even when they share no community. They stay paired until either removes the other.
      </p>
      {joined ? (
        <div className="alert info" role="status">
          {joined.name} (@{joined.handle}) entered your code: you are paired.
        </div>
      ) : mine.data ? (
        <div className="stack" data-testid="pair-code">
          <div className={styles.code} aria-label="Your pairing code">{mine.data.code}</div>
          {qr ? <img className={styles.qr} src={qr} alt={`QR code for pairing code ${mine.data.code}`} /> : null}
          <p className="muted small center" style={{ margin: 0 }}>
            Enter it on the other device, or scan it there. Valid until {new Date(mine.data.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.
          </p>
        </div>
      ) : (
        <button type="button" className="button secondary block" disabled={mine.isPending} onClick={() => mine.mutate({ deviceId })}>
          Show a pairing code
        </button>
      )}
      <ErrorAlert error={mine.error} />
      <form
        className="row"
        style={{ alignItems: 'flex-end' }}
        onSubmit={(e) => {
          e.preventDefault();
          pair.mutate({ deviceId, code: code.trim() });
        }}
      >
        <div style={{ flex: 1 }}>
          <Field label="Code from the other device" name="pairCode" inputMode="numeric" pattern="\d{6}" maxLength={6} value={code} onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))} />
        </div>
        <button type="submit" className="button" disabled={pair.isPending || code.length !== 6}>Pair</button>
      </form>
      <ErrorAlert error={pair.error} />
      {pair.data ? (
        <div className="alert info" role="status">
          Paired with {pair.data.pairedWith.name} (@{pair.data.pairedWith.handle}).
        </div>
      ) : null}
    </div>
  );
}

function Nearby() {
  const params = useSearchParams();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { manager, community, deviceId } = useContent();
  const snapshot = useTransfers(manager);
  const [target, setTarget] = useState<Target | null>(null);
  const [swapWith, setSwapWith] = useState<Target | null>(null);
  const presetItem = params.get('item');

  useEffect(() => localStorage.removeItem(OLD_PAIRED_KEY), []);

  const online = snapshot.nearby;
  const pairings = useQuery(trpc.signal.pairings.queryOptions({ deviceId }, { refetchInterval: 15_000 }));
  // the presence feed wakes at once when a pairing is made or removed on the other side: read the pairings again
  const onlineKey = online?.map((d) => d.deviceId).sort().join(',') ?? '';
  const { refetch } = pairings;
  useEffect(() => {
    void refetch();
  }, [onlineKey, refetch]);
  const unpair = useMutation(
    trpc.signal.unpair.mutationOptions({
      onSuccess: (_data, { pairedDeviceId }) => {
        if (target?.deviceId === pairedDeviceId) setTarget(null);
        void queryClient.invalidateQueries(trpc.signal.pairings.pathFilter());
      },
    }),
  );

  const paired = pairings.data ?? [];
  const pairedIds = new Set(paired.map((p) => p.deviceId));
  const onlineById = new Map(online?.map((d) => [d.deviceId, d]));
  const others = online?.filter((d) => !pairedIds.has(d.deviceId)) ?? null;
  const paths = useConnectionPaths(manager, [...paired.map((p) => p.deviceId), ...(others ?? []).map((d) => d.deviceId)]);
  const sendLabel = presetItem ? 'Send it' : 'Send a file';

  return (
    <>
      <h1>Nearby</h1>
      <OfferedToYou />
      <SwapActivity />
      {swapWith ? <SwapPanel key={swapWith.deviceId} peer={swapWith} onClose={() => setSwapWith(null)} /> : null}

      {target ? (
        presetItem ? (
          <SendPreset target={target} itemId={presetItem} onClose={() => setTarget(null)} />
        ) : (
          <SendComposer key={target.deviceId} initial={target} targets={[...paired, ...(others ?? [])]} onClose={() => setTarget(null)} />
        )
      ) : null}

      <div className="card stack" data-testid="nearby-devices">
        <h2 style={{ margin: 0 }}>Devices</h2>
        <ErrorAlert error={pairings.error ?? unpair.error} />
        {paired.length > 0 ? (
          <ul className="list" data-testid="paired-devices" aria-label="Paired devices">
            {paired.map((d) => {
              const live = onlineById.get(d.deviceId);
              return (
                <li key={d.deviceId} data-testid="paired-device">
                  <div>
                    <strong>{d.name}</strong>
                    <div className="muted small">
                      @{d.handle} <span className="pill gray">paired</span> <Reach online={Boolean(live) || d.online} nearby={live?.nearby ?? d.nearby} path={paths.get(d.deviceId)} />
                    </div>
                  </div>
                  <div className={styles.actions}>
                    <button type="button" className="button secondary" onClick={() => setTarget(d)}>{sendLabel}</button>
                    <button type="button" className="button secondary" onClick={() => setSwapWith(d)}>Swap…</button>
                    <button
                      type="button"
                      className="button secondary"
                      aria-label={`Remove ${d.name} (@${d.handle})`}
                      disabled={unpair.isPending}
                      onClick={() => unpair.mutate({ deviceId, pairedDeviceId: d.deviceId })}
                    >
                      Remove
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
        ) : null}
        {community ? (
          <>
            <h3 style={{ margin: 0 }}>Online in {community.name}</h3>
            {others === null ? <p className="muted">Looking for devices…</p> : null}
            {others?.length === 0 ? <p className="empty">No other device of this community is online right now.</p> : null}
            <ul className="list">
              {others?.map((d) => (
                <li key={d.deviceId} className="row spread">
                  <div>
                    <strong>{d.name}</strong>
                    <div className="muted small">
                      @{d.handle} <Reach online nearby={d.nearby} path={paths.get(d.deviceId)} />
                    </div>
                  </div>
                  <button type="button" className="button secondary" onClick={() => setTarget(d)}>{sendLabel}</button>
                </li>
              ))}
            </ul>
          </>
        ) : paired.length === 0 ? (
          <p className="muted small" style={{ margin: 0 }}>Pair with a device below, or join a community to see its members’ devices online.</p>
        ) : null}
      </div>

      <SwapReceipts />

      <Pairing initialCode={params.get('pair')?.replace(/\D/g, '').slice(0, 6) ?? ''} paired={pairings.data} />
    </>
  );
}

export default function NearbyPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Nearby />
    </Suspense>
  );
}
