'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { use } from 'react';
import { money } from '../../../_lib/format';
import { useTRPC } from '../../../_lib/trpc';
import { CoordinatorGate, type CoordinatedCommunity } from './gate';

function Hub({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const pool = useQuery(trpc.admin.pool.queryOptions({ communityId: community.id }));
  const links = useQuery(trpc.admin.links.queryOptions({ communityId: community.id }));
  const active = links.data?.filter((l) => l.active).length ?? 0;
  const waiting = links.data?.filter((l) => (!l.active && l.incoming) || (l.active && l.proposedCap !== null && l.capProposedHere === false)).length ?? 0;
  const base = `/communities/${community.slug}/coordinator`;
  const entries = [
    { href: `${base}/rates`, title: 'Valuation rates', text: `What each category is worth per hour here (rate table version ${community.valuationRates.version}).` },
    {
      href: `${base}/pool`,
      title: 'Pool, sweepstakes and your offers',
      text: pool.data
        ? `The pool holds ${money(pool.data.pool)} credits · ${(community.sweepstakesShareBps / 100).toFixed(0)}% of commissions to the sweepstakes · ${pool.data.openPoolOffers} open ${pool.data.openPoolOffers === 1 ? 'offer' : 'offers'} from the pool.`
        : 'Fund the pool, set the sweepstakes share, and post or withdraw the community’s barter offers.',
    },
    {
      href: `${base}/links`,
      title: 'Federation links',
      text: links.data ? `${active} active ${active === 1 ? 'link' : 'links'}${waiting > 0 ? ` · ${waiting} waiting for you` : ''}, each with a cap on what may be owed.` : 'Link with other communities and cap what may be owed between you.',
    },
  ];
  return (
    <>
      <ul className="list card" data-testid="coordinator-hub" style={{ padding: '0.25rem 1rem' }}>
        {entries.map((e) => (
          <li key={e.href}>
            <Link className="item" href={e.href} style={{ display: 'block', minHeight: 48, padding: '0.6rem 0' }}>
              <strong>{e.title}</strong>
              <div className="muted small">{e.text}</div>
            </Link>
          </li>
        ))}
      </ul>
      <p className="muted small">Commission, grants, the invite code, members, the cash desk and sweepstakes draws are on the community&rsquo;s page.</p>
      <Link className="button secondary block" href={`/communities/${community.slug}`}>
        Community page
      </Link>
    </>
  );
}

export default function CoordinatorPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  return <CoordinatorGate slug={slug} title="Coordinator">{(c) => <Hub community={c} />}</CoordinatorGate>;
}
