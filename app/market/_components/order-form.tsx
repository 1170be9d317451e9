'use client';

import { onlineManager, useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { ErrorAlert, Field, fieldErrors } from '@/app/_components/form';
import { money, unitPrice, when } from '@/app/_lib/format';
import { parseCredits } from '@/app/_lib/money';
import { useTRPC } from '@/app/_lib/trpc';
import { categoryWord, quantityText, unitName, UNITS_BY_CATEGORY, type Category } from '@/app/_lib/units';
import { fillAmounts } from '@/server/market/commission';
import { holdFor, maxBuyPrice } from '@/server/market/reservation';

type Side = 'BUY' | 'SELL';
type Mode = 'NONE' | 'MANUAL' | 'AUTO';
/** The operating systems and networks an order's constraints name (server/device/profile.ts, market/order-input.ts). */
const OPERATING_SYSTEMS = ['android', 'ios', 'windows', 'macos', 'linux', 'chromeos', 'other'] as const;
const NETWORKS = ['wifi', 'cellular', 'ethernet'] as const;
type Network = (typeof NETWORKS)[number];
const OS_LABELS: Record<string, string> = { android: 'Android', ios: 'iOS', windows: 'Windows', macos: 'macOS', linux: 'Linux', chromeos: 'ChromeOS', other: 'Other' };
const NETWORK_LABELS: Record<Network, string> = { wifi: 'Wi-Fi', cellular: 'Mobile data', ethernet: 'Ethernet' };

/** `<input type="datetime-local">` value for a time, in the device's time zone. */
function localInputValue(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

export type Draft = {
  side: Side;
  quantity: string;
  price: string;
  start: string;
  hours: string;
  kind: 'STANDING' | 'SPOT';
  mode: Mode;
  limit: string;
  preferred: string;
  excluded: string;
  minStorageMb: string;
  minMips: string;
  minMflops: string;
  os: string[];
  networks: Network[];
};

const handlesOf = (text: string) => [...new Set(text.split(/[\s,]+/).map((h) => h.trim().replace(/^@/, '').toLowerCase()).filter(Boolean))];
const HANDLE = /^[a-z0-9][a-z0-9_-]{2,31}$/;

/** A non-negative number typed in a field, or null when the field is empty; NaN when it is not a number. */
const optionalNumber = (text: string) => (text.trim() === '' ? null : /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN);

/** What is wrong with the draft, field by field, before anything is sent. */
function validate(d: Draft) {
  const errors: Record<string, string> = {};
  const quantity = Number(d.quantity);
  if (!/^\d+$/.test(d.quantity.trim()) || !Number.isSafeInteger(quantity) || quantity <= 0) errors.quantity = 'A whole number of units, at least 1.';
  const price = parseCredits(d.price);
  if (price === null || price <= 0) errors.price = 'A price in credits, more than 0 (e.g. 0.25).';
  const hours = Number(d.hours);
  if (!Number.isFinite(hours) || hours <= 0) errors.hours = 'How many hours the window lasts, more than 0.';
  const start = new Date(d.start);
  if (Number.isNaN(start.getTime())) errors.start = 'Choose when the window starts.';
  let limit: number | null = null;
  if (d.mode !== 'NONE' && d.limit.trim() !== '') {
    limit = parseCredits(d.limit);
    if (limit === null || limit <= 0) errors.limit = 'A price in credits.';
    else if (price !== null && d.side === 'BUY' && limit < price) errors.limit = 'Your ceiling cannot be below your bid.';
    else if (price !== null && d.side === 'SELL' && limit > price) errors.limit = 'Your floor cannot be above your ask.';
  }
  if (d.mode === 'AUTO' && d.limit.trim() === '') errors.limit = d.side === 'BUY' ? 'Automatic negotiation needs your ceiling.' : 'Automatic negotiation needs your floor.';

  const preferred = handlesOf(d.preferred);
  const excluded = handlesOf(d.excluded);
  const badHandle = (list: string[]) => list.find((h) => !HANDLE.test(h));
  if (badHandle(preferred)) errors.preferred = `“${badHandle(preferred)}” is not a handle (3 to 32 letters, digits, - or _).`;
  else if (preferred.length > 50) errors.preferred = 'At most 50 members.';
  if (badHandle(excluded)) errors.excluded = `“${badHandle(excluded)}” is not a handle (3 to 32 letters, digits, - or _).`;
  else if (excluded.length > 50) errors.excluded = 'At most 50 members.';
  const minStorageMb = optionalNumber(d.minStorageMb);
  if (Number.isNaN(minStorageMb) || (minStorageMb !== null && (!Number.isInteger(minStorageMb) || minStorageMb > 1e9))) errors.minStorageMb = 'Whole megabytes, or leave it empty.';
  const minMips = optionalNumber(d.minMips);
  if (Number.isNaN(minMips) || (minMips !== null && minMips > 1e6)) errors.minMips = 'A number up to 1,000,000, or leave it empty.';
  const minMflops = optionalNumber(d.minMflops);
  if (Number.isNaN(minMflops) || (minMflops !== null && minMflops > 1e6)) errors.minMflops = 'A number up to 1,000,000, or leave it empty.';

  const constraints = {
    ...(preferred.length ? { preferredMembers: preferred } : {}),
    ...(excluded.length ? { excludedMembers: excluded } : {}),
    ...(minStorageMb ? { minStorageMb } : {}),
    ...(d.os.length ? { os: d.os as (typeof OPERATING_SYSTEMS)[number][] } : {}),
    ...(minMips ? { minMips } : {}),
    ...(minMflops ? { minMflops } : {}),
    ...(d.networks.length ? { networks: d.networks } : {}),
  };
  return { errors, quantity, price: price ?? 0, start, hours, limit, constraints };
}

/** What the order will cost or bring: for a bid, what it holds in escrow now (holdFor), for an ask what a full fill pays. */
export function ticketTotals(side: Side, quantity: number, price: number, mode: Mode, limit: number | null, commissionBps: number) {
  if (!(quantity > 0 && price > 0)) return null;
  try {
    if (side === 'BUY') {
      const top = maxBuyPrice({ price, negotiationMode: mode, negotiationLimit: limit });
      const hold = holdFor(quantity, top, commissionBps);
      return { side, value: quantity * top, commission: hold - quantity * top, hold, top };
    }
    const fill = fillAmounts(quantity, price, commissionBps);
    return { side, value: fill.value, commission: fill.sellerShare, receive: fill.sellerGets };
  } catch {
    return null; // too large: the server says so on the quantity
  }
}

const subscribeOnline = (notify: () => void) => onlineManager.subscribe(notify);
/** Whether the device is online, as the query client sees it. */
function useOnline() {
  return useSyncExternalStore(subscribeOnline, () => onlineManager.isOnline(), () => true);
}

const OFFLINE_MESSAGE = 'You are offline, so this order was not sent. Prices may have moved meanwhile: when you are back online, check the book and confirm again.';

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
}

export function OrderForm({ communityId, category, unit, onUnitChange, bestBid, bestAsk, commissionBps }: {
  communityId: string;
  category: Category;
  unit: string;
  onUnitChange: (unit: string) => void;
  bestBid?: number;
  bestAsk?: number;
  commissionBps: number;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const online = useOnline();
  const [draft, setDraft] = useState<Draft>(() => ({
    side: 'BUY',
    quantity: '1',
    price: '1',
    start: localInputValue(new Date()),
    hours: '1',
    kind: 'STANDING',
    mode: 'NONE',
    limit: '',
    preferred: '',
    excluded: '',
    minStorageMb: '',
    minMips: '',
    minMflops: '',
    os: [],
    networks: [],
  }));
  const [touched, setTouched] = useState(false);
  const [reviewing, setReviewing] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const checked = validate(draft);
  const place = useMutation({
    ...trpc.market.placeOrder.mutationOptions(),
    // an order is sent now or not at all: never queued while offline and replayed later at a stale price
    networkMode: 'always',
    onSuccess: () => {
      setTouched(false);
      setReviewing(false);
      void queryClient.invalidateQueries(trpc.market.pathFilter());
      void queryClient.invalidateQueries(trpc.ledger.pathFilter());
      void queryClient.invalidateQueries(trpc.negotiation.pathFilter());
    },
    onError: () => {
      if (!onlineManager.isOnline() || !navigator.onLine) {
        setRefused(OFFLINE_MESSAGE);
        setReviewing(false);
      }
    },
  });
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setReviewing(false); // what was confirmed is no longer what the form says
    setRefused(null);
  };
  // going offline closes a confirmation: it must be confirmed again, with fresh prices, once back online
  useEffect(() => {
    if (!online && reviewing) {
      setReviewing(false);
      setRefused(OFFLINE_MESSAGE);
    }
  }, [online, reviewing]);

  const server = fieldErrors(place.error);
  const show = (field: string, serverField = field) =>
    touched && checked.errors[field] ? [checked.errors[field]!] : server[serverField];

  const review = (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    place.reset();
    setRefused(null);
    if (Object.keys(checked.errors).length) return;
    if (!online || !navigator.onLine) {
      setRefused(OFFLINE_MESSAGE);
      return;
    }
    setReviewing(true);
  };

  const send = () => {
    if (!onlineManager.isOnline() || !navigator.onLine) {
      setRefused(OFFLINE_MESSAGE);
      setReviewing(false);
      return;
    }
    const windowStart = checked.start;
    place.mutate({
      communityId,
      side: draft.side,
      category,
      unit,
      quantity: checked.quantity,
      price: checked.price,
      windowStart: windowStart.toISOString(),
      windowEnd: new Date(windowStart.getTime() + checked.hours * 3_600_000).toISOString(),
      kind: draft.kind,
      constraints: checked.constraints,
      negotiation: { mode: draft.mode, limit: draft.mode === 'NONE' ? null : checked.limit },
    });
  };

  const one = unitName(unit, 1);
  const totals = ticketTotals(draft.side, checked.quantity, checked.price, draft.mode, draft.mode === 'NONE' ? null : checked.limit, commissionBps);
  const bps = `${(commissionBps / 100).toFixed(2)}%`;
  const what = `${Number.isSafeInteger(checked.quantity) && checked.quantity > 0 ? quantityText(checked.quantity, unit) : unitName(unit)} of ${categoryWord(category)}`;
  const windowEnd = Number.isNaN(checked.start.getTime()) ? null : new Date(checked.start.getTime() + (checked.hours || 0) * 3_600_000);
  const constraintCount = Object.keys(checked.constraints).length;
  const result = place.data;
  const showServerError = place.error && !Object.keys(server).length && !refused;

  return (
    <form className="card stack" onSubmit={review} noValidate aria-label="Order ticket">
      <div className="row spread" style={{ flexWrap: 'wrap' }}>
        <h2 style={{ margin: 0 }}>Place an order</h2>
        <span className="muted small">
          {bestBid !== undefined ? `best bid ${unitPrice(bestBid)}` : 'no bids'} · {bestAsk !== undefined ? `best ask ${unitPrice(bestAsk)}` : 'no asks'}
        </span>
      </div>
      <div className={`segmented ${draft.side === 'BUY' ? 'buy' : 'sell'}`} role="group" aria-label="Side">
        {(['BUY', 'SELL'] as const).map((side) => (
          <button key={side} type="button" data-value={side} aria-pressed={draft.side === side} onClick={() => set({ side })}>
            {side === 'BUY' ? 'Buy (bid)' : 'Sell (ask)'}
          </button>
        ))}
      </div>
      <label>
        Unit
        <select value={unit} onChange={(e) => { onUnitChange(e.target.value); setReviewing(false); }}>
          {UNITS_BY_CATEGORY[category].map((u) => (
            <option key={u} value={u}>{unitName(u)}</option>
          ))}
        </select>
      </label>
      <div className="grid2">
        <Field label="Quantity" hint={unitName(unit)} name="quantity" inputMode="numeric" value={draft.quantity} onChange={(e) => set({ quantity: e.target.value })} error={show('quantity')} />
        <Field label={`Price per ${one}`} hint="credits" name="price" inputMode="decimal" value={draft.price} onChange={(e) => set({ price: e.target.value })} error={show('price')} />
      </div>
      <div className="grid2 window">
        <Field label="Window starts" name="start" type="datetime-local" value={draft.start} onChange={(e) => set({ start: e.target.value })} error={show('start', 'windowStart')} />
        <Field label="Hours" name="hours" inputMode="decimal" value={draft.hours} onChange={(e) => set({ hours: e.target.value })} error={show('hours', 'windowEnd')} />
      </div>
      <div className="grid2">
        <label>
          Kind
          <select value={draft.kind} onChange={(e) => set({ kind: e.target.value as Draft['kind'] })}>
            <option value="STANDING">Standing (rests)</option>
            <option value="SPOT">Spot (1 minute)</option>
          </select>
        </label>
        <label>
          Negotiate
          <select value={draft.mode} onChange={(e) => set({ mode: e.target.value as Mode })}>
            <option value="NONE">No</option>
            <option value="MANUAL">By hand</option>
            <option value="AUTO">Automatically</option>
          </select>
        </label>
      </div>
      {draft.mode !== 'NONE' ? (
        <Field
          label={draft.side === 'BUY' ? `Most you would pay per ${one}` : `Least you would take per ${one}`}
          name="limit"
          inputMode="decimal"
          hint={draft.mode === 'MANUAL' ? 'credits; optional when negotiating by hand' : 'credits'}
          value={draft.limit}
          onChange={(e) => set({ limit: e.target.value })}
          error={show('limit', 'negotiation')}
        />
      ) : null}
      <details className="advanced" open={Boolean(checked.errors.preferred || checked.errors.excluded || checked.errors.minStorageMb || checked.errors.minMips || checked.errors.minMflops) || undefined}>
        <summary>Advanced: who may fill this{constraintCount ? ` (${constraintCount} ${constraintCount === 1 ? 'condition' : 'conditions'})` : ''}</summary>
        <div className="stack" style={{ marginTop: '0.5rem' }}>
          <p className="muted small" style={{ margin: 0 }}>Only a counterparty whose member and device meet every condition here can fill your order.</p>
          <Field label="Only these members" hint="handles, separated by commas; empty for anyone" name="preferred" autoCapitalize="none" value={draft.preferred} onChange={(e) => set({ preferred: e.target.value })} error={show('preferred', 'constraints')} />
          <Field label="Never these members" hint="handles, separated by commas" name="excluded" autoCapitalize="none" value={draft.excluded} onChange={(e) => set({ excluded: e.target.value })} error={show('excluded')} />
          <Field label="Least free storage" hint="MB on their device" name="minStorageMb" inputMode="numeric" value={draft.minStorageMb} onChange={(e) => set({ minStorageMb: e.target.value })} error={show('minStorageMb')} />
          <div className="grid2">
            <Field label="Least MIPS" hint="integer speed" name="minMips" inputMode="decimal" value={draft.minMips} onChange={(e) => set({ minMips: e.target.value })} error={show('minMips')} />
            <Field label="Least MFLOPS" hint="floating-point speed" name="minMflops" inputMode="decimal" value={draft.minMflops} onChange={(e) => set({ minMflops: e.target.value })} error={show('minMflops')} />
          </div>
          <fieldset className="plain">
            <legend>Operating system <span className="hint">(none ticked: any)</span></legend>
            <div className="checks">
              {OPERATING_SYSTEMS.map((os) => (
                <Check key={os} label={OS_LABELS[os] ?? os} checked={draft.os.includes(os)} onChange={(on) => set({ os: on ? [...draft.os, os] : draft.os.filter((o) => o !== os) })} />
              ))}
            </div>
          </fieldset>
          <fieldset className="plain">
            <legend>Network <span className="hint">(none ticked: any)</span></legend>
            <div className="checks">
              {NETWORKS.map((n) => (
                <Check key={n} label={NETWORK_LABELS[n]} checked={draft.networks.includes(n)} onChange={(on) => set({ networks: on ? [...draft.networks, n] : draft.networks.filter((o) => o !== n) })} />
              ))}
            </div>
          </fieldset>
        </div>
      </details>

      {totals ? (
        <div className="ticket-total" data-testid="ticket-total" aria-live="polite">
          {totals.side === 'BUY' ? (
            <>
              <div className="row spread"><span>{what} at up to {unitPrice(totals.top)}</span><span>{money(totals.value)}</span></div>
              <div className="row spread muted small"><span>Your share of the {bps} commission, at most</span><span>{money(totals.commission)}</span></div>
              <div className="row spread"><span>Held in escrow now</span><strong data-testid="ticket-hold">{money(totals.hold)} credits</strong></div>
              <div className="muted small">A fill at a lower price releases the difference.</div>
            </>
          ) : (
            <>
              <div className="row spread"><span>{what} at {unitPrice(checked.price)}</span><span>{money(totals.value)}</span></div>
              <div className="row spread muted small"><span>Your share of the {bps} commission</span><span>−{money(totals.commission)}</span></div>
              <div className="row spread"><span>You receive when all is sold</span><strong data-testid="ticket-receive">{money(totals.receive ?? 0)} credits</strong></div>
            </>
          )}
        </div>
      ) : null}

      {!online && !refused ? <div className="alert error" role="status">You are offline: orders cannot be placed until you are back online.</div> : null}
      {refused ? <div className="alert error" role="alert" data-testid="order-refused">{refused}</div> : null}
      <ErrorAlert error={showServerError ? place.error : null} />
      {result && !place.isPending ? (
        <div className="alert info" role="status" data-testid="order-result">
          {result.fills.length
            ? `Filled ${quantityText(result.fills.reduce((n, f) => n + f.quantity, 0), unit)}${result.order.remaining ? `; ${result.order.remaining} left open` : ''}.`
            : result.negotiationId
              ? 'No match at your price: a negotiation has opened (see Trades).'
              : 'Order placed: it rests in the book until matched.'}
        </div>
      ) : null}

      {reviewing && totals ? (
        <div className="card confirm stack" role="group" aria-label="Confirm your order" data-testid="order-confirm" style={{ margin: 0 }}>
          <h3 style={{ margin: 0 }}>{draft.side === 'BUY' ? 'Confirm your bid' : 'Confirm your ask'}</h3>
          <dl>
            <dt>{draft.side === 'BUY' ? 'Buy' : 'Sell'}</dt>
            <dd>{what}</dd>
            <dt>Price per {one}</dt>
            <dd>{unitPrice(checked.price)} credits</dd>
            {draft.mode !== 'NONE' && checked.limit ? (
              <>
                <dt>{draft.side === 'BUY' ? 'Ceiling' : 'Floor'} ({draft.mode === 'AUTO' ? 'automatic' : 'by hand'})</dt>
                <dd>{unitPrice(checked.limit)} credits</dd>
              </>
            ) : null}
            <dt>Window</dt>
            <dd>{when(checked.start)}{windowEnd ? ` to ${when(windowEnd)}` : ''}</dd>
            {constraintCount ? (
              <>
                <dt>Conditions</dt>
                <dd>{constraintCount}</dd>
              </>
            ) : null}
            {totals.side === 'BUY' ? (
              <>
                <dt className="total">Held in escrow now</dt>
                <dd className="total">{money(totals.hold)} credits</dd>
              </>
            ) : (
              <>
                <dt className="total">You receive when all is sold</dt>
                <dd className="total">{money(totals.receive ?? 0)} credits</dd>
              </>
            )}
          </dl>
          <button className="button block" type="button" onClick={send} disabled={place.isPending || !online}>
            {place.isPending ? 'Placing…' : draft.side === 'BUY' ? 'Place bid' : 'Place ask'}
          </button>
          <button className="button secondary block" type="button" onClick={() => setReviewing(false)} disabled={place.isPending}>
            Change it
          </button>
        </div>
      ) : (
        <button className="button block" type="submit" disabled={place.isPending}>
          {draft.side === 'BUY' ? 'Review bid' : 'Review ask'}
        </button>
      )}
    </form>
  );
}
