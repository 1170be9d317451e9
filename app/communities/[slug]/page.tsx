'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { use } from 'react';
import { BalanceFigure } from '../../_components/balance-card';
import { ErrorAlert } from '../../_components/form';
import { money } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';
import { Pending } from '../../_components/loading';
import { LastKnownMark } from '../../_components/last-known-mark';
import { useKnownMember } from '../../_components/require-member';
import { LastKnownMemberContext, useLastKnown } from '../../_lib/last-known';
import { CoordinatorCash } from './coordinator-cash';
import { CoordinatorSettings } from './coordinator-settings';
import { History } from './history';
import { InviteCard } from './invite-card';
import { JoinCard, LeaveButton } from './membership';
import { Sweepstakes } from './sweepstakes';

export default function CommunityPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  // offline, whoever was signed in last sees the community's last known balance and statement
  const { member } = useKnownMember();
  return (
    <LastKnownMemberContext.Provider value={member}>
      <Community slug={slug} />
    </LastKnownMemberContext.Provider>
  );
}

function Community({ slug }: { slug: string }) {
  const trpc = useTRPC();
  const community = useQuery(trpc.community.get.queryOptions({ slug }));
  const known = useLastKnown(`community.${slug}`, community);
  const me = useQuery(trpc.auth.me.queryOptions());
  if (!known.data) return community.isError ? <ErrorAlert error={community.error} /> : <Pending query={community} />;
  const c = known.data;
  return (
    <>
      <LastKnownMark asOf={known.asOf} />
      <div className="card">
        <div className="row spread">
          <h1 style={{ margin: 0 }}>{c.name}</h1>
          {c.role === 'COORDINATOR' ? <span className="pill">coordinator</span> : null}
        </div>
        {c.description ? <p>{c.description}</p> : null}
        <p className="muted small" style={{ margin: '0.5rem 0 0' }}>
          {c.memberCount} {c.memberCount === 1 ? 'member' : 'members'} · {money(c.startingGrant)} credits to start ·{' '}
          {(c.commissionBps / 100).toFixed(2)}% commission{c.inviteOnly ? ' · invite only' : ''}
        </p>
      </div>
      {c.role ? (
        <>
          <div className="card">
            <h2>Your balance</h2>
            <BalanceFigure communityId={c.id} />
            <Link className="button block" style={{ marginTop: '0.75rem' }} href={`/communities/${c.slug}/market`}>
              Open the market
            </Link>
          </div>
          <InviteCard community={c} />
          <History communityId={c.id} />
          {c.role === 'COORDINATOR' ? (
            <div className="card">
              <h2>Coordinator tools</h2>
              <p className="muted small">Valuation rates, the pool and the community&rsquo;s own offers, the sweepstakes share and federation links.</p>
              <Link className="button secondary block" href={`/communities/${c.slug}/coordinator`}>Open coordinator tools</Link>
            </div>
          ) : null}
          {c.role === 'COORDINATOR' ? <CoordinatorSettings community={c} /> : null}
          {c.role === 'COORDINATOR' ? <CoordinatorCash communityId={c.id} /> : null}
          <Sweepstakes communityId={c.id} coordinator={c.role === 'COORDINATOR'} />
          <LeaveButton communityId={c.id} />
        </>
      ) : (
        <JoinCard community={c} signedIn={Boolean(me.data)} />
      )}
    </>
  );
}
