'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { BalanceCard } from './_components/balance-card';
import { Pending } from './_components/loading';
import { useTRPC } from './_lib/trpc';

function Welcome() {
  return (
    <div className="hero">
      <h1>Your phone has spare power. Trade it.</h1>
      <p className="muted">
        Swapmesh is a barter market for idle devices: lend compute while you charge, swap files with people
        nearby, and earn credits to spend on what you need.
      </p>
      <div className="stack">
        <Link className="button block" href="/signup">Create an account</Link>
        <Link className="button secondary block" href="/signin">Sign in</Link>
      </div>
    </div>
  );
}

function MyCommunities() {
  const trpc = useTRPC();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const devices = useQuery(trpc.device.list.queryOptions());
  return (
    <>
      {devices.data && devices.data.length === 0 ? (
        <div className="alert info">
          Register this device to see what it is worth: <Link href="/device">measure it now</Link>.
        </div>
      ) : null}
      <h1>Your communities</h1>
      {mine.isPending ? <Pending query={mine} /> : null}
      {mine.data?.items.length === 0 ? (
        <div className="card empty">
          <p>You have not joined a community yet.</p>
          <Link className="button" href="/communities">Find a community</Link>
        </div>
      ) : null}
      {mine.data?.items.map((community) => <BalanceCard key={community.id} community={community} />)}
    </>
  );
}

export default function HomePage() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  if (me.isPending) return <Pending query={me} />;
  return me.data ? <MyCommunities /> : <Welcome />;
}
