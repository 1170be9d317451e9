'use client';

import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { LoadMore, rowsOf } from '@/app/_components/load-more';
import { ErrorAlert } from '@/app/_components/form';
import { formatCredits } from '@/app/_lib/money';
import { useTRPC } from '@/app/_lib/trpc';
import { CATEGORY_LABELS, unitLabel, type Category } from '@/app/_lib/units';

export function MyOrders({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const orders = useInfiniteQuery(trpc.market.myOrders.infiniteQueryOptions({ communityId, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const cancel = useMutation({
    ...trpc.market.cancelOrder.mutationOptions(),
    onSuccess: () => {
      void queryClient.invalidateQueries(trpc.market.pathFilter());
      void queryClient.invalidateQueries(trpc.ledger.pathFilter());
    },
  });
  const list = rowsOf(orders.data);
  return (
    <div className="card">
      <h2>My orders</h2>
      <ErrorAlert error={cancel.error} />
      {orders.data && list.length === 0 ? <p className="empty">You have no orders here yet.</p> : null}
      <ul className="list" data-testid="my-orders">
        {list.map((o) => (
          <li key={o.id} data-order-id={o.id}>
            <div className="row spread">
              <strong className={o.side === 'BUY' ? 'bid' : 'ask'}>
                {o.side === 'BUY' ? 'Bid' : 'Ask'} · {CATEGORY_LABELS[o.category as Category] ?? o.category}
              </strong>
              <span className={`state ${o.status}`}>{o.status.toLowerCase()}</span>
            </div>
            <div className="row spread small">
              <span>
                {o.quantity - o.remaining}/{o.quantity} {unitLabel(o.unit)} filled at ≤ {formatCredits(o.price)}
                {o.locked ? ` · ${o.locked} negotiating` : ''}
              </span>
              {o.status === 'OPEN' ? (
                <button className="button secondary" style={{ minHeight: 36, padding: '0.3rem 0.8rem' }} disabled={cancel.isPending} onClick={() => cancel.mutate({ orderId: o.id })}>
                  Cancel
                </button>
              ) : null}
            </div>
            <div className="muted small">
              {new Date(o.windowStart).toLocaleString()} → {new Date(o.windowEnd).toLocaleString()}
              {o.reserved ? ` · ${formatCredits(o.reserved)} held` : ''}
            </div>
          </li>
        ))}
      </ul>
      <LoadMore query={orders} />
    </div>
  );
}
