'use client';

/**
 * The market's two charts (recharts, the largest library on the screen). book-view.tsx and price-chart.tsx load
 * this file on demand, inside boxes of a fixed height, so the rest of the market shows first and nothing moves.
 */
import { Area, AreaChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export type DepthPoint = { price: number; bids?: number; asks?: number };
export type PricePoint = { time: number; average: number; volume: number };

export function DepthChart({ series }: { series: DepthPoint[] }) {
  return (
    <ResponsiveContainer>
      <AreaChart data={series} margin={{ top: 8, right: 4, left: -18, bottom: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e7e5e4" />
        <XAxis dataKey="price" type="number" domain={['dataMin', 'dataMax']} tick={{ fontSize: 11 }} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
        <Tooltip formatter={(v) => [String(v), 'quantity']} labelFormatter={(p) => `${p} credits`} />
        <Area type="stepAfter" dataKey="bids" stroke="#15803d" fill="#dcfce7" isAnimationActive={false} connectNulls={false} />
        <Area type="stepBefore" dataKey="asks" stroke="#b91c1c" fill="#fee2e2" isAnimationActive={false} connectNulls={false} />
      </AreaChart>
    </ResponsiveContainer>
  );
}

export function PriceLine({ points }: { points: PricePoint[] }) {
  return (
    <ResponsiveContainer>
      <LineChart data={points} margin={{ top: 8, right: 8, left: -18, bottom: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e7e5e4" />
        <XAxis dataKey="time" type="number" scale="time" domain={['dataMin', 'dataMax']} tick={{ fontSize: 11 }} tickFormatter={(t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} />
        <YAxis tick={{ fontSize: 11 }} />
        <Tooltip labelFormatter={(t) => new Date(Number(t)).toLocaleString()} formatter={(v) => [`${v} credits`, 'average']} />
        <Line type="monotone" dataKey="average" stroke="#0f766e" strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}
