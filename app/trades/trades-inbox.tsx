'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { contractSettlesFromProof } from '../_lib/delivery';
import { LoadMore, rowsOf } from '../_components/load-more';
import { Pending } from '../_components/loading';
import { LastKnownMark } from '../_components/last-known-mark';
import { useLastKnown } from '../_lib/last-known';
import { unitPrice } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';
import { categoryWord, quantityText, unitName } from '../_lib/units';
import { NegotiationCard } from './negotiation-card';

/** Open negotiations and the member's contracts, what waits on them first. */
export function TradesInbox({ memberId }: { memberId: string }) {
  const trpc = useTRPC();
  const negotiations = useInfiniteQuery(trpc.negotiation.list.infiniteQueryOptions({ open: true, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const contracts = useInfiniteQuery(trpc.contract.list.infiniteQueryOptions({ limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const communities = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const coordinates = communities.data?.items.some((c) => c.role === 'COORDINATOR') ?? false;
  const knownNegotiations = useLastKnown('trades.negotiations', negotiations);
  const knownContracts = useLastKnown('trades.contracts', contracts);
  const open = rowsOf(knownNegotiations.data);
  const contractRows = rowsOf(knownContracts.data);
  const needsMe = (c: { state: string; buyer: { id: string }; statements: { seller: string[] } }) =>
    (c.state === 'DELIVERED' && c.buyer.id === memberId) ||
    (['MATCHED', 'ACTIVE'].includes(c.state) && c.buyer.id !== memberId) ||
    (c.state === 'DISPUTED' && c.buyer.id !== memberId && c.statements.seller.length === 0);
  const todo = (c: { state: string; buyer: { id: string }; category: string; unit: string; barterDealId: string | null }) =>
    c.state === 'DISPUTED' ? 'respond' : c.buyer.id === memberId ? 'sign off' : contractSettlesFromProof(c) ? 'start' : 'deliver';
  return (
    <>
      <LastKnownMark asOf={knownContracts.asOf ?? knownNegotiations.asOf} />
      <div className="row spread" style={{ marginBottom: '0.75rem' }}>
        <h1 style={{ margin: 0 }}>Trades</h1>
        <div className="row">
          {coordinates ? <Link className="button secondary" href="/contracts/disputes">Disputes</Link> : null}
          <Link className="button secondary" href="/barter">Barter</Link>
        </div>
      </div>
      <div className="card">
        <h2>Negotiations</h2>
        {!knownNegotiations.data ? <Pending query={negotiations} /> : null}
        {knownNegotiations.data && open.length === 0 ? <p className="empty">No open negotiations.</p> : null}
        <ul className="list" data-testid="negotiations">
          {open.map((n) => <NegotiationCard key={n.id} negotiation={n} memberId={memberId} />)}
        </ul>
        <LoadMore query={negotiations} />
      </div>
      <div className="card">
        <h2>Contracts</h2>
        {!knownContracts.data ? <Pending query={contracts} /> : null}
        {knownContracts.data && contractRows.length === 0 ? <p className="empty">No contracts yet: they appear when your orders match.</p> : null}
        <ul className="list" data-testid="contracts">
          {contractRows.map((c) => {
            const buying = c.buyer.id === memberId;
            return (
              <li key={c.id}>
                <Link className="item" href={`/contracts/${c.id}`}>
                  <div className="row spread">
                    <strong>
                      {buying ? 'Bought' : 'Sold'} {quantityText(c.quantity, c.unit)} of {categoryWord(c.category)}
                    </strong>
                    <span className={`state ${c.state}`}>{c.state.toLowerCase()}</span>
                  </div>
                  <div className="row spread small">
                    <span className="muted">
                      {buying ? `from @${c.seller.handle}` : `to @${c.buyer.handle}`} · {unitPrice(c.price)} per {unitName(c.unit, 1)}
                    </span>
                    {needsMe(c) ? <span className="pill">{todo(c)}</span> : null}
                  </div>
                </Link>
              </li>
            );
          })}
        </ul>
        <LoadMore query={contracts} />
      </div>
    </>
  );
}
