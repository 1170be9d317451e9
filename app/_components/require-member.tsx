'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useTRPC } from '@/app/_lib/trpc';
import { Pending } from './loading';
import { UntilKnown } from './member-hint';

type Member = { id: string; handle: string };

/** Renders its children for a signed-in member, and an invitation to sign in otherwise. */
export function RequireMember({ children, what }: { children: (member: Member) => React.ReactNode; what: string }) {
  const trpc = useTRPC();
  const pathname = usePathname();
  const me = useQuery(trpc.auth.me.queryOptions());
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
  if (!me.data) return invitation;
  return <>{children(me.data)}</>;
}
