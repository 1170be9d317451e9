'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { toDataURL } from 'qrcode';
import { Suspense, useEffect, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { useTRPC } from '../../_lib/trpc';
import { useContent, useTransfers, type Community } from '../_components/content-context';
import { FilePicker, ImportProgress, useFileImport } from '../_components/file-import';
import { formatBytes, normalizeMediaType, titleFromName } from '../_components/format';
import styles from '../content.module.css';

type Target = { deviceId: string; name: string; handle: string; nearby?: boolean };
const PAIRED_KEY = 'swapmesh.pairedDevices';

function readPaired(): Target[] {
  try {
    const list = JSON.parse(localStorage.getItem(PAIRED_KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((t): t is Target => typeof t?.deviceId === 'string' && typeof t?.handle === 'string' && typeof t?.name === 'string') : [];
  } catch {
    return [];
  }
}

/** Picks a file, offers it as a gift in the community, and tells the chosen device about it. */
function SendPanel({ target, community, onClose }: { target: Target; community: Community; onClose: () => void }) {
  const trpc = useTRPC();
  const { deviceId, manager } = useContent();
  const importer = useFileImport();
  const [sent, setSent] = useState<string | null>(null);
  const publish = useMutation(trpc.content.publish.mutationOptions());

  const sendFile = async (file: File) => {
    const imported = await importer.run(file);
    if (!imported) return;
    const { manifest } = imported;
    const title = titleFromName(file.name);
    const item = await publish.mutateAsync({
      communityId: community.id,
      deviceId,
      header: {
        title,
        description: `Sent to @${target.handle}`,
        audience: `@${target.handle}`,
        purpose: '',
        environment: '',
        mediaType: normalizeMediaType(file.type),
        sizeBytes: manifest.sizeBytes,
        sha256: manifest.sha256,
        chunkSize: manifest.chunkSize,
        chunkHashes: manifest.chunkHashes,
      },
      pricing: { mode: 'GIFT' },
    });
    manager.offerGift(target.deviceId, { id: item.id, title, sizeBytes: manifest.sizeBytes });
    setSent(title);
  };

  return (
    <div className="card stack" data-testid="send-panel">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Send to @{target.handle}</h2>
        <button type="button" className="button secondary" onClick={onClose}>Close</button>
      </div>
      {sent ? (
        <div className="alert info" role="status">“{sent}” is offered to @{target.handle}: it copies as soon as they accept.</div>
      ) : importer.progress ? (
        <ImportProgress progress={importer.progress} />
      ) : (
        <FilePicker label="Choose a file to send" onFile={(f) => void sendFile(f).catch(() => undefined)} disabled={publish.isPending} />
      )}
      {importer.error ? <div className="alert error">{importer.error}</div> : null}
      <ErrorAlert error={publish.error} />
      <p className="muted small" style={{ margin: 0 }}>A gift: no credits change hands. The file goes straight from this device to theirs.</p>
    </div>
  );
}

/** Offers one of this device's published items to the chosen device. */
function SendPreset({ target, itemId, onClose }: { target: Target; itemId: string; onClose: () => void }) {
  const trpc = useTRPC();
  const { manager } = useContent();
  const item = useQuery(trpc.content.get.queryOptions({ itemId }));
  const [done, setDone] = useState(false);
  return (
    <div className="card stack" data-testid="send-panel">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Send to @{target.handle}</h2>
        <button type="button" className="button secondary" onClick={onClose}>Close</button>
      </div>
      <ErrorAlert error={item.error} />
      {done ? (
        <div className="alert info" role="status">Offered to @{target.handle}: it copies as soon as they accept.</div>
      ) : item.data ? (
        <button
          type="button"
          className="button block"
          onClick={() => {
            manager.offerGift(target.deviceId, item.data);
            setDone(true);
          }}
        >
          Offer “{item.data.title}” to @{target.handle}
        </button>
      ) : null}
    </div>
  );
}

function Pairing({ initialCode }: { initialCode: string }) {
  const trpc = useTRPC();
  const { deviceId } = useContent();
  const [code, setCode] = useState(initialCode);
  const [qr, setQr] = useState<string | null>(null);
  const mine = useMutation(trpc.signal.pairCode.mutationOptions());
  const pair = useMutation(
    trpc.signal.pair.mutationOptions({
      onSuccess: ({ pairedWith }) => {
        const list = readPaired().filter((t) => t.deviceId !== pairedWith.deviceId);
        localStorage.setItem(PAIRED_KEY, JSON.stringify([...list, pairedWith]));
        window.dispatchEvent(new Event('swapmesh-paired'));
      },
    }),
  );
  useEffect(() => {
    if (!mine.data) return;
    void toDataURL(`${window.location.origin}/content/nearby?pair=${mine.data.code}`, { margin: 1, width: 400, errorCorrectionLevel: 'M' }).then(setQr);
  }, [mine.data]);

  return (
    <div className="card stack" data-testid="pairing">
      <h2 style={{ margin: 0 }}>Pair with a device</h2>
      <p className="muted small" style={{ margin: 0 }}>Paired devices can connect to each other even when they share no community.</p>
      {mine.data ? (
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
  const router = useRouter();
  const { manager, community } = useContent();
  const snapshot = useTransfers(manager);
  const [target, setTarget] = useState<Target | null>(null);
  const [paired, setPaired] = useState<Target[]>([]);
  const [accepting, setAccepting] = useState<string | null>(null);
  const [giftError, setGiftError] = useState<unknown>(null);
  const presetItem = params.get('item');

  useEffect(() => {
    const load = () => setPaired(readPaired());
    load();
    window.addEventListener('swapmesh-paired', load);
    return () => window.removeEventListener('swapmesh-paired', load);
  }, []);

  const online = snapshot.nearby;
  const onlineIds = new Set(online?.map((d) => d.deviceId));
  const pairedOnly = paired.filter((p) => !onlineIds.has(p.deviceId));

  const accept = async (itemId: string) => {
    setAccepting(itemId);
    setGiftError(null);
    try {
      await manager.acceptGift(itemId);
      router.push('/content/transfers');
    } catch (error) {
      setGiftError(error);
    } finally {
      setAccepting(null);
    }
  };

  return (
    <>
      <h1>Nearby</h1>
      {snapshot.gifts.length > 0 ? (
        <div className="card stack" data-testid="gifts">
          <h2 style={{ margin: 0 }}>Offered to you</h2>
          <ErrorAlert error={giftError} />
          <ul className="list">
            {snapshot.gifts.map((g) => (
              <li key={g.itemId}>
                <div>
                  <strong>{g.title}</strong> <span className="muted small">{formatBytes(g.sizeBytes)} from {g.fromHandle ? `@${g.fromHandle}` : 'a device'}</span>
                </div>
                <div className={styles.actions}>
                  <button type="button" className="button" disabled={accepting !== null} onClick={() => void accept(g.itemId)}>Accept</button>
                  <button type="button" className="button secondary" onClick={() => manager.dismissGift(g.itemId)}>Decline</button>
                </div>
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {target ? (
        presetItem ? (
          <SendPreset target={target} itemId={presetItem} onClose={() => setTarget(null)} />
        ) : community ? (
          <SendPanel target={target} community={community} onClose={() => setTarget(null)} />
        ) : (
          <div className="alert error">Join a community first: a file is offered in one.</div>
        )
      ) : null}

      <div className="card" data-testid="nearby-devices">
        <h2>{community ? `Online in ${community.name}` : 'Devices'}</h2>
        {!community ? <p className="muted small">Join a community to see its members’ devices online.</p> : online === null ? <p className="muted">Looking for devices…</p> : null}
        {online?.length === 0 ? <p className="empty">No other device of this community is online right now.</p> : null}
        <ul className="list">
          {online?.map((d) => (
            <li key={d.deviceId} className="row spread">
              <div>
                <strong>{d.name}</strong>
                <div className="muted small">
                  @{d.handle} {d.nearby ? <span className="pill">nearby</span> : null}
                </div>
              </div>
              <button type="button" className="button secondary" onClick={() => setTarget(d)}>
                {presetItem ? 'Send it' : 'Send a file'}
              </button>
            </li>
          ))}
          {pairedOnly.map((d) => (
            <li key={d.deviceId} className="row spread">
              <div>
                <strong>{d.name}</strong>
                <div className="muted small">@{d.handle} <span className="pill gray">paired</span></div>
              </div>
              <button type="button" className="button secondary" onClick={() => setTarget(d)}>
                {presetItem ? 'Send it' : 'Send a file'}
              </button>
            </li>
          ))}
        </ul>
      </div>

      <Pairing initialCode={params.get('pair')?.replace(/\D/g, '').slice(0, 6) ?? ''} />
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
