'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { use } from 'react';
import { ErrorAlert } from '../../../_components/form';
import { Pending } from '../../../_components/loading';
import { RequireMember } from '../../../_components/require-member';
import { useTRPC } from '../../../_lib/trpc';
import { MarketView } from '../../../market/_components/market-view';

function CommunityMarket({ slug }: { slug: string }) {
  const trpc = useTRPC();
  const community = useQuery(trpc.community.get.queryOptions({ slug }));
  if (community.isPending) return <Pending query={community} />;
  if (community.isError) return <ErrorAlert error={community.error} />;
  if (!community.data.role) {
    return (
      <div className="card center">
        <p>Join {community.data.name} to trade in its market.</p>
        <Link className="button" href={`/communities/${slug}`}>See the community</Link>
      </div>
    );
  }
  return <MarketView communityId={community.data.id} communityName={community.data.name} commissionBps={community.data.commissionBps} />;
}

export default function CommunityMarketPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  return <RequireMember what="trade">{() => <CommunityMarket slug={slug} />}</RequireMember>;
}
