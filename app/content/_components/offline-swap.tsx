'use client';

/**
 * Swapping on the spot with a paired device, even when Swapmesh itself is out of reach (issue 11): the
 * "Swap…" panel (what I give, what I want, the community the receipt settles in), the proposals and swaps in
 * progress, and the receipts this device keeps until the coordinator settled them. The work is done by
 * app/_lib/barter/swaps.ts over the Nearby screen's data channels.
 */
import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import { money, signedMoney } from '../../_lib/format';
import { quantityText } from '../../_lib/units';
import { getOfflineSwaps, type OfflineSwaps, type SwapView } from '../../_lib/barter/swaps';
import type { SwapSide } from '../../_lib/barter/receipt';
import type { KeptReceipt } from '../../_lib/barter/receipt-store';
import { MICRO_PER_CREDIT } from '@/server/money';
import { useContent } from './content-context';
import { formatBytes } from './format';
import styles from '../content.module.css';

/** This device's swap session, told who the member is and which communities they belong to. */
export function useOfflineSwaps(): { swaps: OfflineSwaps; snapshot: ReturnType<OfflineSwaps['getSnapshot']> } {
  const { deviceId, manager, member, communities } = useContent();
  const swaps = getOfflineSwaps(deviceId, manager);
  const communityKey = communities.map((c) => `${c.id}:${c.name}`).join('|');
  useEffect(() => swaps.start(), [swaps]);
  useEffect(() => {
    swaps.setIdentity({ handle: member.handle, communities: communityKey ? communityKey.split('|').map((entry) => ({ id: entry.slice(0, entry.indexOf(':')), name: entry.slice(entry.indexOf(':') + 1) })) : [] });
  }, [swaps, member.handle, communityKey]);
  const snapshot = useSyncExternalStore(swaps.subscribe, swaps.getSnapshot, swaps.getSnapshot);
  return { swaps, snapshot };
}

const credits = (n: number) => `${money(n * MICRO_PER_CREDIT)} credits`;

export function sideText(side: SwapSide): string {
  return side.kind === 'file' ? `${side.file.name} (${formatBytes(side.file.sizeBytes)})` : credits(side.credits);
}

type Choice = { kind: 'file'; sha256: string } | { kind: 'credits' };

function SideChoice({ legend, name, files, choice, onChoice, amount, onAmount, allowCredits, children }: {
  legend: string;
  name: string;
  files: { name: string; sha256: string; sizeBytes: number }[];
  choice: Choice | null;
  onChoice: (choice: Choice) => void;
  amount: string;
  onAmount: (value: string) => void;
  allowCredits: boolean;
  children?: React.ReactNode;
}) {
  const amountId = useId();
  return (
    <fieldset className={styles.swapSide}>
      <legend>{legend}</legend>
      {files.map((f) => (
        <label key={f.sha256} className="check">
          <input type="radio" name={name} checked={choice?.kind === 'file' && choice.sha256 === f.sha256} onChange={() => onChoice({ kind: 'file', sha256: f.sha256 })} />
          <span className={styles.swapFile}>
            {f.name} <span className="muted small">{formatBytes(f.sizeBytes)}</span>
          </span>
        </label>
      ))}
      {children}
      {allowCredits ? (
        <>
          <label className="check">
            <input type="radio" name={name} checked={choice?.kind === 'credits'} onChange={() => onChoice({ kind: 'credits' })} />
            <span>Credits</span>
          </label>
          {choice?.kind === 'credits' ? (
            <label htmlFor={amountId}>
              {legend === 'You give' ? 'Credits you pay' : 'Credits you want'}
              <input id={amountId} inputMode="numeric" value={amount} onChange={(e) => onAmount(e.target.value.replace(/\D/g, '').slice(0, 7))} />
            </label>
          ) : null}
        </>
      ) : null}
    </fieldset>
  );
}

