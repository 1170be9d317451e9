'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { money, unitPrice, whenShort } from '@/app/_lib/format';
import { useLastKnown } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';
import { quantityText, unitName, UNITS_BY_CATEGORY, type Category } from '@/app/_lib/units';
import { BookView } from './book-view';
import { CategoryPicker } from './category-picker';
import { TRADE_LIMIT, useLiveBook } from './live-book';
import { MyJobs } from './my-jobs';
import { MyOrders } from './my-orders';
import { OrderForm } from './order-form';
import { PriceChart } from './price-chart';

export function MarketView({ communityId, communityName, commissionBps }: { communityId: string; communityName: string; commissionBps: number }) {
  const trpc = useTRPC();
  const [category, setCategory] = useState<Category>('COMPUTE');
  const [unit, setUnit] = useState<string>(UNITS_BY_CATEGORY.COMPUTE[0]);
  const book = useQuery(trpc.market.book.queryOptions({ communityId, category, unit }));
  const tradesQuery = useQuery(trpc.market.trades.queryOptions({ communityId, category, limit: TRADE_LIMIT }));
  const trades = useLastKnown(`market.trades.${communityId}.${category}`, tradesQuery);
  // every member's changes to this book arrive live (market.bookEvents) and update both queries above
  useLiveBook(communityId, category, unit);
  const balance = useLastKnown(`ledger.balance.${communityId}`, useQuery(trpc.ledger.balance.queryOptions({ communityId })));
  const bestBook = useLastKnown(`market.book.${communityId}.${category}.${unit}`, book);
  return (
    <>
      <div className="row spread" style={{ marginBottom: '0.5rem' }}>
        <h1 style={{ margin: 0 }}>{communityName}</h1>
        {balance.data ? (
          <span className="muted small" data-testid="market-balance">
            {money(balance.data.available)} credits{balance.data.escrow ? ` · ${money(balance.data.escrow)} in escrow` : ''}
          </span>
        ) : null}
      </div>
      <div style={{ marginBottom: '1rem' }}>
        <CategoryPicker
          value={category}
          onChange={(c) => {
            setCategory(c);
            setUnit(UNITS_BY_CATEGORY[c][0]);
          }}
        />
      </div>
      <OrderForm
        communityId={communityId}
        commissionBps={commissionBps}
        category={category}
        unit={unit}
        onUnitChange={setUnit}
        bestBid={bestBook.data?.bids[0]?.price}
        bestAsk={bestBook.data?.asks[0]?.price}
      />
      <BookView communityId={communityId} category={category} unit={unit} />
      <MyOrders communityId={communityId} />
      <MyJobs communityId={communityId} />
      <PriceChart communityId={communityId} category={category} unit={unit} />
      <div className="card">
        <h2>Recent trades</h2>
        {trades.data?.length === 0 ? <p className="empty">No trades yet.</p> : null}
        <ul className="list">
          {trades.data?.map((t) => (
            <li key={t.id} className="row spread small">
              <span>{quantityText(t.quantity, t.unit)}</span>
              <span>{unitPrice(t.price)} per {unitName(t.unit, 1)}</span>
              <span className="muted">{whenShort(t.createdAt)}</span>
            </li>
          ))}
        </ul>
      </div>
    </>
  );
}
