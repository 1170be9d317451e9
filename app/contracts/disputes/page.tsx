'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { ErrorAlert } from '../../_components/form';
import { LoadMore, rowsOf } from '../../_components/load-more';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { money } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';
import { CATEGORY_LABELS, type Category } from '../../_lib/units';

/** One community's open disputes, oldest first, each with both statements and a link to decide it. */
function CommunityDisputes({ community }: { community: { id: string; name: string } }) {
  const trpc = useTRPC();
  const disputes = useInfiniteQuery(trpc.contract.disputes.infiniteQueryOptions({ communityId: community.id, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  if (disputes.isPending) return <Pending query={disputes} />;
  if (disputes.isError) return <ErrorAlert error={disputes.error} />;
  const list = rowsOf(disputes.data);
  return (
    <div className="card stack">
      <h2 style={{ margin: 0 }}>{community.name}</h2>
      {list.length === 0 ? <p className="muted">No open disputes.</p> : null}
      <ul className="stack" style={{ listStyle: 'none', margin: 0, padding: 0 }} data-testid="disputes">
        {list.map((d) => (
          <li key={d.id}>
            <Link href={`/contracts/${d.id}`} className="row spread">
              <strong>{CATEGORY_LABELS[d.category as Category] ?? d.category}: @{d.buyer.handle} vs @{d.seller.handle}</strong>
              <span className="num">{money(d.escrowed)}</span>
            </Link>
            <p className="small" style={{ margin: '0.25rem 0' }}>Buyer: {d.statements.buyer.at(-1) ?? '—'}</p>
            <p className="small muted" style={{ margin: 0 }}>Seller: {d.statements.seller.at(-1) ?? 'no response yet'}</p>
          </li>
        ))}
      </ul>
      <LoadMore query={disputes} />
    </div>
  );
}

function Disputes() {
  const trpc = useTRPC();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  if (mine.isPending) return <Pending query={mine} />;
  if (mine.isError) return <ErrorAlert error={mine.error} />;
  const coordinated = mine.data.items.filter((c) => c.role === 'COORDINATOR');
  return (
    <>
      <h1>Open disputes</h1>
      {coordinated.length === 0 ? <p className="muted">You coordinate no community: disputes are decided by each community&apos;s coordinator.</p> : null}
      {coordinated.map((c) => <CommunityDisputes key={c.id} community={c} />)}
    </>
  );
}

export default function DisputesPage() {
  return <RequireMember what="see open disputes">{() => <Disputes />}</RequireMember>;
}