/** "Swap…" with one paired device: opens the data channel, learns what it offers, and proposes. */
export function SwapPanel({ peer, onClose }: { peer: { deviceId: string; name: string; handle: string }; onClose: () => void }) {
  const { swaps, snapshot } = useOfflineSwaps();
  const [give, setGive] = useState<Choice | null>(null);
  const [want, setWant] = useState<Choice | null>(null);
  const [giveAmount, setGiveAmount] = useState('1');
  const [wantAmount, setWantAmount] = useState('1');
  const [communityId, setCommunityId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    swaps.open(peer.deviceId);
    return () => swaps.release(peer.deviceId);
  }, [swaps, peer.deviceId]);

  const info = snapshot.peers[peer.deviceId];
  const shared = info ? swaps.sharedCommunities(peer.deviceId) : [];
  const community = shared.find((c) => c.id === communityId) ?? shared[0];

  const sideFrom = (choice: Choice | null, amount: string, files: { name: string; sha256: string; sizeBytes: number }[]): SwapSide | null => {
    if (!choice) return null;
    if (choice.kind === 'credits') {
      const n = Number(amount);
      return Number.isSafeInteger(n) && n >= 1 ? { kind: 'credits', credits: n } : null;
    }
    const file = files.find((f) => f.sha256 === choice.sha256);
    return file ? { kind: 'file', file } : null;
  };

  const propose = () => {
    setError(null);
    const gives = sideFrom(give, giveAmount, snapshot.shelf);
    const gets = sideFrom(want, wantAmount, info?.files ?? []);
    if (!gives || !gets) return setError('Choose what you give and what you want (credits are whole numbers from 1).');
    if (gives.kind === 'credits' && gets.kind === 'credits') return setError('A swap hands over at least one file: credits for credits is not a swap.');
    if (!community) return setError('You share no community with this device, so the swap could not be settled.');
    try {
      swaps.propose(peer.deviceId, gives, gets, community.id);
      onClose(); // the swap goes on under Swaps
    } catch (e) {
      setError(e instanceof Error ? e.message : 'The proposal could not be sent.');
    }
  };

  return (
    <div className="card stack" data-testid="swap-panel">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h2 style={{ margin: 0 }}>Swap with {peer.name}</h2>
        <button type="button" className="button secondary" onClick={onClose}>Close</button>
      </div>
      {!info ? (
        <p className="muted" data-testid="swap-connecting">Connecting to {peer.name} (@{peer.handle}) directly…</p>
      ) : (
        <>
          <p className="muted small" style={{ margin: 0 }} data-testid="swap-connected">
            Connected directly to @{info.handle ?? peer.handle}. The swap goes device to device and works even while Swapmesh is out of reach; it is settled when either of you is back online.
          </p>
          {shared.length === 0 ? (
            <div className="alert error" role="alert">You and @{peer.handle} share no community, so a swap could not be settled. Join one of the same communities first, or send a gift instead.</div>
          ) : null}
          <SideChoice legend="You give" name="swap-give" files={snapshot.shelf} choice={give} onChoice={setGive} amount={giveAmount} onAmount={setGiveAmount} allowCredits>
            <label className={`button secondary ${styles.swapAdd}`}>
              {adding ? 'Keeping a copy…' : 'Add a file to swap'}
              <input
                type="file"
                aria-label="Add a file to swap"
                disabled={adding}
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  e.target.value = '';
                  if (!file) return;
                  setAdding(true);
                  setError(null);
                  swaps
                    .addToShelf(file)
                    .then((entry) => setGive({ kind: 'file', sha256: entry.sha256 }))
                    .catch((err: unknown) => setError(err instanceof Error ? err.message : 'The file could not be kept.'))
                    .finally(() => setAdding(false));
                }}
              />
            </label>
            <span className="muted small">Files of any size this device has room for, kept on this device.</span>
          </SideChoice>
          <SideChoice legend="You want" name="swap-want" files={info.files} choice={want} onChoice={setWant} amount={wantAmount} onAmount={setWantAmount} allowCredits>
            {info.files.length === 0 ? <p className="muted small" style={{ margin: 0 }}>@{info.handle ?? peer.handle} offers no file to swap yet.</p> : null}
          </SideChoice>
          {shared.length > 1 ? (
            <label>
              Settled in
              <select value={community?.id ?? ''} onChange={(e) => setCommunityId(e.target.value)}>
                {shared.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
              </select>
            </label>
          ) : community ? (
            <p className="muted small" style={{ margin: 0 }}>Settled in {community.name}, with its commission.</p>
          ) : null}
          {error ? <div className="alert error" role="alert">{error}</div> : null}
          <button type="button" className="button block" onClick={propose} disabled={!community}>Propose swap</button>
        </>
      )}
    </div>
  );
}

function percent(done: number, total: number) {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 100;
}

