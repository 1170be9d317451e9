'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { MICRO_PER_CREDIT } from '@/app/_lib/money';
import { unitPrice } from '@/app/_lib/format';
import { useTRPC } from '@/app/_lib/trpc';
import { unitLabel, unitName, type Category } from '@/app/_lib/units';

/** recharts loads with the first chart drawn, in the box already sized for it */
const PriceLine = dynamic(() => import('./charts').then((m) => m.PriceLine), { ssr: false });

export function PriceChart({ communityId, category, unit }: { communityId: string; category: Category; unit: string }) {
  const trpc = useTRPC();
  const history = useQuery(trpc.market.priceHistory.queryOptions({ communityId, category, unit, bucketMinutes: 15, days: 7 }));
  const points = (history.data ?? []).map((p) => ({
    time: new Date(p.time).getTime(),
    average: p.average / MICRO_PER_CREDIT,
    volume: p.volume,
  }));
  const last = history.data?.at(-1);
  return (
    <div className="card">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Price history</h2>
        {last ? <span className="muted small">last {unitPrice(last.average)} credits per {unitName(unit, 1)}</span> : null}
      </div>
      {points.length === 0 ? (
        <p className="empty">No trades in {unitLabel(unit)} this week.</p>
      ) : (
        <div style={{ width: '100%', height: 160 }} data-testid="price-chart">
          <PriceLine points={points} />
        </div>
      )}
    </div>
  );
}
