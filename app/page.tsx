'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { loadLastKnown, saveLastKnown, type LastKnown } from './_lib/last-known';
import type { HomeInbox } from '@/server/home/inbox';
import { useHomeInbox } from './_components/home/use-inbox';
import { Pending } from './_components/loading';
import { UntilKnown } from './_components/member-hint';
import { ErrorAlert } from './_components/form';
import { useTRPC } from './_lib/trpc';

type LastKnownHome = LastKnown<HomeInbox>;
/** A member's inbox, with its formatters: loaded only for a member (a visitor's first load is the welcome alone). */
const InboxView = dynamic(() => import('./_components/home/inbox-view').then((m) => m.InboxView), { ssr: false });

function Welcome() {
  return (
    <div className="hero">
      <h1>Your phone has spare power. Trade it.</h1>
      <p className="muted">
        Swapmesh is a barter market for idle devices: lend compute while you charge, swap files with people
        nearby, and earn credits to spend on what you need.
      </p>
      <ol className="muted" style={{ paddingLeft: '1.25rem' }}>
        <li>Measure what your device has spare.</li>
        <li>Join a community, or start one and invite people with a link.</li>
        <li>Donate compute, trade on the market, or swap files nearby.</li>
      </ol>
      <div className="stack">
        <Link className="button block" href="/signup">Create an account</Link>
        <Link className="button secondary block" href="/signin">Sign in</Link>
      </div>
    </div>
  );
}

/** The signed-in member's Home, kept on this device as the last known one; shown from there when the coordinator cannot be reached. */
function MemberHome({ member, saved }: { member: { id: string; handle: string }; saved: LastKnownHome | null }) {
  const inbox = useHomeInbox();
  const { data, dataUpdatedAt, isFetching, fetchStatus } = inbox;
  useEffect(() => {
    if (data && !isFetching) saveLastKnown('home', member, data, new Date(dataUpdatedAt));
  }, [data, dataUpdatedAt, isFetching, member]);
  const unreachable = fetchStatus === 'paused' || inbox.isError;
  if (data) return <InboxView inbox={data} handle={member.handle} asOf={unreachable ? new Date(dataUpdatedAt).toISOString() : null} />;
  const mine = saved?.member.id === member.id ? saved : null;
  if (unreachable && mine) return <InboxView inbox={mine.data} handle={member.handle} asOf={mine.savedAt} />;
  if (inbox.isError) return <ErrorAlert error={inbox.error} />;
  return <Pending query={inbox} />;
}

export default function HomePage() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  // read after the first render: the server's HTML and the first client render must agree
  const [saved, setSaved] = useState<LastKnownHome | null>(null);
  useEffect(() => setSaved(loadLastKnown<HomeInbox>('home')), []);
  if (me.data) return <MemberHome member={me.data} saved={saved} />;
  // offline (or the coordinator unreachable): whoever was signed in last on this device sees their last known Home
  const unreachable = me.fetchStatus === 'paused' || me.isError;
  if (unreachable && saved) return <InboxView inbox={saved.data} handle={saved.member.handle} asOf={saved.savedAt} />;
  // in the prerendered page too, so that a visitor sees the welcome at once (member-hint.tsx)
  if (me.isPending && me.fetchStatus !== 'paused') return <UntilKnown visitor={<Welcome />} member={<Pending query={me} />} />;
  if (me.isPending) return <Pending query={me} />;
  if (me.isError) return <ErrorAlert error={me.error} />;
  return <Welcome />;
}