/** One swap, as the member follows it: proposal, answer, the files moving, the signatures. */
export function SwapStatus({ swap, swaps, receipts = [] }: { swap: SwapView; swaps: OfflineSwaps; receipts?: KeptReceipt[] }) {
  const settled = swap.hash ? receipts.find((r) => r.hash === swap.hash && r.state === 'settled') : undefined;
  const who = `@${swap.peerHandle ?? 'the other device'}`;
  const inTotal = swap.gets.kind === 'file' ? swap.gets.file.sizeBytes : 0;
  const outTotal = swap.gives.kind === 'file' ? swap.gives.file.sizeBytes : 0;
  return (
    <div className="stack" data-testid="swap-status" data-phase={swap.phase} data-nonce={swap.nonce}>
      <div>
        <div><strong>You give</strong> {sideText(swap.gives)}</div>
        <div><strong>You get</strong> {sideText(swap.gets)}</div>
        {swap.communityName ? <div className="muted small">Settled in {swap.communityName}</div> : null}
      </div>
      {swap.phase === 'proposed' ? (
        <>
          <p style={{ margin: 0 }}>Waiting for {who} to accept…</p>
          <button type="button" className="button secondary" onClick={() => swaps.decline(swap.nonce, 'The proposal was withdrawn.')}>Withdraw</button>
        </>
      ) : null}
      {swap.phase === 'incoming' ? (
        <>
          <p style={{ margin: 0 }}>{who} proposes this swap.</p>
          <div className="row" style={{ flexWrap: 'wrap' }}>
            <button type="button" className="button" onClick={() => swaps.accept(swap.nonce)}>Accept swap</button>
            <button type="button" className="button secondary" onClick={() => swaps.decline(swap.nonce)}>Decline</button>
          </div>
        </>
      ) : null}
      {swap.phase === 'exchanging' ? (
        <>
          {swap.gets.kind === 'file' ? (
            <div className="stack" style={{ gap: '0.3rem' }}>
              <div className="small" data-testid="swap-receiving">Receiving {swap.gets.file.name}: {formatBytes(swap.bytesIn)} of {formatBytes(inTotal)}{swap.verified ? ' — SHA-256 matches' : ''}</div>
              {swap.resumedFrom !== null && !swap.verified ? (
                <div className="muted small" data-testid="swap-resumed" data-bytes={swap.resumedFrom}>Resumed from {formatBytes(swap.resumedFrom)} already checked on this device.</div>
              ) : null}
              <div className="progress" role="progressbar" aria-label="Receiving" aria-valuenow={percent(swap.bytesIn, inTotal)}><div style={{ width: `${percent(swap.bytesIn, inTotal)}%` }} /></div>
            </div>
          ) : null}
          {swap.gives.kind === 'file' ? (
            <div className="stack" style={{ gap: '0.3rem' }}>
              <div className="small">Sending {swap.gives.file.name}: {formatBytes(swap.bytesOut)} of {formatBytes(outTotal)}</div>
              <div className="progress" role="progressbar" aria-label="Sending" aria-valuenow={percent(swap.bytesOut, outTotal)}><div style={{ width: `${percent(swap.bytesOut, outTotal)}%` }} /></div>
            </div>
          ) : null}
          <p className="muted small" style={{ margin: 0 }}>
            {swap.signedByMe ? 'You signed the receipt. ' : ''}
            {swap.signedByPeer ? `${who} signed the receipt.` : `Waiting for ${who} to sign…`}
          </p>
          {swap.paused ? (
            <div className="alert info" role="status" data-testid="swap-paused">
              Waiting for {who}&apos;s device: the swap goes on from the bytes already checked as soon as you are connected again.
            </div>
          ) : null}
          <button type="button" className="button secondary" onClick={() => swaps.stopSwap(swap.nonce)}>Stop swap</button>
        </>
      ) : null}
      {swap.phase === 'done' ? (
        <div className="alert info" role="status" data-testid="swap-done">
          {settled?.settlement ? (
            <>
              Swapped and settled: your balance changed by <strong>{signedMoney(settled.settlement.net)}</strong> credits.
            </>
          ) : (
            'Swapped. Receipt signed by both; it will be settled when you are back online.'
          )}
        </div>
      ) : null}
      {swap.phase === 'declined' || swap.phase === 'failed' ? (
        <div className="alert error" role="alert">{swap.phase === 'declined' ? 'Not swapped: ' : ''}{swap.error}</div>
      ) : null}
      {swap.phase === 'done' || swap.phase === 'declined' || swap.phase === 'failed' ? (
        <button type="button" className="button secondary" onClick={() => swaps.dismiss(swap.nonce)}>OK</button>
      ) : null}
    </div>
  );
}

