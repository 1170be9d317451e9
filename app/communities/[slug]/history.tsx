'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import { formatCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { Pending } from '../../_components/loading';
import { LoadMore, rowsOf } from '../../_components/load-more';

const KIND_LABELS: Record<string, string> = {
  GRANT: 'Grant',
  TRANSFER: 'Transfer',
  ORDER_HOLD: 'Held for a bid',
  HOLD_RELEASE: 'Released from a bid',
  ESCROW_TOP_UP: 'Added to escrow',
  SETTLEMENT: 'Contract settled',
  REFUND: 'Refund',
};

export function History({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const history = useInfiniteQuery(
    trpc.ledger.history.infiniteQueryOptions(
      { communityId, limit: 20 },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );
  const items = rowsOf(history.data);
  return (
    <div className="card">
      <h2>History</h2>
      {history.isPending ? <Pending query={history} /> : null}
      {!history.isPending && items.length === 0 ? <p className="empty">No movements yet.</p> : null}
      <ul className="list" data-testid="history">
        {items.map((item) => (
          <li key={item.id} className="row spread">
            <div>
              <div>{item.memo || KIND_LABELS[item.kind] || item.kind}</div>
              <div className="muted small">
                {new Date(item.createdAt).toLocaleString()} · {item.account}
              </div>
            </div>
            <strong className={item.amount >= 0 ? 'amount-plus' : 'amount-minus'}>
              {item.amount >= 0 ? '+' : ''}
              {formatCredits(item.amount)}
            </strong>
          </li>
        ))}
      </ul>
      <LoadMore query={history} />
    </div>
  );
}
