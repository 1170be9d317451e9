'use client';

import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { LoadMore, rowsOf } from '@/app/_components/load-more';
import { ErrorAlert } from '@/app/_components/form';
import { money, unitPrice, when } from '@/app/_lib/format';
import { useLastKnown } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';
import { CATEGORY_LABELS, quantityText, unitName, type Category } from '@/app/_lib/units';

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
  const known = useLastKnown(`market.myOrders.${communityId}`, orders);
  const list = rowsOf(known.data);
  return (
    <div className="card">
      <h2>My orders</h2>
      <ErrorAlert error={cancel.error} />
      {known.data && list.length === 0 ? <p className="empty">You have no orders here yet.</p> : null}
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
                {o.quantity - o.remaining} of {quantityText(o.quantity, o.unit)} filled · {o.side === 'BUY' ? 'up to' : 'at least'} {unitPrice(o.price)} per {unitName(o.unit, 1)}
                {o.locked ? ` · ${o.locked} negotiating` : ''}
              </span>
              {o.status === 'OPEN' ? (
                <button className="button secondary" style={{ flex: 'none' }} disabled={cancel.isPending} onClick={() => cancel.mutate({ orderId: o.id })}>
                  Cancel
                </button>
              ) : null}
            </div>
            <div className="muted small">
              {when(o.windowStart)} to {when(o.windowEnd)}
              {o.reserved ? ` · ${money(o.reserved)} held in escrow` : ''}
            </div>
          </li>
        ))}
      </ul>
      <LoadMore query={orders} />
    </div>
  );
}