/** Swaps proposed to this device, and swaps running or just finished, whichever screen part started them. */
export function SwapActivity() {
  const { swaps, snapshot } = useOfflineSwaps();
  const shown = snapshot.swaps;
  if (shown.length === 0) return null;
  return (
    <div className="card stack" data-testid="swap-activity">
      <h2 style={{ margin: 0 }}>Swaps</h2>
      {shown.map((swap) => (
        <SwapStatus key={swap.nonce} swap={swap} swaps={swaps} receipts={snapshot.receipts} />
      ))}
    </div>
  );
}

function legText(leg: NonNullable<KeptReceipt['settlement']>['legs'][number]) {
  const what = leg.category === 'FILE' && leg.unit === 'ITEM' ? (leg.quantity === 1 ? 'a file' : `${leg.quantity} files`) : quantityText(leg.quantity, leg.unit);
  const paid = leg.credits > 0 ? ` for ${money(leg.credits)} credits` : '';
  return leg.mine === 'GAVE' ? `You gave ${what} to @${leg.to}${paid}` : `You got ${what} from @${leg.from}${paid}`;
}

/** The receipts this device keeps: waiting to be settled, settled with what moved, or refused and why. */
export function SwapReceipts() {
  const { swaps, snapshot } = useOfflineSwaps();
  const [saving, setSaving] = useState<string | null>(null);
  if (snapshot.receipts.length === 0) return null;
  const waiting = snapshot.receipts.some((r) => r.state === 'signed');
  const save = async (record: KeptReceipt) => {
    setSaving(record.hash);
    try {
      const blob = await swaps.receivedFile(record);
      if (!blob || !record.received) return;
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = record.received.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } finally {
      setSaving(null);
    }
  };
  return (
    <div className="card stack" data-testid="swap-receipts">
      <h2 style={{ margin: 0 }}>Swap receipts</h2>
      <ul className="list">
        {snapshot.receipts.map((r) => {
          const me = r.receipt.parties.findIndex((p) => p.deviceId === r.deviceId);
          const gives = r.receipt.parties[me === 0 ? 0 : 1];
          const gets = r.receipt.parties[me === 0 ? 1 : 0];
          const side = (p: typeof gives) => (p.files?.[0] ? `${p.files[0].name} (${formatBytes(p.files[0].sizeBytes)})` : credits(p.gives.reduce((n, l) => n + (l.category === 'MONEY' ? l.quantity : 0), 0)));
          return (
            <li key={r.hash} className="stack" style={{ gap: '0.35rem' }} data-testid="swap-receipt" data-state={r.state} data-hash={r.hash}>
              <div className="row" style={{ justifyContent: 'space-between', alignItems: 'flex-start' }}>
                <div className={styles.swapFile}>
                  <strong>{side(gives)}</strong> for <strong>{side(gets)}</strong>
                  <div className="muted small">with @{r.peerHandle ?? 'another device'} · signed by both</div>
                </div>
                <span className={r.state === 'settled' ? 'pill' : 'pill gray'}>{r.state === 'settled' ? 'Settled' : r.state === 'refused' ? 'Refused' : 'Waiting to settle'}</span>
              </div>
              {r.state === 'signed' ? <div className="muted small">{r.lastTry ?? 'It will be settled when you are back online.'}</div> : null}
              {r.state === 'refused' ? <div className="alert error" role="alert" style={{ margin: 0 }}>{r.error}</div> : null}
              {r.settlement ? (
                <div className="small" data-testid="swap-settlement">
                  {r.alreadySettled ? <div className="muted">Already settled by the other device: nothing was paid twice.</div> : null}
                  {r.settlement.legs.map((leg, i) => (
                    <div key={i}>
                      {legText(leg)}
                      {leg.mine === 'GOT' && leg.commission > 0 ? `, commission ${money(leg.commission)}` : ''}
                    </div>
                  ))}
                  <div>
                    Your balance changed by <strong className={r.settlement.net >= 0 ? 'amount-plus' : 'amount-minus'} data-testid="swap-net">{signedMoney(r.settlement.net)}</strong> credits
                  </div>
                </div>
              ) : null}
              {r.received ? (
                <button type="button" className="button secondary" disabled={saving === r.hash} onClick={() => void save(r)}>
                  Save {r.received.name}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {waiting ? (
        <button type="button" className="button" disabled={snapshot.submitting} onClick={() => void swaps.submitAll()}>
          {snapshot.submitting ? 'Submitting…' : 'Submit now'}
        </button>
      ) : null}
    </div>
  );
}
