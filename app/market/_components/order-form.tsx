'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '@/app/_components/form';
import { formatCredits, parseCredits } from '@/app/_lib/money';
import { useTRPC } from '@/app/_lib/trpc';
import { unitLabel, UNITS_BY_CATEGORY, type Category } from '@/app/_lib/units';

type Side = 'BUY' | 'SELL';
type Mode = 'NONE' | 'MANUAL' | 'AUTO';

/** `<input type="datetime-local">` value for a time, in the device's time zone. */
function localInputValue(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

type Draft = { side: Side; quantity: string; price: string; start: string; hours: string; kind: 'STANDING' | 'SPOT'; mode: Mode; limit: string };

/** What is wrong with the draft, field by field, before anything is sent. */
function validate(d: Draft) {
  const errors: Record<string, string> = {};
  const quantity = Number(d.quantity);
  if (!Number.isInteger(quantity) || quantity <= 0) errors.quantity = 'A whole number of units, at least 1.';
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
  return { errors, quantity, price: price ?? 0, start, hours, limit };
}

export function OrderForm({ communityId, category, unit, onUnitChange, bestBid, bestAsk }: {
  communityId: string;
  category: Category;
  unit: string;
  onUnitChange: (unit: string) => void;
  bestBid?: number;
  bestAsk?: number;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => ({
    side: 'BUY',
    quantity: '1',
    price: '1',
    start: localInputValue(new Date()),
    hours: '1',
    kind: 'STANDING',
    mode: 'NONE',
    limit: '',
  }));
  const [touched, setTouched] = useState(false);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const checked = validate(draft);
  const place = useMutation({
    ...trpc.market.placeOrder.mutationOptions(),
    onSuccess: () => {
      setTouched(false);
      void queryClient.invalidateQueries(trpc.market.pathFilter());
      void queryClient.invalidateQueries(trpc.ledger.pathFilter());
      void queryClient.invalidateQueries(trpc.negotiation.pathFilter());
    },
  });
  const server = fieldErrors(place.error);
  const show = (field: string, serverField = field) =>
    touched && checked.errors[field] ? [checked.errors[field]!] : server[serverField];

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(checked.errors).length) return;
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
      negotiation: { mode: draft.mode, limit: draft.mode === 'NONE' ? null : checked.limit },
    });
  };

  const result = place.data;
  return (
    <form className="card stack" onSubmit={submit} noValidate>
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Place an order</h2>
        <span className="muted small">
          {bestBid !== undefined ? `bid ${formatCredits(bestBid)}` : 'no bids'} · {bestAsk !== undefined ? `ask ${formatCredits(bestAsk)}` : 'no asks'}
        </span>
      </div>
      <div className={`segmented ${draft.side === 'BUY' ? 'buy' : 'sell'}`} role="group" aria-label="Side">
        {(['BUY', 'SELL'] as const).map((side) => (
          <button key={side} type="button" data-value={side} aria-pressed={draft.side === side} onClick={() => set({ side, hours: side === 'SELL' ? '24' : '1' })}>
            {side === 'BUY' ? 'Buy (bid)' : 'Sell (ask)'}
          </button>
        ))}
      </div>
      <label>
        Unit
        <select value={unit} onChange={(e) => onUnitChange(e.target.value)}>
          {UNITS_BY_CATEGORY[category].map((u) => (
            <option key={u} value={u}>{unitLabel(u)}</option>
          ))}
        </select>
      </label>
      <div className="grid2">
        <Field label="Quantity" name="quantity" inputMode="numeric" value={draft.quantity} onChange={(e) => set({ quantity: e.target.value })} error={show('quantity')} />
        <Field label="Price (credits)" name="price" inputMode="decimal" value={draft.price} onChange={(e) => set({ price: e.target.value })} error={show('price')} />
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
          label={draft.side === 'BUY' ? 'Most you would pay (credits)' : 'Least you would take (credits)'}
          name="limit"
          inputMode="decimal"
          hint={draft.mode === 'MANUAL' ? 'Optional for negotiating by hand' : undefined}
          value={draft.limit}
          onChange={(e) => set({ limit: e.target.value })}
          error={show('limit')}
        />
      ) : null}
      <ErrorAlert error={place.error && !Object.keys(server).length ? place.error : null} />
      {result && !place.isPending ? (
        <div className="alert info" role="status" data-testid="order-result">
          {result.fills.length
            ? `Filled ${result.fills.reduce((n, f) => n + f.quantity, 0)} — ${result.order.remaining} left open.`
            : result.negotiationId
              ? 'No match at your price: a negotiation has opened (see Trades).'
              : 'Order placed: it rests in the book until matched.'}
        </div>
      ) : null}
      <button className="button block" type="submit" disabled={place.isPending}>
        {place.isPending ? 'Placing…' : draft.side === 'BUY' ? 'Place bid' : 'Place ask'}
      </button>
    </form>
  );
}
