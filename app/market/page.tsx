'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { useTRPC } from '../_lib/trpc';

/** The book, ticket and charts: loaded for a member with a community, not with a visitor's first page. */
const MarketView = dynamic(() => import('./_components/market-view').then((m) => m.MarketView), { loading: () => <p className="muted">Loading…</p> });

function Markets() {
  const trpc = useTRPC();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  if (mine.isPending) return <Pending query={mine} />;
  const items = mine.data?.items ?? [];
  if (items.length === 0) {
    return (
      <div className="card empty">
        <p>Join a community to trade in its market.</p>
        <Link className="button" href="/communities">Find a community</Link>
      </div>
    );
  }
  const [first] = items;
  return (
    <>
      {items.length > 1 ? (
        <div className="chips" style={{ marginBottom: '0.75rem' }}>
          {items.map((c) => (
            <Link key={c.id} href={`/communities/${c.slug}/market`}>{c.name}</Link>
          ))}
        </div>
      ) : null}
      <MarketView communityId={first!.id} communityName={first!.name} commissionBps={first!.commissionBps} />
    </>
  );
}

export default function MarketPage() {
  return <RequireMember what="trade">{() => <Markets />}</RequireMember>;
}
