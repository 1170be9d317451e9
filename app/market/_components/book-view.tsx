'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { MICRO_PER_CREDIT } from '@/app/_lib/money';
import { unitPrice } from '@/app/_lib/format';
import { Pending } from '@/app/_components/loading';
import { useLastKnown } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';
import { unitLabel, unitName, type Category } from '@/app/_lib/units';

type Level = { price: number; quantity: number };

/** recharts loads with the first chart drawn, in the box already sized for it */
const DepthChart = dynamic(() => import('./charts').then((m) => m.DepthChart), { ssr: false });

/** Cumulative depth for the chart: bids from the best price down, asks from the best price up. */
function depthSeries(bids: Level[], asks: Level[]) {
  let sum = 0;
  const bidPoints = bids.map((l) => ({ price: l.price / MICRO_PER_CREDIT, bids: (sum += l.quantity) }));
  // each side runs on a little past its last level, so that a single level still shows as a step
  const lastBid = bidPoints.at(-1);
  if (lastBid) bidPoints.push({ price: lastBid.price * 0.9, bids: lastBid.bids });
  sum = 0;
  const askPoints = asks.map((l) => ({ price: l.price / MICRO_PER_CREDIT, asks: (sum += l.quantity) }));
  const lastAsk = askPoints.at(-1);
  if (lastAsk) askPoints.push({ price: lastAsk.price * 1.1, asks: lastAsk.asks });
  return [...bidPoints.reverse(), ...askPoints];
}

export function BookView({ communityId, category, unit }: { communityId: string; category: Category; unit: string }) {
  const trpc = useTRPC();
  // kept current by the live feed of market-view (useLiveBook); the slow refetch is only a safety net
  const query = useQuery({ ...trpc.market.book.queryOptions({ communityId, category, unit }), refetchInterval: 60_000 });
  const book = useLastKnown(`market.book.${communityId}.${category}.${unit}`, query);
  const bids = book.data?.bids ?? [];
  const asks = book.data?.asks ?? [];
  const series = depthSeries(bids, asks);
  return (
    <div className="card">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Book</h2>
        <span className="muted small">credits per {unitName(unit, 1)}</span>
      </div>
      {!book.data ? (
        <Pending query={query} />
      ) : bids.length + asks.length === 0 ? (
        <p className="empty">No open orders in {unitLabel(unit)} yet.</p>
      ) : (
        <>
          <div style={{ width: '100%', height: 160 }} aria-label="Depth chart">
            <DepthChart series={series} />
          </div>
          <div className="book" data-testid="book">
            <div>
              <h3>Bids (buy)</h3>
              {bids.slice(0, 8).map((l) => (
                <div className="level" key={l.price}>
                  <span className="bid">{unitPrice(l.price)}</span>
                  <span>{l.quantity}</span>
                </div>
              ))}
            </div>
            <div>
              <h3>Asks (sell)</h3>
              {asks.slice(0, 8).map((l) => (
                <div className="level" key={l.price}>
                  <span className="ask">{unitPrice(l.price)}</span>
                  <span>{l.quantity}</span>
                </div>
              ))}
            </div>
          </div>
        </>
      )}
    </div>
  );
}
