'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useState } from 'react';
import { lastKnownMember, LastKnownMemberContext, saveLastKnown, type KnownMember } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';
import { Pending } from './loading';
import { UntilKnown } from './member-hint';

type Member = { id: string; handle: string };

/**
 * Renders its children for a signed-in member, and an invitation to sign in otherwise. When the coordinator
 * cannot be reached, whoever was signed in last on this device sees the screen with its last known data
 * (app/_lib/last-known.ts).
 */
/** The signed-in member, or — while the coordinator cannot be reached — whoever was signed in last on this device. */
export function useKnownMember() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  // read after the first render: the server's HTML and the first client render must agree
  const [saved, setSaved] = useState<KnownMember | null>(null);
  useEffect(() => setSaved(lastKnownMember()), []);
  useEffect(() => {
    if (me.data) saveLastKnown('me', me.data, { id: me.data.id, handle: me.data.handle });
  }, [me.data]);
  const unreachable = me.fetchStatus === 'paused' || me.isError;
  return { me, member: me.data ?? (unreachable ? saved : null) };
}

export function RequireMember({ children, what }: { children: (member: Member) => React.ReactNode; what: string }) {
  const pathname = usePathname();
  const { me, member } = useKnownMember();
  if (member) return <LastKnownMemberContext.Provider value={member}>{children(member)}</LastKnownMemberContext.Provider>;
  const invitation = (
    <div className="card center">
      <h2>Sign in to {what}</h2>
      <div className="row" style={{ justifyContent: 'center' }}>
        <Link className="button" href={`/signin?next=${encodeURIComponent(pathname)}`}>Sign in</Link>
        <Link className="button secondary" href="/signup">Create an account</Link>
      </div>
    </div>
  );
  // in the prerendered page too, so that a visitor sees it at once (member-hint.tsx)
  if (me.isPending && me.fetchStatus !== 'paused') return <UntilKnown visitor={invitation} member={<Pending query={me} />} />;
  if (me.isPending) return <Pending query={me} />;
  if (me.isError) return <div className="alert error" role="alert">Could not reach Swapmesh: check your connection.</div>;
  return invitation;
}
