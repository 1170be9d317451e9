'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { ErrorAlert } from '../_components/form';
import { LastKnownMark } from '../_components/last-known-mark';
import { Pending } from '../_components/loading';
import { useLastKnown } from '../_lib/last-known';
import { memberScreen } from '../_components/member-screen';
import { RequireMember } from '../_components/require-member';
import { useTRPC } from '../_lib/trpc';

/** The book, ticket and charts: loaded for a member with a community, not with a visitor's first page. */
const MarketView = memberScreen(() => import('./_components/market-view').then((m) => m.MarketView));

function Markets() {
  const trpc = useTRPC();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const known = useLastKnown('market.communities', mine);
  if (!known.data) return mine.isError ? <ErrorAlert error={mine.error} /> : <Pending query={mine} />;
  const items = known.data.items;
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
      <LastKnownMark asOf={known.asOf} />
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
