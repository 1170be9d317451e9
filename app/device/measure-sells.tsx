'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert } from '../_components/form';
import { unitPrice } from '../_lib/format';
import { parseCredits } from '../_lib/money';
import { quantityText, unitName } from '../_lib/units';
import { useTRPC } from '../_lib/trpc';

type Row = { on: boolean; price: string; quantity: string };
const UNITS = ['GFLOP', 'CPU_SECOND'] as const;
const START: Record<(typeof UNITS)[number], Row> = { GFLOP: { on: false, price: '1', quantity: '100' }, CPU_SECOND: { on: false, price: '0.01', quantity: '3600' } };

/**
 * While the device donates: standing sells of its compute by measure (GFLOP, CPU seconds). They are ordinary orders of
 * the community's book, so a bid in that unit meets them; the buyer then spends the contract with a job that only this
 * member's devices run, paid from the kernel's counts of the validated units (server/compute/donation.ts, terms.ts).
 */
export function MeasureSells({ deviceId, communityId, floorPrice, memoryMb }: { deviceId: string; communityId: string; floorPrice: number; memoryMb: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sells = useQuery({ ...trpc.compute.donorSells.queryOptions({ communityId, deviceId }), refetchInterval: 10_000 });
  const [rows, setRows] = useState(START);
  const post = useMutation({
    ...trpc.compute.donate.mutationOptions(),
    onSettled: () => queryClient.invalidateQueries(trpc.compute.donorSells.queryFilter({ communityId, deviceId })),
  });
  const problems: string[] = [];
  const computeSells = UNITS.filter((u) => rows[u].on).map((unit) => {
    const price = parseCredits(rows[unit].price);
    const quantity = Number(rows[unit].quantity);
    if (price === null || price < 1) problems.push(`Enter a price per ${unitName(unit, 1)} in credits.`);
    if (!Number.isInteger(quantity) || quantity < 1) problems.push(`Enter how many ${unitName(unit)} to sell (a whole number).`);
    return { unit, price: price ?? 1, quantity: Math.max(1, Math.floor(quantity) || 1) };
  });
  const set = (unit: (typeof UNITS)[number], patch: Partial<Row>) => setRows({ ...rows, [unit]: { ...rows[unit], ...patch } });
  const current = sells.data ?? [];
  return (
    <details data-testid="measure-sells" style={{ borderTop: '1px solid var(--line)', paddingTop: '0.5rem' }}>
      <summary style={{ minHeight: 48, display: 'flex', alignItems: 'center', fontWeight: 600, cursor: 'pointer' }}>
        Sell compute by the GFLOP or CPU second{current.length ? ` · ${current.length} on offer` : ''}
      </summary>
      <div className="stack">
        <p className="muted small" style={{ margin: 0 }}>
          A standing offer in the market: a member who bids for GFLOP or CPU seconds at your price or more buys from you, and runs a job that only your devices compute. You are paid for the operations or CPU time of the units that check out.
        </p>
        {current.length ? (
          <ul className="list" data-testid="measure-sells-current">
            {current.map((s) => (
              <li key={s.orderId} className="row spread">
                <span>{unitPrice(s.price)} cr / {unitName(s.unit, 1)}</span>
                <span className="muted small">{quantityText(s.remaining, s.unit)} left of {s.quantity.toLocaleString()}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {UNITS.map((unit) => (
          <div key={unit} className="stack" style={{ gap: '0.35rem' }}>
            <label className="row" style={{ minHeight: 48, gap: '0.75rem' }}>
              <input type="checkbox" checked={rows[unit].on} onChange={(e) => set(unit, { on: e.target.checked })} style={{ width: 24, height: 24 }} />
              Sell {unitName(unit)}
            </label>
            {rows[unit].on ? (
              <div className="grid2">
                <label>
                  Price per {unitName(unit, 1)} (credits)
                  <input inputMode="decimal" value={rows[unit].price} onChange={(e) => set(unit, { price: e.target.value })} />
                </label>
                <label>
                  {unitName(unit)} to sell
                  <input inputMode="numeric" value={rows[unit].quantity} onChange={(e) => set(unit, { quantity: e.target.value })} />
                </label>
              </div>
            ) : null}
          </div>
        ))}
        {problems.length ? <p className="field-error" style={{ margin: 0 }}>{problems[0]}</p> : null}
        <ErrorAlert error={post.error} />
        <button
          type="button"
          className="button block"
          disabled={post.isPending || problems.length > 0 || (computeSells.length === 0 && current.length === 0)}
          onClick={() => post.mutate({ communityId, deviceId, on: true, floorPrice, memoryMb, computeSells })}
        >
          {computeSells.length ? 'Offer these for a week' : 'Withdraw my offers'}
        </button>
      </div>
    </details>
  );
}
