'use client';

import { useQuery } from '@tanstack/react-query';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { MICRO_PER_CREDIT } from '@/app/_lib/money';
import { unitPrice } from '@/app/_lib/format';
import { useTRPC } from '@/app/_lib/trpc';
import { unitLabel, unitName, type Category } from '@/app/_lib/units';

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
          <ResponsiveContainer>
            <LineChart data={points} margin={{ top: 8, right: 8, left: -18, bottom: 0 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#e7e5e4" />
              <XAxis dataKey="time" type="number" scale="time" domain={['dataMin', 'dataMax']} tick={{ fontSize: 11 }} tickFormatter={(t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} />
              <YAxis tick={{ fontSize: 11 }} />
              <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleString()} formatter={(v) => [`${v} credits`, 'average']} />
              <Line type="monotone" dataKey="average" stroke="#0f766e" strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
      )}
    </div>
  );
}
